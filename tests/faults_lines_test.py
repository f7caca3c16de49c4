"""Tracebacks and misleading lines turned into one line each (issue 30, group 3)."""
import os

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
  text, failed = reproduce.reproduce('gan_parzen', str(root), False, '', only=['GAN, MNIST'],
                                     output=str(tmp_path / 't.md'), progress=True)
  line = next(l for l in text.splitlines() if l.startswith('| GAN, MNIST |'))
  assert 'no evaluation logged yet; the first is at step 5,000' in line
  assert '| 1 | 1,000 (2, paused) |' in line  # Seed 1 only: 0 and 2 have logged nothing.
  assert [f['row'].label for f in failed] == ['GAN, MNIST, z ~ N(0, I)']
