"""--mode=eval: Parzen protocol on checkpoints, model selection, reference, figures."""
import glob
import json
import os

import numpy as np
import pytest
from PIL import Image

from gan_jax import data
from gan_jax import errors
from gan_jax import evaluate
from gan_jax import train
from gan_jax.evaluation import classifier
from gan_jax.evaluation import metrics
from gan_jax.evaluation import protocols
from gan_jax.evaluation import sampling
from gan_jax.evaluation.metrics import density_coverage
from gan_jax.evaluation.metrics import precision_recall
from experiments import tfd_gan
from experiments import toy_gaussian_1d_gan

from conftest import small_config, write_tfd_mat
from parzen_test import reference_log_likelihood


def _digits_config(classifier_dir=''):
  config = small_config()
  config.eval.metrics = (('parzen', 'classifier', 'kid', 'precision_recall', 'density_coverage')
                         if classifier_dir else ('parzen',))
  config.eval.kid_space = config.eval.pr_space = config.eval.dc_space = 'classifier'
  config.eval.classifier_dir = str(classifier_dir)
  config.num_train_steps, config.checkpoint_every_steps = 4, 2
  config.eval.num_samples, config.eval.num_validation, config.eval.num_test = 200, 50, 40
  config.eval.num_reference = 300
  return config


def _read(path):
  with open(path) as f:
    return json.load(f)


def test_eval_selects_on_validation_and_reports_test_and_reference(tmp_path):
  config, workdir = _digits_config(tmp_path / 'classifiers'), str(tmp_path / 'run')
  train.train_and_evaluate(config, workdir)
  summary = evaluate.evaluate(config, workdir, all_checkpoints=True)

  records = [_read(p) for p in sorted(glob.glob(os.path.join(workdir, 'eval', 'step_*.json')))]
  assert [r['step'] for r in records] == [2, 4]
  best = max(records, key=lambda r: r['parzen']['validation_ll'])
  assert summary['selected_step'] == best['step']
  assert summary['parzen'] == best['parzen'] and summary['evaluated_steps'] == [2, 4]
  assert _read(os.path.join(workdir, 'eval', 'summary.json')) == summary

  # The recorded test LL, recomputed independently: same z, restored G, float64 formula.
  run = evaluate.Run(config, workdir)
  samples = sampling.generate(run.state(best['step']).generator,
                              run.noise(200, sampling.SAMPLES))
  test = data.to_float(data.load_split(config.data, 'test')[:40])
  sigma = best['parzen']['sets'][0]['sigma']
  assert sigma in config.eval.sigmas
  ll = reference_log_likelihood(samples, test, sigma)
  np.testing.assert_allclose(best['parzen']['test_ll'], ll.mean(), atol=1e-3)
  np.testing.assert_allclose(best['parzen']['test_stderr'], ll.std(ddof=1) / np.sqrt(40),
                             rtol=1e-3)

  # Reference: real training rows as centres, σ chosen on the same validation rows.
  reference = _read(os.path.join(workdir, 'eval', 'reference.json'))
  assert summary['reference']['parzen'] == reference['parzen']
  assert '300 held-out real training examples' in summary['reference']['what']
  # Two training steps are far from the data.
  assert reference['parzen']['test_ll'] > best['parzen']['test_ll']
  # Classifier-space scores, for G's samples and for the real reference rows.
  assert 1.0 <= best['classifier']['is_mean'] <= 10.0
  assert reference['classifier']['fid'] < best['classifier']['fid']
  assert summary['classifier'] == best['classifier']
  assert len(os.listdir(tmp_path / 'classifiers')) == 1  # Trained once, cached.
  # KID in the same classifier space: real rows are closer to the test split than G's samples.
  assert best['kid']['space'] == 'classifier' and summary['kid'] == best['kid']
  assert reference['kid']['kid'] < best['kid']['kid']
  # Precision / recall and density / coverage of the same classifier features, recomputed from
  # the classifier's outputs of the same 200 samples and of the first 200 test rows.
  params, num_classes, _ = classifier.get_classifier(config.data, config.eval)
  sample_features = classifier.outputs(params, samples, num_classes)[1]
  whole_test = data.to_float(data.load_split(config.data, 'test'))
  assert len(whole_test) > 200
  test_features = classifier.outputs(params, whole_test, num_classes)[1][:200]
  expected = {**precision_recall.precision_recall(test_features, sample_features, 3),
              'k': 3, 'rows': 200, 'space': 'classifier', 'num_samples': 200}
  assert best['precision_recall'] == pytest.approx(expected, abs=1e-9)
  expected = {**density_coverage.density_coverage(test_features, sample_features, 5),
              'k': 5, 'rows': 200, 'space': 'classifier', 'num_samples': 200}
  assert best['density_coverage'] == pytest.approx(expected, abs=1e-9)
  # Two steps of training: the real rows' recall and coverage are higher than G's samples'.
  assert reference['precision_recall']['recall'] > best['precision_recall']['recall']
  assert reference['density_coverage']['coverage'] > best['density_coverage']['coverage']

  fig2 = Image.open(os.path.join(workdir, 'figures', f'fig2_samples_nearest_step_{best["step"]:06d}.png'))
  fig3 = Image.open(os.path.join(workdir, 'figures', f'fig3_interpolation_step_{best["step"]:06d}.png'))
  tile = 8 + 1  # 8x8 digits and a 1-pixel gap.
  scale = fig2.width // (6 * tile + 1)
  assert fig2.size == ((6 * tile + 1) * scale, (6 * tile + 1) * scale)  # 6 rows of 5 + nearest.
  assert fig3.size == ((10 * tile + 1) * scale, (8 * tile + 1) * scale)  # 8 paths of 10 steps.


def test_metrics_during_training_equal_mode_eval_of_the_same_checkpoint(tmp_path):
  """config.eval.every_steps: the configured metrics on G as trained at that step, logged as
  eval/<metric>/<name>; the same numbers --mode=eval finds for the checkpoint of that step."""
  config, workdir = _digits_config(), str(tmp_path)
  config.eval.every_steps = 2
  train.train_and_evaluate(config, workdir)
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    logged = {r['step']: r for r in map(json.loads, f) if 'eval/parzen/test_ll' in r}
  assert sorted(logged) == [2, 4]
  assert all(np.isfinite(r['steps_per_sec']) and 'd_loss' in r for r in logged.values())
  # Each record's epoch: steps over the batches in one pass of the training rows.
  per_epoch = len(data.load_split(config.data, 'train')) // config.batch_size
  assert per_epoch > 4 and all(r['epoch'] == s / per_epoch for s, r in logged.items())
  evaluate.evaluate(config, workdir, all_checkpoints=True)
  for step in (2, 4):
    record = _read(os.path.join(workdir, 'eval', f'step_{step:06d}.json'))['parzen']
    for key in ('validation_ll', 'test_ll', 'test_stderr'):
      np.testing.assert_allclose(logged[step][f'eval/parzen/{key}'], record[key], rtol=1e-6)
    # The σ chosen on validation rows is on the curve too, one of the grid's widths.
    assert logged[step]['eval/parzen/sigma'] == record['sets'][0]['sigma']
    assert record['sets'][0]['sigma'] in config.eval.sigmas
  assert logged[2]['eval/parzen/test_ll'] != logged[4]['eval/parzen/test_ll']


def test_eval_reuses_finished_evaluations(tmp_path):
  config, workdir = _digits_config(), str(tmp_path)
  train.train_and_evaluate(config, workdir)
  evaluate.evaluate(config, workdir)  # The latest checkpoint only.
  assert [os.path.basename(p) for p in glob.glob(os.path.join(workdir, 'eval', 'step_*'))] == [
      'step_000004.json']
  path = os.path.join(workdir, 'eval', 'step_000004.json')
  stamp = os.path.getmtime(path)
  evaluate.evaluate(config, workdir, all_checkpoints=True)
  assert os.path.getmtime(path) == stamp  # Not recomputed.
  assert os.path.exists(os.path.join(workdir, 'eval', 'step_000002.json'))


def test_eval_without_checkpoints_is_a_clear_error(tmp_path):
  with pytest.raises(errors.CheckpointError, match='train first'):
    evaluate.evaluate(_digits_config(), str(tmp_path))


def test_tfd_folds_protocol(tmp_path):
  path = str(tmp_path / 'TFD_48x48.mat')
  images, folds = write_tfd_mat(path, num=120)
  config = tfd_gan.get_config('runlocal')
  config.data.path = path
  config.eval.num_validation = config.eval.num_test = 0  # Whole sets.
  sets = protocols.load_sets(config)
  assert [s.name for s in sets] == [f'fold_{f}' for f in range(5)]
  for fold, s in enumerate(sets):
    np.testing.assert_allclose(s.validation[..., 0] * 255, images[folds[:, fold] == 2], atol=1e-3)
    np.testing.assert_allclose(s.test[..., 0] * 255, images[folds[:, fold] == 3], atol=1e-3)
  # Aggregation: mean of the folds' test means ± the standard error across folds.
  per_fold = [{'validation_ll': v, 'test_ll': t, 'test_stderr': 0.1}
              for v, t in zip([1.0, 2.0, 3.0, 4.0, 5.0], [10.0, 12.0, 14.0, 16.0, 18.0])]
  result = protocols.aggregate(per_fold)
  assert result['test_ll'] == pytest.approx(14.0)
  assert result['test_stderr'] == pytest.approx(np.std([10, 12, 14, 16, 18], ddof=1) / np.sqrt(5))
  assert result['validation_ll'] == pytest.approx(3.0)
  # Each fold's σ is its own curve and part of the log line.
  result['sets'] = [{'name': f'fold_{f}', 'sigma': 0.1 * (f + 1)} for f in range(5)]
  assert metrics.scalars({'parzen': result})['eval/parzen/sigma/fold_2'] == pytest.approx(0.3)
  assert 'eval/parzen/sigma' not in metrics.scalars({'parzen': result})
  assert metrics.describe({'parzen': result}).endswith('(σ 0.1, 0.2, 0.3, 0.4, 0.5)')


def test_toy_1d_figure_one(tmp_path):
  config = toy_gaussian_1d_gan.get_config('runlocal')
  config.num_train_steps, config.checkpoint_every_steps, config.keep_checkpoints = 4, 1, 10
  train.train_and_evaluate(config, str(tmp_path))
  evaluate.evaluate(config, str(tmp_path), all_checkpoints=True)
  figure = Image.open(os.path.join(tmp_path, 'figures', 'fig1_toy_1d.png'))
  assert figure.width == 1600  # Four panels (checkpoints 1, 2, 3, 4) of 4 inches at 100 dpi.
  run = evaluate.Run(config, str(tmp_path))
  panel = evaluate.toy_panel(run, 4)
  bulk = np.isfinite(panel['d_star'])
  expected = panel['p_data'] / (panel['p_data'] + panel['p_g'])
  np.testing.assert_allclose(panel['d_star'][bulk], expected[bulk])
  np.testing.assert_allclose(np.trapezoid(panel['p_data'], panel['x']), 1.0, atol=1e-3)


def test_eval_refuses_another_model_and_leaves_checkpoints_alone(tmp_path):
  config, workdir = _digits_config(), str(tmp_path)
  train.train_and_evaluate(config, workdir)
  other = _digits_config()
  other.generator.hidden_dims = (32,)
  with pytest.raises(errors.WorkdirError, match='generator.hidden_dims'):
    evaluate.evaluate(other, workdir)
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['2', '4']
  # eval.* may differ from training: it is how the protocol is varied.
  config.eval.refine_sigma = True
  summary = evaluate.evaluate(config, workdir)
  assert summary['selected_step'] == 4


@pytest.mark.slow
def test_cifar10_dfm_end_to_end_on_mock_data_with_inception_scores(tmp_path):
  """Train cifar10_dfm (runlocal) on tfds mock CIFAR-10, then IS/FID with (random) Inception
  weights from an .npz; without weights, one line naming the key and the converter."""
  import copy
  from experiments import cifar10_dfm
  from gan_jax.data import mock
  from gan_jax.evaluation import inception
  from gan_jax.evaluation import scores
  config, workdir = cifar10_dfm.get_config('runlocal'), str(tmp_path / 'run')
  weights = str(tmp_path / 'inception_fid.npz')
  inception.save_variables(weights, inception.random_variables(0))
  config.eval.metrics = ('inception', 'kid')
  config.eval.num_test, config.eval.num_reference = 4, 16
  config.eval.inception_samples = 4  # Every Inception batch holds 4 images: one compile.
  no_weights = copy.deepcopy(config)
  config.eval.inception_weights = weights
  config.eval.inception_feature_cache = str(tmp_path / 'features')
  with mock.mock_data(config.data, str(tmp_path / 'data'), num_examples=48):
    train.train_and_evaluate(config, workdir)
    no_weights.data = config.data
    with pytest.raises(errors.ConfigError) as info:
      evaluate.evaluate(no_weights, workdir)
    summary = evaluate.evaluate(config, workdir)
    test = data.to_float(data.load_split(config.data, "test")[:4])
    run = evaluate.Run(config, workdir)
    samples = sampling.generate(run.state(2).generator, run.noise(4, sampling.INCEPTION),
                                config.eval.sample_batch_norm)
  message = str(info.value)
  assert '\n' not in message
  assert 'config.eval.inception_weights' in message and 'convert_inception_weights' in message

  assert 'parzen' not in summary and summary['selected_step'] == 2
  assert summary['selection'].startswith('the last checkpoint')
  record = summary['inception']
  assert record['num_samples'] == config.eval.inception_samples == 4
  # Recomputed independently: the same z, restored G, the IS formula written out here.
  variables = inception.load_variables(weights)
  probs, features = inception.outputs(variables, samples)
  split_scores = []
  for part in np.split(probs, config.eval.num_splits):
    kl = np.sum(part * (np.log(part) - np.log(part.mean(0, keepdims=True))), axis=1)
    split_scores.append(np.exp(kl.mean()))
  np.testing.assert_allclose(record['is_mean'], np.mean(split_scores), rtol=1e-6)
  np.testing.assert_allclose(record['is_std'], np.std(split_scores), rtol=1e-6, atol=1e-9)
  _, test_features = inception.outputs(variables, test)
  np.testing.assert_allclose(
      record['fid'], scores.feature_frechet_distance(features, test_features),
      rtol=1e-6)
  assert summary['reference']["inception"]["num_samples"] == 4
  # The real images' Inception outputs went to the cache: the test rows and the reference rows.
  assert len(os.listdir(tmp_path / 'features')) == 2
  # KID shares the Inception features of the same samples: recomputed from them here.
  from gan_jax.evaluation.metrics import kid  # pylint: disable=g-import-not-at-top
  expected = kid.kernel_inception_distance(features, test_features, config.eval.kid_subsets,
                                           config.eval.kid_subset_size, seed=config.eval.seed)
  np.testing.assert_allclose([summary['kid']['kid'], summary['kid']['kid_std']], expected,
                             rtol=1e-6)
  assert os.path.exists(os.path.join(workdir, 'figures', 'fig2_samples_nearest_step_000002.png'))
