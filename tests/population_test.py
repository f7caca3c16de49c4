"""A table row's seeds as one program (gan_jax/population.py): each seed is its separate run."""
import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from gan_jax import errors
from gan_jax import population
from gan_jax import run as run_lib
from gan_jax import train

from conftest import ROOT, assert_states_identical, small_config


def _records(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [{k: v for k, v in json.loads(line).items()
             if not any(t in k for t in ('second', 'per_sec', 'time'))} for line in f]


def _config(seeds='', form='auto', **overrides):
  config = small_config(**{'num_train_steps': 8, **overrides})
  config.seeds, config.population_form = seeds, form
  return config


def _separate(tmp_path, seeds, **overrides):
  return {s: train.train_and_evaluate(_config(seed=s, **overrides), str(tmp_path / f'alone{s}'))
          for s in seeds}


def test_the_loop_form_trains_each_seed_exactly_as_its_separate_run(tmp_path):
  alone = _separate(tmp_path, (0, 1))
  states = train.train_and_evaluate(_config('0,1', 'loop'), str(tmp_path / 'pop'))
  for seed, state in zip((0, 1), states):
    workdir = tmp_path / 'pop' / f'seed={seed}'
    assert_states_identical(alone[seed], state)
    assert _records(workdir) == _records(tmp_path / f'alone{seed}')
    # The seed's workdir is the one a single-seed command writes: the same config.json.
    with open(workdir / 'config.json') as f, open(tmp_path / f'alone{seed}' / 'config.json') as g:
      assert json.load(f) == json.load(g)
    assert sorted(os.listdir(workdir / 'checkpoints')) == sorted(
        os.listdir(tmp_path / f'alone{seed}' / 'checkpoints'))
  assert not np.array_equal(*(np.asarray(jax.tree.leaves(s.generator.params)[0]) for s in states))


@pytest.mark.slow  # (The accelerator's form; a CPU's is the loop, tested in the fast set.)
def test_the_vmap_form_trains_each_seed_as_its_separate_run(tmp_path):
  alone = _separate(tmp_path, (0, 1))
  states = train.train_and_evaluate(_config('0,1', 'vmap'), str(tmp_path / 'pop'))
  for seed, state in zip((0, 1), states):
    # vmap batches the seeds' matmuls, which may sum in another order: float32 rounding, 8
    # steps of a network with weights ~U(±0.05). Observed here: equal, or within 1e-6.
    for x, y in zip(jax.tree.leaves(alone[seed]), jax.tree.leaves(state)):
      np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
    alone_records = _records(tmp_path / f'alone{seed}')
    pop_records = _records(tmp_path / 'pop' / f'seed={seed}')
    assert [r['step'] for r in pop_records] == [r['step'] for r in alone_records]
    for a, b in zip(alone_records, pop_records):
      assert a.keys() == b.keys()
      np.testing.assert_allclose([b[k] for k in a], [a[k] for k in a], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('form', ['loop', pytest.param('vmap', marks=pytest.mark.slow)])
def test_each_seed_stops_by_its_own_rule_and_is_frozen(tmp_path, monkeypatch, form):
  # Seed 0's scripted validation LL peaks at step 2 and its rule (patience 2) ends it at 6;
  # seed 1's keeps rising and it trains to num_train_steps (10).
  curves = {0: {2: 5.0, 4: 1.0, 6: 1.0, 8: 1.0, 10: 1.0},
            1: {2: 1.0, 4: 2.0, 6: 3.0, 8: 4.0, 10: 5.0}}
  monkeypatch.setattr(run_lib, '_evaluate', lambda c, e, g, step: {
      'eval/parzen/validation_ll': curves[c.seed][step]})

  def config(*args, **kw):
    c = _config(*args, num_train_steps=10, log_every_steps=2, checkpoint_every_steps=100, **kw)
    c.keep_checkpoints = 1
    c.keep_checkpoint_steps = (3,)  # Off every cadence: saved and kept for each seed, too.
    c.eval.every_steps = 2
    c.early_stopping.patience = 2
    return c

  alone = {s: train.train_and_evaluate(config(seed=s), str(tmp_path / f'alone{s}'))
           for s in (0, 1)}
  states = train.train_and_evaluate(config('0,1', form), str(tmp_path / 'pop'))
  for seed in (0, 1):
    with open(tmp_path / 'pop' / f'seed={seed}' / 'stop.json') as f:
      stop = json.load(f)
    with open(tmp_path / f'alone{seed}' / 'stop.json') as f:
      assert stop == json.load(f)
    assert stop['step'] == (6 if seed == 0 else 10)
    assert stop['stopped_by'] == ('early_stopping' if seed == 0 else 'num_train_steps')
    assert int(states[seed].step) == stop['step']  # Frozen where it stopped.
    kept = os.listdir(tmp_path / 'pop' / f'seed={seed}' / 'checkpoints')
    assert '3' in kept and '3' in os.listdir(tmp_path / f'alone{seed}' / 'checkpoints')
    for x, y in zip(jax.tree.leaves(alone[seed]), jax.tree.leaves(states[seed])):
      np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


def test_a_seed_of_a_population_resumes_alone(tmp_path):
  straight = train.train_and_evaluate(_config(seed=1), str(tmp_path / 'straight'))
  train.train_and_evaluate(_config('0,1', num_train_steps=3), str(tmp_path / 'pop'))
  resumed = train.train_and_evaluate(_config(seed=1), str(tmp_path / 'pop' / 'seed=1'))
  assert_states_identical(straight, resumed)


def test_a_seed_slot_in_the_workdir_names_each_seeds_workdir(tmp_path):
  # launch.sweep's names: a population of the points lr=1,seed=0 and lr=1,seed=1.
  states = train.train_and_evaluate(_config('0,1', num_train_steps=2),
                                    str(tmp_path / 'lr=1,seed={seed}'))
  assert sorted(os.listdir(tmp_path)) == ['lr=1,seed=0', 'lr=1,seed=1']
  for seed, state in zip((0, 1), states):
    with open(tmp_path / f'lr=1,seed={seed}' / 'config.json') as f:
      assert json.load(f)['seed'] == seed
    assert _records(tmp_path / f'lr=1,seed={seed}')[-1]['step'] == int(state.step) == 2
  population.check_workdir(str(tmp_path / 'seed={seed}'), _config('0,1'), 'train')
  for config, mode, fix in ((_config(), 'train', 'give --config.seeds=0,1,2'),
                            (_config('0,1'), 'eval', "evaluate each seed's workdir")):
    with pytest.raises(errors.ConfigError, match=r'--workdir=w/seed=\{seed\} has \{seed\}.*' + fix):
      population.check_workdir('w/seed={seed}', config, mode)


def test_bad_seeds_and_forms_are_one_line_errors(tmp_path):
  for seeds in ('0,0', 'a,b', '-1', ','):
    with pytest.raises(errors.ConfigError, match='must be distinct integers >= 0'):
      train.train_and_evaluate(_config(seeds), str(tmp_path / 'w'))
  with pytest.raises(errors.ConfigError, match="population_form='pmap' is unknown"):
    train.train_and_evaluate(_config('0,1', 'pmap'), str(tmp_path / 'w'))
  config = _config('0,1', 'vmap')
  config.data.placement = 'host'
  with pytest.raises(errors.ConfigError, match='population_form=vmap gathers'):
    train.train_and_evaluate(config, str(tmp_path / 'w'))
  assert not os.path.exists(tmp_path / 'w')
  assert population.parse_seeds((2, 0)) == [2, 0]


@pytest.mark.slow
def test_a_population_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path):
  def command(workdir, steps):
    return [sys.executable, '-m', 'gan_jax.main', '--config=tests/tiny_config.py',
            f'--workdir={workdir}', '--config.seeds=0,1', f'--config.num_train_steps={steps}',
            '--config.checkpoint_every_steps=50', '--config.log_every_steps=25',
            '--config.sample_every_steps=100000']
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  straight = subprocess.run(command(tmp_path / 'straight', 1000), cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False)
  assert straight.returncode == 0, straight.stderr[-3000:]
  workdir = tmp_path / 'killed'
  proc = subprocess.Popen(command(workdir, 1000), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  deadline = time.monotonic() + 240
  checkpoints = workdir / 'seed=1' / 'checkpoints'
  while time.monotonic() < deadline and not (
      checkpoints.exists() and any(n.isdigit() and int(n) >= 100 for n in os.listdir(checkpoints))):
    time.sleep(0.1)
  proc.send_signal(signal.SIGKILL)  # Mid-run, between checkpoints, no chance to save.
  proc.wait()
  assert proc.returncode == -signal.SIGKILL
  for seed in (0, 1):  # Killed before either seed ended.
    assert not (workdir / f'seed={seed}' / 'stop.json').exists()
  resumed = subprocess.run(command(workdir, 1000), cwd=ROOT, env=env, capture_output=True,
                           text=True, check=False)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert 'Resumed from the checkpoint at step' in resumed.stderr
  for seed in (0, 1):
    a, b = tmp_path / 'straight' / f'seed={seed}', workdir / f'seed={seed}'
    assert _records(a) == _records(b)
    # The checksums of every array of the final state: bit for bit.
    with open(a / 'checkpoints' / '1000' / 'checksums' / 'metadata') as f, open(
        b / 'checkpoints' / '1000' / 'checksums' / 'metadata') as g:
      assert json.load(f) == json.load(g)


def test_a_diverging_seed_stops_alone_and_the_others_finish(tmp_path, monkeypatch):
  from gan_jax import steps  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  real = steps.train_step

  def nan_for_seed_1(state, batches, rng, *, spec):  # Seed 1's rng is PRNGKey(1)'s split.
    new, metrics = real(state, batches, rng, spec=spec)
    poisoned = (state.step >= 3) & jnp.all(rng == jax.random.split(jax.random.PRNGKey(1), 3)[1])
    metrics['g_loss'] = jnp.where(poisoned, jnp.nan, metrics['g_loss'])
    return new, metrics

  monkeypatch.setattr(steps, 'train_step', nan_for_seed_1)
  alone = train.train_and_evaluate(_config(seed=0), str(tmp_path / 'alone0'))
  with pytest.raises(errors.NonFiniteLossError, match=r'^seed 1: g_loss became nan at step 4'):
    train.train_and_evaluate(_config('0,1', 'loop'), str(tmp_path / 'pop'))
  # Seed 0 trained to its end (8) as alone; seed 1 kept its last good checkpoint.
  with open(tmp_path / 'pop' / 'seed=0' / 'stop.json') as f:
    assert json.load(f)['step'] == 8
  assert _records(tmp_path / 'pop' / 'seed=0') == _records(tmp_path / 'alone0')
  assert not (tmp_path / 'pop' / 'seed=1' / 'stop.json').exists()
  del alone
