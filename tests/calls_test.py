"""Many iterations per compiled call, and the training split resident on the device.

K = 1 and K = 37 must train the same numbers and write the same records on the same steps; the
device's batches must be those the order's definition (gan_jax/data/on_device.py) names; a
workdir trained with the host pipeline keeps it.
"""
import json
import os

import jax
import numpy as np
import pytest

from gan_jax import data
from gan_jax import errors
from gan_jax import periodic
from gan_jax import train
from gan_jax.data import on_device

from conftest import assert_states_identical, small_config

def _records(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [{k: v for k, v in json.loads(line).items()
             if not any(t in k for t in ('second', 'per_sec', 'time'))} for line in f]


def _config(placement, steps_per_call, form='loop', **overrides):
  config = small_config(num_train_steps=100, log_every_steps=7, checkpoint_every_steps=20,
                        sample_every_steps=50, keep_checkpoints=100, steps_per_call=steps_per_call,
                        call_form=form, **overrides)
  config.eval.every_steps = 25  # The Parzen LL during training, and its checkpoints.
  config.data.placement = placement
  return config


@pytest.mark.parametrize('placement,form', [
    ('device', 'loop'), ('device', 'steps'),
    pytest.param('host', 'loop', marks=pytest.mark.slow)])
def test_37_steps_per_call_train_and_log_as_one_step_per_call(tmp_path, placement, form):
  one = train.train_and_evaluate(_config(placement, 1, form), str(tmp_path / 'one'))
  many = train.train_and_evaluate(_config(placement, 37, form), str(tmp_path / 'many'))
  assert int(one.step) == int(many.step) == 100
  assert_states_identical(one, many)
  a, b = _records(tmp_path / 'one'), _records(tmp_path / 'many')
  assert [r['step'] for r in a] == [r['step'] for r in b]
  # Every log step (7, 14, ...), every evaluation/checkpoint (20, 25, 40, ...) and the last.
  expected = sorted({*range(7, 101, 7), *range(20, 101, 20), *range(25, 101, 25), 100})
  assert [r['step'] for r in a] == expected
  assert a == b  # Losses, hyperparameters and the Parzen LL, value for value.
  assert any('eval/parzen/validation_ll' in r for r in a)
  for name in ('checkpoints', 'samples'):
    assert sorted(os.listdir(tmp_path / 'one' / name)) == sorted(os.listdir(tmp_path / 'many' /
                                                                            name))
  assert sorted(os.listdir(tmp_path / 'one' / 'checkpoints')) == [
      str(s) for s in sorted({20, 25, 40, 50, 60, 75, 80, 100}, key=str)]


def test_the_two_placements_read_different_orders(tmp_path):
  """(So that the comparisons above and below could fail: the orders are not the same.)"""
  device = train.train_and_evaluate(small_config(num_train_steps=3), str(tmp_path / 'd'))
  config = small_config(num_train_steps=3)
  config.data.placement = 'host'
  host = train.train_and_evaluate(config, str(tmp_path / 'h'))
  assert any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(device),
                                                     jax.tree.leaves(host)))


def test_a_workdir_made_before_placement_keeps_the_host_pipeline(tmp_path, caplog):
  config = small_config(num_train_steps=6)
  config.data.placement = 'host'
  straight = train.train_and_evaluate(config, str(tmp_path / 'straight'))
  old = str(tmp_path / 'old')
  train.train_and_evaluate(_host(3), old)
  path = os.path.join(old, 'config.json')
  with open(path) as f:
    saved = json.load(f)
  del saved['data']['placement']  # As written before the key existed.
  with open(path, 'w') as f:
    json.dump(saved, f)
  caplog.set_level('INFO')
  resumed = train.train_and_evaluate(small_config(num_train_steps=6), old)  # placement 'auto'
  assert 'from the host pipeline (the placement this workdir was trained with)' in caplog.text
  assert_states_identical(straight, resumed)


def _host(num_train_steps):
  config = small_config(num_train_steps=num_train_steps)
  config.data.placement = 'host'
  return config


def test_auto_placement_is_recorded_and_kept_on_resume(tmp_path):
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(num_train_steps=3), workdir)
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['data']['placement'] == 'device'  # 'auto' on a CPU, resolved.
  # Asking for the other placement on resume is asking for another run.
  with pytest.raises(errors.WorkdirError, match='data.placement differ'):
    train.train_and_evaluate(_host(6), workdir)


def _defined_rows(seed, epoch, num_rows):
  """The order's definition, computed independently: epoch e's rows are a permutation drawn
  from fold_in(fold_in(PRNGKey(seed), 0xDA7A), e)."""
  return np.asarray(jax.random.permutation(
      jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), 0xDA7A), epoch), num_rows))


def test_device_batches_are_those_the_order_defines():
  split = np.random.default_rng(0).integers(0, 256, (50, 4, 4, 1), dtype=np.uint8)
  # 6 batches of 8 an epoch (2 rows left out); k = 2 minibatches an iteration.
  layout = on_device.Layout(num_rows=50, batch_size=8, batches_per_step=2)
  key = on_device.data_key(7)
  gather = jax.jit(on_device.gather, static_argnums=(4,))
  order = on_device.initial_order(key, 0, layout)
  for step in range(8):  # Across two epoch boundaries (batches 0-15: epochs 0, 1, 2).
    order, batches = gather(split, order, key, step, layout)
    assert batches.shape == (2, 8, 4, 4, 1)
    for j in range(2):
      epoch, position = divmod(step * 2 + j, 6)
      expected = _defined_rows(7, epoch, 50)[position * 8:(position + 1) * 8]
      np.testing.assert_array_equal(np.asarray(batches[j]), data.to_float(split[expected]))
  # A resume at step 5 starts from that step's epoch.
  assert int(on_device.initial_order(key, 5, layout).epoch) == (5 * 2) // 6


def test_a_population_gathers_each_seeds_own_order_at_its_own_step():
  split = np.random.default_rng(1).integers(0, 256, (30, 2, 2, 1), dtype=np.uint8)
  layout = on_device.Layout(num_rows=30, batch_size=10, batches_per_step=1)  # 3 an epoch.
  seeds, steps = (3, 11), np.array([2, 7])  # Different seeds at different steps.
  keys = jax.numpy.stack([on_device.data_key(s) for s in seeds])
  orders = jax.tree.map(lambda *x: jax.numpy.stack(x),
                        *[on_device.initial_order(k, 0, layout) for k in keys])
  gather = jax.jit(on_device.gather_population, static_argnums=(4,))
  for offset in range(4):
    orders, batches = gather(split, orders, keys, steps + offset, layout)
    for i, seed in enumerate(seeds):
      epoch, position = divmod(int(steps[i]) + offset, 3)
      expected = _defined_rows(seed, epoch, 30)[position * 10:(position + 1) * 10]
      np.testing.assert_array_equal(np.asarray(batches[i, 0]), data.to_float(split[expected]))


def test_auto_places_on_the_device_what_fits():
  examples = np.zeros((1000, 28, 28, 1), np.uint8)  # 0.75 MiB.
  assert on_device.resolve('auto', examples, memory_bytes=2**30)[0] == 'device'
  assert on_device.resolve('auto', examples, memory_bytes=2**20)[0] == 'host'
  assert on_device.resolve('auto', examples, saved='host', memory_bytes=2**30)[0] == 'host'
  assert on_device.resolve('host', examples, memory_bytes=2**30)[0] == 'host'


def test_a_lazily_read_split_stays_on_the_host():
  class Lazy:
    pass
  assert on_device.resolve('auto', Lazy())[0] == 'host'
  with pytest.raises(errors.ConfigError, match='placement=host or auto'):
    on_device.resolve('device', Lazy())


def test_unknown_placement_and_negative_steps_per_call_are_refused(tmp_path):
  config = small_config()
  config.data.placement = 'gpu'
  with pytest.raises(errors.ConfigError, match="placement='gpu' is unknown"):
    train.train_and_evaluate(config, str(tmp_path / 'a'))
  with pytest.raises(errors.ConfigError, match='steps_per_call=-1 must be an integer >= 0'):
    train.train_and_evaluate(small_config(steps_per_call=-1), str(tmp_path / 'b'))
  with pytest.raises(errors.ConfigError, match="call_form='scan' is unknown"):
    train.train_and_evaluate(small_config(call_form='scan'), str(tmp_path / 'c'))
  assert not any(os.path.exists(tmp_path / n) for n in 'abc')


def test_calls_end_exactly_where_an_action_is_due():
  schedule = periodic.Schedule((periodic.Every('log', 7), periodic.Every('checkpoint', 20),
                                periodic.Every('evaluate', 0)), last=100)
  step, ends = 0, []
  while step < 100:
    n = schedule.call_length(step, 37)
    assert 1 <= n <= 37
    step += n
    ends.append(step)
  due = sorted({*range(7, 101, 7), *range(20, 101, 20), 100})
  assert ends == due  # Never past an action; here every gap is under 37.
  # Listed steps (kept checkpoints) cut calls too, off every period.
  kept = periodic.Schedule(schedule.actions + (periodic.At('keep', (33, 90)),), last=100)
  step, ends = 0, []
  while step < 100:
    step += kept.call_length(step, 37)
    ends.append(step)
  assert ends == sorted({*due, 33, 90})
  assert [kept.due(s)['keep'] for s in (33, 34, 90, 100)] == [True, False, True, False]
  # Without actions in between, calls are K long.
  quiet = periodic.Schedule((periodic.Every('log', 0),), last=100)
  assert [quiet.call_length(s, 37) for s in (0, 37, 74)] == [37, 37, 26]


def test_checkpoints_at_keep_steps_are_saved_and_never_deleted(tmp_path):
  # Saved every 4 steps, the newest 1 kept; step 6 is off the cadence, step 8 on it. With 5
  # iterations a call, the calls are cut at 6 so that its checkpoint holds step 6's state.
  config = small_config(num_train_steps=12, checkpoint_every_steps=4, keep_checkpoints=1,
                        keep_checkpoint_steps=(6, 8), steps_per_call=5, call_form='loop')
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(config, workdir)
  kept = sorted(int(n) for n in os.listdir(os.path.join(workdir, 'checkpoints')) if n.isdigit())
  assert kept == [6, 8, 12]
  # The checkpoint at 6 is the state a 6-step run ends with.
  six = train.train_and_evaluate(small_config(num_train_steps=6, checkpoint_every_steps=4,
                                              keep_checkpoints=1), str(tmp_path / 'six'))
  from gan_jax import evaluate  # pylint: disable=g-import-not-at-top
  restored = evaluate.Run(config, workdir).state(6)
  assert_states_identical(six, restored)
  with pytest.raises(errors.ConfigError, match=r'keep_checkpoint_steps=\(0,\) must be positive'):
    train.train_and_evaluate(small_config(keep_checkpoint_steps=(0,)), str(tmp_path / 'bad'))
  assert not os.path.exists(tmp_path / 'bad')


def test_auto_call_form_loops_on_a_cpu_only_for_fully_connected_networks():
  from experiments import fashion_mnist_32_gan, mnist_gan  # pylint: disable=g-import-not-at-top
  from gan_jax import parallel  # pylint: disable=g-import-not-at-top
  assert jax.devices()[0].platform == 'cpu'
  assert parallel.call_form(mnist_gan.get_config()) == 'loop'
  assert parallel.call_form(fashion_mnist_32_gan.get_config()) == 'steps'  # jax-ml/jax#12868
  config = fashion_mnist_32_gan.get_config()
  config.call_form = 'loop'
  assert parallel.call_form(config) == 'loop'
  assert train.steps_per_call(config) == 500 and train.steps_per_call(mnist_gan.get_config()) == 500
  assert train.steps_per_call(fashion_mnist_32_gan.get_config()) == 1
