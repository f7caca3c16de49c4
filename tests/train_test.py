"""The training loop: resume bit-identity, checkpoint fallback, NaN stop, workdir protection."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import data
from gan_jax import errors
from gan_jax import steps
from gan_jax import state as state_lib
from gan_jax import train
from experiments import digits_gan

from conftest import assert_states_identical, small_config


def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path):
  straight = train.train_and_evaluate(small_config(), str(tmp_path / 'straight'))
  # Stop at step 3 (not a checkpoint step: the last step is always saved), then go on to 6.
  train.train_and_evaluate(small_config(num_train_steps=3), str(tmp_path / 'resumed'))
  assert sorted(os.listdir(tmp_path / 'resumed' / 'checkpoints')) == ['2', '3']
  resumed = train.train_and_evaluate(small_config(), str(tmp_path / 'resumed'))
  assert int(resumed.step) == 6
  assert_states_identical(straight, resumed)


def _corrupt(step_dir):
  for root, _, files in os.walk(os.path.join(step_dir, 'state')):
    for name in files:
      with open(os.path.join(root, name), 'wb'):
        pass  # Truncate every file of the saved state.


def test_corrupt_latest_checkpoint_falls_back_to_previous(tmp_path, caplog):
  straight = train.train_and_evaluate(small_config(), str(tmp_path / 'straight'))
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(num_train_steps=4), workdir)
  _corrupt(os.path.join(workdir, 'checkpoints', '4'))
  resumed = train.train_and_evaluate(small_config(), workdir)
  assert 'checkpoint at step 4 is unreadable' in caplog.text
  # The damaged checkpoint is kept aside, not deleted; the run redid steps 3-4 from step 2.
  assert os.path.isdir(os.path.join(workdir, 'checkpoints', '4.corrupt'))
  assert_states_identical(straight, resumed)


def test_nan_stops_training_names_the_steps_and_keeps_good_checkpoints(tmp_path, monkeypatch):
  real_step = steps.train_step

  def nan_from_step_5(state, batches, rng, *, spec):
    new_state, metrics = real_step(state, batches, rng, spec=spec)
    poisoned = state.step >= 4  # The iteration that ends at step 5.
    metrics['g_loss'] = jnp.where(poisoned, jnp.nan, metrics['g_loss'])
    return new_state, metrics

  monkeypatch.setattr(steps, 'train_step', nan_from_step_5)
  workdir = str(tmp_path / 'run')
  with pytest.raises(errors.NonFiniteLossError) as info:
    train.train_and_evaluate(small_config(num_train_steps=8), workdir)
  message = str(info.value)
  assert 'g_loss became nan at step 5 (steps 5-6 were checked)' in message
  assert 'last good checkpoint (step 4)' in message
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['2', '4']
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    assert [json.loads(line)['step'] for line in f] == [2, 3, 4]


def test_workdir_of_another_run_is_refused_and_left_untouched(tmp_path):
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(), workdir)
  before = {name: open(os.path.join(workdir, name), 'rb').read()
            for name in ('config.json', 'metrics.jsonl')}
  checkpoints = sorted(os.listdir(os.path.join(workdir, 'checkpoints')))
  other = small_config()
  other.optimizer.learning_rate = 0.05
  with pytest.raises(errors.WorkdirError, match='optimizer.learning_rate'):
    train.train_and_evaluate(other, workdir)
  for name, content in before.items():
    assert open(os.path.join(workdir, name), 'rb').read() == content
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == checkpoints


def test_training_longer_is_a_resume_not_a_conflict(tmp_path):
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(num_train_steps=2), workdir)
  state = train.train_and_evaluate(small_config(num_train_steps=4), workdir)
  assert int(state.step) == 4
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['num_train_steps'] == 4


def test_missing_dataset_writes_nothing(tmp_path):
  config = small_config()
  config.data.num_test = 5000  # Impossible for 1,797 digits.
  with pytest.raises(errors.ConfigError, match='num_test'):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not os.path.exists(tmp_path / 'run')


def test_checkpoint_of_another_model_is_refused_not_set_aside(tmp_path):
  """A readable checkpoint whose parameters differ from the model's (the code changed) is not
  corruption: restoring refuses it with one line and leaves it where it is."""
  from gan_jax import checkpointing
  from gan_jax import data
  from experiments import digits_dfm
  gan, dfm = digits_gan.get_config('runlocal'), digits_dfm.get_config('runlocal')
  dataset = data.get_dataset(gan.data, 'train', batch_size=gan.batch_size)
  def state(config):
    return state_lib.create_train_state(config, dataset, steps.StepSpec.from_config(config),
                                    jax.random.PRNGKey(0))
  directory = str(tmp_path / 'checkpoints')
  saver = checkpointing.Checkpointer(directory, keep=3, save_interval_steps=1)
  saver.save(0, state(gan), {'position': 1}, force=True)  # A new state: step 0 inside.
  saver.wait()
  saver.close()
  reader = checkpointing.Checkpointer(directory, keep=3, save_interval_steps=1)
  with pytest.raises(errors.CheckpointError, match='holds a different model') as info:
    reader.restore(state(dfm))  # The same networks plus a denoiser.
  assert '\n' not in str(info.value) and "'denoiser'" in str(info.value)
  assert os.listdir(directory) == ['0']
  assert reader.restore(state(gan))[0] == 0  # The model that wrote it still reads it.


def test_a_key_added_after_a_run_was_made_reads_as_its_old_behaviour(tmp_path):
  """A config.json written before generator_max_col_norm existed resumes (the key's 0.0 is what
  that run did); asking that run for another value is a different run."""
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(num_train_steps=2), workdir)
  path = os.path.join(workdir, 'config.json')
  with open(path) as f:
    old = json.load(f)
  del old['generator_max_col_norm']
  with open(path, 'w') as f:
    json.dump(old, f)
  assert int(train.train_and_evaluate(small_config(num_train_steps=4), workdir).step) == 4
  with pytest.raises(errors.WorkdirError, match='generator_max_col_norm'):
    train.train_and_evaluate(small_config(num_train_steps=6, generator_max_col_norm=1.0), workdir)


def test_generator_max_col_norm_caps_every_weight_matrix_of_g(tmp_path):
  """The released TFD setup caps G's columns as well as D's (pylearn2 max_col_norm)."""
  config = small_config(num_train_steps=3, generator_max_col_norm=0.05)
  config.optimizer.learning_rate = 1.0  # Large steps: the cap must bind.
  state = train.train_and_evaluate(config, str(tmp_path / 'run'))
  kernels = [k for k in jax.tree.leaves(state.generator.params) if k.ndim == 2]
  assert kernels
  for kernel in kernels:
    norms = np.linalg.norm(np.asarray(kernel), axis=0)
    assert norms.max() <= 0.05 * (1 + 1e-5)
    assert norms.max() >= 0.05 * (1 - 1e-3)  # Bound, not merely small.


def test_data_pad_added_after_the_mnist_runs_reads_as_no_padding(tmp_path, idx_dir):
  """An IDX run's config.json from before data.pad existed is the pad=0 run; a config without
  the key (another source) is not made to differ by it."""
  config = small_config(num_train_steps=2)
  config.data = data.default_config('idx', path=idx_dir, num_validation=20)
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(config, workdir)
  path = os.path.join(workdir, 'config.json')
  with open(path) as f:
    old = json.load(f)
  del old['data']['pad']
  with open(path, 'w') as f:
    json.dump(old, f)
  config.num_train_steps = 4
  assert int(train.train_and_evaluate(config, workdir).step) == 4
  config.data.pad = 2
  with pytest.raises(errors.WorkdirError, match='data.pad'):
    train.train_and_evaluate(config, workdir)
