"""Tracebacks and misleading lines turned into one line each (issue 30, group 3)."""
import os

import numpy as np

import pytest

from gan_jax import errors
from gan_jax import train

import processes
from conftest import small_config


def test_an_unknown_table_is_the_last_line_not_absls_help_hint():
  out = processes.run('launch.reproduce', ['--table=nosuch', '--root=/nonexistent'])
  assert out.returncode == 1
  last = out.stderr.strip().splitlines()[-1]
  assert last.startswith('launch.reproduce: error: flag --table=nosuch: value should be one of')
  assert last.endswith('; see --helpshort') and 'gan_parzen' in last


@pytest.mark.parametrize('sigmas', [(0.1, float('inf')), (float('nan'),)])
def test_a_sigma_grid_with_inf_or_nan_is_refused_before_training(tmp_path, sigmas):
  config = small_config()
  config.eval.sigmas = sigmas
  with pytest.raises(errors.ConfigError, match='must be a non-empty grid of finite widths > 0'):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not os.path.exists(tmp_path / 'run')


def test_a_negative_eval_seed_is_refused_before_training(tmp_path):
  config = small_config()
  config.eval.seed = -1
  with pytest.raises(errors.ConfigError, match=r'config.eval.seed=-1 must be an integer in'):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not os.path.exists(tmp_path / 'run')


def test_a_field_of_another_source_is_refused_not_ignored(tmp_path):
  from experiments import mnist_gan  # pylint: disable=g-import-not-at-top
  config = mnist_gan.get_config('runlocal')  # IDX files; tfds's fields ride along for --source.
  config.data.preprocessing = 'central_crop'
  with pytest.raises(errors.ConfigError, match=r"config.data.preprocessing='central_crop' is read "
                                               r"by the tfds source only; this run reads "
                                               r"config.data.source='idx'"):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not os.path.exists(tmp_path / 'run')


def test_progress_before_any_evaluation_lists_only_the_seeds_that_started(tmp_path):
  import json  # pylint: disable=g-import-not-at-top
  from launch import reproduce  # pylint: disable=g-import-not-at-top
  root = tmp_path / 'runs'
  started = root / 'mnist_gan' / 'seed=1'  # The first 2 epochs: no evaluation logged yet.
  os.makedirs(started)
  with open(started / 'metrics.jsonl', 'w') as f:
    for step in (500, 1000):
      f.write(json.dumps({'step': step, 'd_loss': 1.3, 'epoch': step / 500,
                          'steps_per_sec': 10.0}) + '\n')
  os.makedirs(root / 'mnist_gan' / 'seed=2')  # Made, nothing logged.
  text, failed = reproduce.reproduce('gan_parzen', str(root), False, '',
                                     only=['GAN, MNIST', 'z ~ N(0, I)'],
                                     output=str(tmp_path / 't.md'), progress=True)
  line = next(l for l in text.splitlines() if l.startswith('| GAN, MNIST |'))
  assert 'no evaluation logged yet; the first is at step 5,000' in line
  assert '| 1 | 1,000 (2, paused) |' in line  # Seed 1 only: 0 and 2 have logged nothing.
  for seed in (0, 2):  # Named below the table, so that a reader does not take the row for whole.
    assert (f'- GAN, MNIST, seed {seed}: not started (nothing logged in '
            f'{root / "mnist_gan" / f"seed={seed}"})') in text.splitlines()
  assert [f['row'].label for f in failed] == ['GAN, MNIST, z ~ N(0, I)']


def test_evaluation_is_refused_while_a_run_trains_in_the_workdir_and_holds_it_while_it_scores(
    tmp_path):
  from gan_jax import evaluate, lock  # pylint: disable=g-import-not-at-top
  from launch import progress  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(), workdir)
  with lock.WorkdirLock(workdir):  # A run training there (its keep policy deletes checkpoints).
    with pytest.raises(errors.WorkdirError, match=r'in use by another run \(training: PID'):
      evaluate.evaluate(small_config(), workdir)
  assert not os.path.exists(os.path.join(workdir, 'eval'))  # Nothing scored, nothing written.
  held = []
  real = evaluate._evaluate_held  # pylint: disable=protected-access

  def scoring(*args):  # While eval scores, training is refused and --progress says so.
    with pytest.raises(errors.WorkdirError, match=r'in use by another run \(evaluation: PID'):
      train.train_and_evaluate(small_config(num_train_steps=8), workdir)
    held.append(progress.status(workdir))
    return real(*args)
  evaluate._evaluate_held = scoring  # pylint: disable=protected-access
  try:
    summary = evaluate.evaluate(small_config(), workdir)
  finally:
    evaluate._evaluate_held = real  # pylint: disable=protected-access
  assert held == ['num_train_steps'] and summary['selected_step'] == 6
  assert lock.holder(workdir) is None  # Released.


@pytest.mark.parametrize('garbage', [  # (One in the fast set.)
    'not json at all', pytest.param('{"eval/parzen/valid', marks=pytest.mark.slow),
    pytest.param('[1, 2]', marks=pytest.mark.slow)])
def test_a_step_whose_metrics_file_is_garbage_is_set_aside_and_the_run_resumes(
    tmp_path, garbage, caplog):
  from conftest import assert_states_identical  # pylint: disable=g-import-not-at-top

  def config(steps):
    c = small_config(num_train_steps=steps, checkpoint_every_steps=2)
    c.eval.every_steps = 2  # With a selection metric, each step's metrics file is written.
    return c
  straight = train.train_and_evaluate(config(6), str(tmp_path / 'straight'))
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(config(4), workdir)
  metrics = os.path.join(workdir, 'checkpoints', '4', 'metrics', 'metrics')
  assert os.path.isfile(metrics)
  with open(metrics, 'w') as f:
    f.write(garbage)
  resumed = train.train_and_evaluate(config(6), workdir)  # (orbax's JSONDecodeError before.)
  assert 'step 4 is unreadable (its metrics file is not a JSON object)' in caplog.text
  assert os.path.isdir(os.path.join(workdir, 'checkpoints', '4.corrupt'))
  assert_states_identical(straight, resumed)  # From step 2, steps 3-6 again.


def _idx_files(directory, seed=0, gz=False):
  """Four small MNIST-format files; returns {stem: path}."""
  from conftest import write_idx  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  os.makedirs(directory, exist_ok=True)
  paths = {}
  for stem, shape in (('train-images-idx3-ubyte', (60, 8, 8)), ('t10k-images-idx3-ubyte',
                                                                 (20, 8, 8)),
                      ('train-labels-idx1-ubyte', (60,)), ('t10k-labels-idx1-ubyte', (20,))):
    paths[stem] = os.path.join(directory, stem + ('.gz' if gz else ''))
    write_idx(paths[stem], rng.integers(0, 3 if 'labels' in stem else 256, shape))
  return paths


@pytest.fixture
def known_sums(tmp_path, monkeypatch):
  """A dataset 'ours' whose known sums are those of _idx_files(seed 0), and 'theirs' (seed 1);
  the verification cache in this test's HOME."""
  from gan_jax.data import idx  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv('HOME', str(tmp_path / 'home'))
  sums = {}
  for name, seed in (('ours', 0), ('theirs', 1)):
    files = _idx_files(tmp_path / f'reference_{name}', seed)
    sums[name] = {stem: idx.md5_of(path) for stem, path in files.items()}
  monkeypatch.setattr(idx, 'KNOWN_MD5', sums)
  return sums


def _idx_config(path, verify='warn'):
  from gan_jax import data  # pylint: disable=g-import-not-at-top
  config = small_config(data=data.default_config('idx', path=str(path), num_validation=10,
                                                 alternatives=('tfds',), name='ours'))
  config.data.verify = verify
  return config


def test_a_file_of_another_dataset_is_named_warn_or_strict(tmp_path, known_sums, caplog):
  import shutil  # pylint: disable=g-import-not-at-top
  from gan_jax import data  # pylint: disable=g-import-not-at-top
  path = tmp_path / 'mixed'
  _idx_files(path, seed=0)
  # The test images of the other dataset beside our training files.
  shutil.copy(tmp_path / 'reference_theirs' / 't10k-images-idx3-ubyte', path)
  data.load_split(_idx_config(path).data, 'test')
  assert (f"{path}/t10k-images-idx3-ubyte is not ours's t10k-images-idx3-ubyte: it holds "
          "theirs's t10k-images-idx3-ubyte") in caplog.text
  strict = _idx_config(path, 'strict')
  strict.eval.every_steps = 2  # The test split is read (for the metrics) before training.
  with pytest.raises(errors.DatasetUnavailableError, match="it holds theirs's t10k-images"):
    train.train_and_evaluate(strict, str(tmp_path / 'run'))
  assert not os.path.exists(tmp_path / 'run')
  caplog.clear()
  data.load_split(_idx_config(path, 'off').data, 'test')
  data.load_split(_idx_config(path).data, 'train')  # Our own file: no word.
  assert 'is not ours' not in caplog.text


def test_files_are_summed_once_per_version(tmp_path, known_sums, monkeypatch):
  from gan_jax import data  # pylint: disable=g-import-not-at-top
  from gan_jax.data import idx  # pylint: disable=g-import-not-at-top
  path = tmp_path / 'ours'
  files = _idx_files(path, seed=0)
  summed = []
  real = idx.md5_of
  monkeypatch.setattr(idx, 'md5_of', lambda p: summed.append(p) or real(p))
  for _ in range(3):
    data.load_split(_idx_config(path).data, 'test')
  assert summed == [files['t10k-images-idx3-ubyte']]  # Cached by size and mtime.
  os.utime(files['t10k-images-idx3-ubyte'], ns=(1, 1))  # A new version: summed again.
  data.load_split(_idx_config(path).data, 'test')
  assert len(summed) == 2


def test_a_file_and_its_gz_both_present_is_an_error(tmp_path):
  from gan_jax import data  # pylint: disable=g-import-not-at-top
  path = tmp_path / 'both'
  _idx_files(path, seed=0)
  _idx_files(path, seed=1, gz=True)  # Other contents, compressed, beside them.
  with pytest.raises(errors.DatasetUnavailableError,
                     match=r"holds both train-images-idx3-ubyte and train-images-idx3-ubyte.gz"):
    data.load_split(_idx_config(path).data, 'train')


@pytest.mark.parametrize('damage', ['mid-stream', 'crc'])
def test_a_corrupt_gzip_file_is_one_line_that_says_corrupt(tmp_path, damage):
  from gan_jax import data  # pylint: disable=g-import-not-at-top
  path = tmp_path / 'gz'
  files = _idx_files(path, seed=0, gz=True)
  target = files['train-images-idx3-ubyte']
  with open(target, 'rb') as f:
    blob = bytearray(f.read())
  if damage == 'mid-stream':
    blob[len(blob) // 2:len(blob) // 2 + 16] = b'\xff' * 16  # (zlib.error before)
  else:
    blob[-8] ^= 0xFF  # The CRC of the trailer (reported as "not a gzip file" before).
  with open(target, 'wb') as f:
    f.write(bytes(blob))
  with pytest.raises(errors.DatasetUnavailableError, match=r'is a corrupt gzip file .*; fetch it'):
    data.load_split(_idx_config(path, 'off').data, 'train')


def test_an_unreadable_data_directory_says_so(tmp_path, monkeypatch):
  from gan_jax import data  # pylint: disable=g-import-not-at-top
  path = tmp_path / 'locked'
  _idx_files(path, seed=0)
  real_access = os.access  # (As root, chmod 000 does not lock this process out: say it does.)
  monkeypatch.setattr(os, 'access', lambda p, mode: False if str(p) == str(path)
                      else real_access(p, mode))
  with pytest.raises(errors.DatasetUnavailableError, match='cannot read the directory .*permission '
                                                           'denied'):
    data.load_split(_idx_config(path, 'off').data, 'train')


@pytest.mark.slow
def test_the_mnist_tests_pass_on_gzip_compressed_files(tmp_path):
  import gzip  # pylint: disable=g-import-not-at-top
  import shutil  # pylint: disable=g-import-not-at-top
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  from conftest import ROOT  # pylint: disable=g-import-not-at-top
  from gan_jax.data import idx  # pylint: disable=g-import-not-at-top
  from launch import fetch_data  # pylint: disable=g-import-not-at-top
  source = os.path.expanduser(idx.MNIST_DIR)
  if any(fetch_data.check(fetch_data.DATASETS['mnist'], source).values()):
    pytest.skip(f'needs the real MNIST in {source}: python -m launch.fetch_data mnist')
  for stem in fetch_data.DATASETS['mnist'].md5:  # README: .gz or not, both accepted.
    with open(idx.find(source, stem), 'rb') as f, gzip.open(tmp_path / f'{stem}.gz', 'wb') as g:
      shutil.copyfileobj(f, g)
  run = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-n', '0', '-p', 'no:cacheprovider',
                        'tests/mnist_test.py'], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, 'GAN_JAX_MNIST_DIR': str(tmp_path)}, check=False)
  assert run.returncode == 0, run.stdout[-3000:]
  assert 'passed' in run.stdout and 'skipped' not in run.stdout


@pytest.mark.parametrize('kind', ['npy', 'structured mu'])
def test_reference_stats_of_the_wrong_kind_are_one_line(tmp_path, kind):
  from gan_jax.evaluation import reference_stats  # pylint: disable=g-import-not-at-top
  if kind == 'npy':
    path = str(tmp_path / 'stats.npy')
    np.save(path, np.zeros(4))
    match = r'is a single array \(.npy\), not an .npz archive'
  else:
    path = str(tmp_path / 'stats.npz')
    np.savez(path, mu=np.zeros(4, dtype=[('a', 'f4'), ('b', 'f4')]), sigma=np.eye(4))
    match = r': mu holds .* values, not numbers'
  with pytest.raises(errors.ConfigError, match=match):  # (A TypeError traceback before.)
    reference_stats.load(path, 4)


def test_eval_of_other_metrics_is_not_refused_by_the_training_stopping_rule(tmp_path,
                                                                            monkeypatch):
  from gan_jax import evaluate  # pylint: disable=g-import-not-at-top

  def config():
    c = small_config()
    c.eval.every_steps = 2  # A run with the stopping rule, as mnist_gan is.
    c.early_stopping.patience = 10
    return c
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(config(), workdir)
  monkeypatch.setenv('HOME', str(tmp_path))  # The classifier's cache: this test's own.
  scoring = config()
  scoring.eval.metrics = ('kid', 'classifier')  # No selecting metric: the rule cannot run.
  scoring.eval.kid_space, scoring.eval.classifier_steps = 'classifier', 5
  summary = evaluate.evaluate(scoring, workdir)
  assert 'kid' in summary and 'classifier' in summary
  with pytest.raises(errors.ConfigError, match='needs a selection metric'):  # Training: still.
    train.train_and_evaluate(scoring, str(tmp_path / 'other'))
