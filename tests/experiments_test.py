"""Every experiment file loads, validates, and trains two steps with `runlocal`."""
import glob
import importlib
import json
import os

import jax
import numpy as np
import pytest

from gan_jax import config_checks
from gan_jax import data
from gan_jax import steps
from gan_jax import state as state_lib
from gan_jax import train
from gan_jax.data import idx
from gan_jax.data import mock

from conftest import ROOT

EXPERIMENTS = sorted(
    os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'experiments', '*.py'))
    if os.path.basename(p) not in ('__init__.py', 'common.py'))


def load_config(name, arg=None):
  return importlib.import_module(f'experiments.{name}').get_config(arg)


def local_data(config, tmp_path):
  """Points config.data at small generated data in the source's real format."""
  return mock.mock_data(config.data, str(tmp_path / 'data'), num_examples=48)


def test_experiments_are_discovered():
  assert {'mnist_gan', 'fashion_mnist_gan', 'digits_gan', 'toy_ring_gan', 'tfd_gan',
          'cifar10_mlp_gan'} <= set(EXPERIMENTS)


@pytest.mark.parametrize('name', EXPERIMENTS)
def test_config_loads_and_validates(name):
  full, local = load_config(name), load_config(name, 'runlocal')
  config_checks.validate(full)
  config_checks.validate(local)
  assert local.num_train_steps == 2 < full.num_train_steps
  # runlocal shrinks the run; it never changes which keys exist.
  assert set(full.to_dict()) == set(local.to_dict())


def test_mnist_gan_is_the_released_setup():
  c = load_config('mnist_gan')
  assert (c.batch_size, c.noise.dim, c.noise.prior) == (100, 100, 'uniform')
  assert (c.update_rule, c.discriminator_steps, c.discriminator_loss_scale) == ('simultaneous', 1, 0.5)
  assert tuple(c.generator.hidden_dims) == (1200, 1200) and c.generator.init_range == 0.05
  assert c.init_output_bias_from_data
  d = c.discriminator
  assert (tuple(d.hidden_units), d.num_pieces, d.init_range) == ((240, 240), 5, 0.005)
  assert (d.input_keep, d.hidden_keep) == (0.8, 0.5)
  o = c.optimizer
  assert (o.name, o.learning_rate, o.lr_decay_factor, o.min_learning_rate) == (
      'momentum', 0.1, 1.000004, 1e-6)
  assert (o.momentum, o.final_momentum, o.momentum_start_epoch, o.momentum_saturate_epoch) == (
      0.5, 0.7, 1, 250)
  # The original IDX files in file order (pylearn2's rows); tfds's mnist one override away.
  assert (c.data.source, c.data.path, c.data.num_validation) == ('idx', idx.MNIST_DIR, 10000)
  assert c.data.name == 'mnist'


def test_tfd_gan_is_the_released_setup():
  c = load_config('tfd_gan')
  assert c.noise.prior == 'normal'  # The released Generator's default; only mnist.yaml says uniform.
  assert c.discriminator_max_col_norm == c.generator_max_col_norm == 1.9365
  assert (tuple(c.discriminator.hidden_units), c.optimizer.learning_rate) == ((1200, 1200), 0.05)


def _convolutional_slow(names):
  """The convolutional (DCGAN) experiments' two-step runs carry the slow mark (5-15 s each to
  compile); the fast subset trains the MLP ones, and tests/dfm_test.py and radford_test.py check
  the convolutional networks and the DFM step themselves."""
  conv = lambda n: load_config(n, 'runlocal').generator.name == 'radford'
  return [pytest.param(n, marks=pytest.mark.slow) if conv(n) else n for n in names]


@pytest.mark.parametrize('name', _convolutional_slow(EXPERIMENTS))
def test_runs_two_steps_with_runlocal(name, tmp_path):
  config = load_config(name, 'runlocal')
  workdir = str(tmp_path / 'workdir')
  with local_data(config, tmp_path):
    dataset = data.get_dataset(config.data, 'train', batch_size=config.batch_size, seed=config.seed)
    initial = state_lib.create_train_state(config, dataset, steps.StepSpec.from_config(config),
                                       jax.random.split(jax.random.PRNGKey(config.seed), 3)[0])
    final = train.train_and_evaluate(config, workdir)
  assert int(final.step) == 2
  for network in ('generator', 'discriminator'):
    before = jax.tree.leaves(getattr(initial, network).params)
    after = jax.tree.leaves(getattr(final, network).params)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after)), f'{network} did not train'
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    records = [json.loads(line) for line in f]
  assert [r['step'] for r in records] == [1, 2]
  for r in records:
    for key in ('d_loss', 'g_loss', 'D_x', 'D_G_z', 'learning_rate', 'steps_per_sec'):
      assert np.isfinite(r[key]), key
    assert 0 <= r['D_x'] <= 1 and 0 <= r['D_G_z'] <= 1
  assert os.path.exists(os.path.join(workdir, 'samples', 'step_000002.png'))
  assert os.path.isdir(os.path.join(workdir, 'checkpoints', '2'))
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['num_train_steps'] == 2
