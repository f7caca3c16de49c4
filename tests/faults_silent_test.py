"""Faults that used to give a wrong number without a word (WORKSPACE.md, the fault table).

Each test asserts the message (one line naming the thing and the fix), the files left, and the
number that would have been wrong: the step resumed from, the classifier used, the pixels read.
"""
import json
import os
import shutil

import ml_collections
import numpy as np
import pytest

from gan_jax import data
from gan_jax import errors
from gan_jax import evaluate
from gan_jax import train
from gan_jax.data import idx
from gan_jax.evaluation import classifier

from conftest import small_config, write_idx


def _idx_dir(path, images, labels=None, test_labels=None, seed=0):
  os.makedirs(path)
  rng = np.random.default_rng(seed)
  write_idx(str(path / 'train-images-idx3-ubyte'), images)
  write_idx(str(path / 't10k-images-idx3-ubyte'), images[:20])
  labels = rng.integers(0, 3, len(images)) if labels is None else labels
  write_idx(str(path / 'train-labels-idx1-ubyte'), labels)
  write_idx(str(path / 't10k-labels-idx1-ubyte'),
            labels[:20] if test_labels is None else test_labels)
  return str(path)


def _eval_config(tmp_path):
  return ml_collections.ConfigDict(dict(classifier_dir=str(tmp_path / 'classifiers'),
                                        classifier_steps=5))


def test_classifier_cache_is_keyed_by_the_data_not_the_dataset_name(tmp_path):
  """Two datasets under one name (mnist_gan with another config.data.path, both dirs named
  'mnist') get their own classifiers: the second's scores are not the first's network's."""
  rng = np.random.default_rng(0)
  first = _idx_dir(tmp_path / 'a' / 'mnist', rng.integers(0, 256, (80, 8, 8)))
  second = _idx_dir(tmp_path / 'b' / 'mnist', 255 - rng.integers(0, 256, (80, 8, 8)), seed=1)
  config = lambda path: data.default_config('idx', path=path, name='mnist', num_validation=10,
                                   alternatives=('tfds',))
  params_a, _, _ = classifier.get_classifier(config(first), _eval_config(tmp_path))
  params_b, _, accuracy_b = classifier.get_classifier(config(second), _eval_config(tmp_path))
  assert len(os.listdir(tmp_path / 'classifiers')) == 2
  # What the second dataset's own classifier is (trained from scratch in another cache).
  fresh = ml_collections.ConfigDict(dict(classifier_dir=str(tmp_path / 'fresh'),
                                         classifier_steps=5))
  params_fresh, _, accuracy_fresh = classifier.get_classifier(config(second), fresh)
  np.testing.assert_array_equal(params_b['logits']['kernel'], params_fresh['logits']['kernel'])
  assert accuracy_b == accuracy_fresh
  assert not np.array_equal(params_a['logits']['kernel'], params_b['logits']['kernel'])


def test_an_unwritable_classifier_cache_costs_the_cache_not_the_evaluation(tmp_path, caplog):
  path = _idx_dir(tmp_path / 'd', np.random.default_rng(0).integers(0, 256, (80, 8, 8)))
  config = data.default_config('idx', path=path, num_validation=10)
  (tmp_path / 'a_file').write_text('not a directory')
  blocked = ml_collections.ConfigDict(dict(classifier_dir=str(tmp_path / 'a_file'),
                                           classifier_steps=5))
  params, _, accuracy = classifier.get_classifier(config, blocked)  # (Was: exit 1 after training.)
  assert 'Cannot cache the classifier at' in caplog.text
  assert (tmp_path / 'a_file').read_text() == 'not a directory'
  params_cached, _, accuracy_cached = classifier.get_classifier(config, _eval_config(tmp_path))
  np.testing.assert_array_equal(params['logits']['kernel'], params_cached['logits']['kernel'])
  assert accuracy == accuracy_cached


def test_fewer_labels_than_images_is_refused_in_one_line(tmp_path):
  rng = np.random.default_rng(0)
  path = _idx_dir(tmp_path / 'mnist', rng.integers(0, 256, (80, 8, 8)),
                  labels=rng.integers(0, 3, 60))
  config = data.default_config('idx', path=path, name='mnist', num_validation=10,
                                   alternatives=('tfds',))
  with pytest.raises(errors.DatasetUnavailableError) as info:
    classifier.get_classifier(config, _eval_config(tmp_path))
  assert str(info.value).startswith('the train split of ') and '\n' not in str(info.value)
  assert '50 labels for 70 images' in str(info.value)  # 10 rows of each held out.
  assert not os.path.exists(tmp_path / 'classifiers')  # Nothing trained, nothing cached.


@pytest.mark.parametrize('damage', ['truncated', 'reshaped', 'keyless'])
def test_a_damaged_classifier_cache_is_trained_again(tmp_path, damage, caplog):
  rng = np.random.default_rng(0)
  path = _idx_dir(tmp_path / 'mnist', rng.integers(0, 256, (80, 8, 8)))
  config = data.default_config('idx', path=path, name='mnist', num_validation=10,
                                   alternatives=('tfds',))
  params, _, accuracy = classifier.get_classifier(config, _eval_config(tmp_path))
  (entry,) = [str(p) for p in (tmp_path / 'classifiers').iterdir()]
  with np.load(entry) as f:
    saved = {k: f[k] for k in f.files}
  if damage == 'truncated':
    with open(entry, 'r+b') as f:
      f.truncate(os.path.getsize(entry) // 2)
  elif damage == 'reshaped':
    saved['logits/kernel'] = saved['logits/kernel'][:, :1]
    np.savez(entry, **saved)
  else:
    np.savez(entry, **{k: v for k, v in saved.items() if not k.startswith('meta/')})
  again, _, accuracy_again = classifier.get_classifier(config, _eval_config(tmp_path))
  assert 'is unusable' in caplog.text and 'training it again' in caplog.text
  np.testing.assert_array_equal(again['logits']['kernel'], params['logits']['kernel'])
  assert accuracy_again == accuracy
  classifier.load(entry)  # Replaced by a good entry.


def _float_idx(path, array):
  header = bytes([0, 0, 0x0D, array.ndim]) + np.asarray(array.shape, '>u4').tobytes()
  with open(path, 'wb') as f:
    f.write(header + array.astype('>f4').tobytes())


def test_float_idx_pixels_outside_0_1_are_refused(tmp_path):
  images = np.random.default_rng(0).integers(0, 256, (30, 8, 8)).astype(np.float32)
  os.makedirs(tmp_path / 'd')
  _float_idx(str(tmp_path / 'd' / 'train-images-idx3-ubyte'), images)
  config = data.default_config('idx', path=str(tmp_path / 'd'), num_validation=5)
  with pytest.raises(errors.DatasetUnavailableError, match=r'values in \[0, 255\], not the \[0, 1\]'):
    idx.load(config, 'train')
  _float_idx(str(tmp_path / 'd' / 'train-images-idx3-ubyte'), images / 255)  # In range: read.
  np.testing.assert_allclose(data.to_float(idx.load(config, 'train'))[..., 0],
                             images[:25] / 255, rtol=1e-6)


def _typed_idx(path, array, code, big_endian):
  header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, '>u4').tobytes()
  with open(path, 'wb') as f:
    f.write(header + array.astype(big_endian).tobytes())


@pytest.mark.parametrize('kind', ['int8 pixels', 'a NaN pixel'])
def test_idx_pixels_no_network_can_take_are_refused_before_the_workdir(tmp_path, kind):
  rng = np.random.default_rng(0)
  if kind == 'int8 pixels':  # Were trained on as floats of -128..127.
    images, code, big, expected = rng.integers(-128, 128, (30, 8, 8)), 0x09, 'i1', 'holds int8'
  else:  # Stopped at step 1 with advice to lower the learning rate.
    images, code, big = rng.random((30, 8, 8)), 0x0D, '>f4'
    images[3, 4, 5], expected = np.nan, r'holds 1 NaN or infinite value\(s\); repair or replace'
  os.makedirs(tmp_path / 'd')
  for name in ('train-images-idx3-ubyte', 't10k-images-idx3-ubyte'):
    _typed_idx(str(tmp_path / 'd' / name), images, code, big)
  config = small_config(data=data.default_config('idx', path=str(tmp_path / 'd'),
                                                 num_validation=5))
  with pytest.raises(errors.DatasetUnavailableError, match=expected):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not os.path.exists(tmp_path / 'run')


def test_a_test_split_of_other_images_is_one_line_before_training(tmp_path):
  rng = np.random.default_rng(0)
  path = _idx_dir(tmp_path / 'd', rng.integers(0, 256, (60, 8, 8)))
  write_idx(os.path.join(path, 't10k-images-idx3-ubyte'), rng.integers(0, 256, (20, 10, 10)))
  config = small_config(data=data.default_config('idx', path=path, num_validation=10))
  config.eval.every_steps = 2  # The metrics are loaded before training.
  with pytest.raises(errors.DatasetUnavailableError,
                     match=r'test split of .* holds examples of shape \(10, 10, 1\), the '
                           r'training split \(8, 8, 1\)'):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not os.path.exists(tmp_path / 'run')
  labels = os.path.join(path, 'train-labels-idx1-ubyte')  # And labels that are not one per row.
  write_idx(labels, rng.integers(0, 3, (60, 2)))
  with pytest.raises(errors.DatasetUnavailableError, match=r'have shape \(50, 2\), not one'):
    data.load_labels(config.data, 'train')


def test_idx_header_claiming_more_dimensions_than_the_file_holds(tmp_path):
  path = str(tmp_path / 'train-images-idx3-ubyte')
  with open(path, 'wb') as f:
    f.write(bytes([0, 0, 0x08, 200]) + b'\x00\x00\x00\x05')
  with pytest.raises(errors.DatasetUnavailableError, match='fewer than the 804 of its header'):
    idx.read_idx(path)


@pytest.mark.parametrize('damage', ['truncated', 'empty', 'not an object'])
def test_a_damaged_eval_record_is_computed_again(tmp_path, damage, caplog):
  from gan_jax import evaluate  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(), workdir)
  first = evaluate.evaluate(small_config(), workdir)
  for name in ('step_000006.json', 'reference.json'):
    path = os.path.join(workdir, 'eval', name)
    text = {'truncated': open(path).read()[:40], 'empty': '', 'not an object': '[1, 2]'}[damage]
    with open(path, 'w') as f:
      f.write(text)
  again = evaluate.evaluate(small_config(), workdir)
  assert again == first
  assert 'step_000006.json' in caplog.text and 'made again' in caplog.text


def _spread_config(seed):
  # G's samples depend on its weights (a wide init, no output bias from the data mean), so that
  # two seeds score differently.
  config = small_config(seed=seed)
  config.generator.init_range = 1.0
  config.init_output_bias_from_data = False
  return config


@pytest.mark.parametrize('case', ['another seed', 'no identity'])
def test_an_eval_record_not_of_this_checkpoint_is_computed_again(tmp_path, case, caplog):
  from gan_jax import evaluate  # pylint: disable=g-import-not-at-top
  ours, theirs = str(tmp_path / 'ours'), str(tmp_path / 'theirs')
  for workdir, seed in ((ours, 0), (theirs, 1)):
    train.train_and_evaluate(_spread_config(seed), workdir)
  true_ll = evaluate.evaluate(_spread_config(0), ours)['parzen']['test_ll']
  wrong_ll = evaluate.evaluate(_spread_config(1), theirs)['parzen']['test_ll']
  assert abs(true_ll - wrong_ll) > 0.1  # What adopting the other record would report.
  ours_record = os.path.join(ours, 'eval', 'step_000006.json')
  if case == 'another seed':  # Copied in by hand from the seed-1 run.
    shutil.copy(os.path.join(theirs, 'eval', 'step_000006.json'), ours_record)
    expected = 'was computed for another run (seed differ)'
  else:  # An older version's record of another checkpoint, without the identity fields.
    record = json.load(open(os.path.join(theirs, 'eval', 'step_000006.json')))
    del record['checkpoint'], record['run']
    json.dump(record, open(ours_record, 'w'))
    expected = 'records no checkpoint identity'
  summary = evaluate.evaluate(_spread_config(0), ours)
  assert expected in caplog.text and 'step_000006.json' in caplog.text
  assert summary['parzen']['test_ll'] == true_ll
  assert json.load(open(ours_record))['run']['seed'] == 0


def test_an_eval_record_of_a_replaced_checkpoint_is_computed_again(tmp_path, caplog):
  from gan_jax import evaluate  # pylint: disable=g-import-not-at-top
  ours, theirs = str(tmp_path / 'ours'), str(tmp_path / 'theirs')
  train.train_and_evaluate(_spread_config(0), ours)
  evaluate.evaluate(_spread_config(0), ours)
  # Step 6 trained again differently (another learning rate), then put in ours' place: the
  # same run config on record, another checkpoint.
  config = _spread_config(0)
  config.optimizer.learning_rate = 1.0
  train.train_and_evaluate(config, theirs)
  expected = evaluate.evaluate(config, theirs)['parzen']
  shutil.rmtree(os.path.join(ours, 'checkpoints', '6'))
  shutil.copytree(os.path.join(theirs, 'checkpoints', '6'), os.path.join(ours, 'checkpoints', '6'))
  record = os.path.join(ours, 'checkpoints', '6', 'run', 'metadata')
  run_config = json.load(open(record))
  run_config['optimizer']['learning_rate'] = 0.1  # As if ours had written it.
  json.dump(run_config, open(record, 'w'))
  summary = evaluate.evaluate(_spread_config(0), ours, all_checkpoints=True)
  assert 'was computed from another checkpoint than the one now at step 6' in caplog.text
  step_6 = json.load(open(os.path.join(ours, 'eval', 'step_000006.json')))
  assert step_6['parzen']['test_ll'] == expected['test_ll']
  assert 6 in summary['evaluated_steps']


def _record(workdir, step):
  with open(os.path.join(workdir, 'eval', f'step_{step:06d}.json')) as f:
    return json.load(f)


def _metrics_config(*names, **overrides):
  config = small_config(**overrides)
  config.eval.metrics = names
  config.eval.classifier_steps = 5
  config.eval.kid_space = config.eval.pr_space = 'classifier'
  return config


def test_an_evaluation_of_fewer_metrics_keeps_the_others(tmp_path, monkeypatch):
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(), workdir)
  monkeypatch.setenv('HOME', str(tmp_path))  # The classifier's cache: this test's own.
  first = evaluate.evaluate(_metrics_config('parzen', 'kid'), workdir)
  before = _record(workdir, 6)
  assert {'parzen', 'kid'} <= set(before) and set(before['computed_with']) == {'parzen', 'kid'}
  # README's own example: fewer metrics, then others. Nothing computed before is lost.
  evaluate.evaluate(_metrics_config('parzen'), workdir)
  summary = evaluate.evaluate(_metrics_config('parzen', 'precision_recall'), workdir)
  after = _record(workdir, 6)
  assert after['kid'] == before['kid'] and after['parzen'] == before['parzen']
  assert 'precision_recall' in after and summary['kid'] == first['kid']
  with open(os.path.join(workdir, 'eval', 'reference.json')) as f:
    assert {'parzen', 'kid', 'precision_recall'} <= set(json.load(f))


def test_an_empty_metric_list_is_one_line_and_writes_nothing(tmp_path):
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(), workdir)
  evaluate.evaluate(small_config(), workdir)
  before = {n: os.path.getmtime(os.path.join(workdir, 'eval', n))
            for n in os.listdir(os.path.join(workdir, 'eval'))}
  config = small_config()
  config.eval.metrics = ('',)  # --config.eval.metrics=''
  with pytest.raises(errors.ConfigError, match=r"names no metric; name at least one"):
    evaluate.evaluate(config, workdir)
  assert before == {n: os.path.getmtime(os.path.join(workdir, 'eval', n))
                    for n in os.listdir(os.path.join(workdir, 'eval'))}


def test_a_record_of_data_since_replaced_is_computed_again(tmp_path):
  rng = np.random.default_rng(0)
  path = _idx_dir(tmp_path / 'd', rng.integers(0, 256, (60, 8, 8)))
  config = small_config(data=data.default_config('idx', path=path, num_validation=10))
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(config, workdir)
  old_ll = evaluate.evaluate(config, workdir)['parzen']['test_ll']
  # The test file replaced by other images of the same shape: the record must not be reused.
  write_idx(os.path.join(path, 't10k-images-idx3-ubyte'), 255 - rng.integers(0, 256, (20, 8, 8)))
  new_ll = evaluate.evaluate(config, workdir)['parzen']['test_ll']
  assert new_ll != pytest.approx(old_ll, abs=1e-3)
  fresh_copy = str(tmp_path / 'fresh')
  shutil.copytree(workdir, fresh_copy)
  shutil.rmtree(os.path.join(fresh_copy, 'eval'))
  assert evaluate.evaluate(config, fresh_copy)['parzen']['test_ll'] == pytest.approx(new_ll)
