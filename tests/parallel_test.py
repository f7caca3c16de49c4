"""Data parallelism: 8 devices train exactly as 1 does; two processes as one; SIGTERM checkpoints.

Each run is a fresh Python process (the device count is fixed when jax starts): `_DRIVER` trains
an experiment with overrides (on tfds mock data for tfds sources) and saves the final state's
leaves, which the test compares.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT, uncached_env

_DRIVER = r'''
import contextlib, importlib, json, sys
import numpy as np
args = json.loads(sys.argv[1])
from gan_jax import parallel
if args.get('process_id') is not None:
  parallel.initialize(args['coordinator'], 2, args['process_id'])
import jax
import tensorflow_datasets as tfds
from gan_jax import state as state_lib
from gan_jax import train
config = importlib.import_module('experiments.' + args['experiment']).get_config('runlocal')
for key, value in args['overrides'].items():
  node = config
  *path, last = key.split('.')
  for part in path:
    node = node[part]
  node[last] = value
mock = (tfds.testing.mock_data(num_examples=64) if config.data.source == 'tfds'
        else contextlib.nullcontext())
with mock:
  state = train.train_and_evaluate(config, args['workdir'])
  from gan_jax import data, steps
  dataset = data.get_dataset(config.data, 'train', batch_size=config.batch_size)
  initial = state_lib.create_train_state(config, dataset, steps.StepSpec.from_config(config),
                                     jax.random.split(jax.random.PRNGKey(config.seed), 3)[0])
leaves = jax.tree_util.tree_leaves_with_path({'final': state, 'initial': initial})
np.savez(args['out'], **{jax.tree_util.keystr(k): np.asarray(v) for k, v in leaves})
print('devices', jax.device_count(), 'processes', jax.process_count())
'''


def _command(tmp_path, name, experiment, overrides, **extra):
  args = dict(experiment=experiment, overrides=overrides, workdir=str(tmp_path / name),
              out=str(tmp_path / f'{name}.npz'), **extra)
  return [sys.executable, '-c', _DRIVER, json.dumps(args)]


def _env(num_devices):
  env = dict(os.environ, XLA_FLAGS=f'--xla_force_host_platform_device_count={num_devices}',
             JAX_PLATFORMS='cpu')
  return env


def _train(tmp_path, name, experiment, overrides, num_devices):
  out = subprocess.run(_command(tmp_path, name, experiment, overrides), cwd=ROOT,
                       env=_env(num_devices), capture_output=True, text=True, check=False)
  assert out.returncode == 0, out.stderr[-3000:]
  assert f'devices {num_devices} processes 1' in out.stdout
  return _load(tmp_path / f'{name}.npz')


def _load(path):
  with np.load(path, allow_pickle=False) as f:
    return {k: f[k] for k in f.files}


def _assert_same_training(a, b, atol):
  assert a.keys() == b.keys()
  params = [k for k in a if 'params' in k]
  assert params
  for key in a:
    np.testing.assert_allclose(a[key], b[key], atol=atol, rtol=0, err_msg=key)


# The MLP GAN with dropout off: dropout masks are drawn per device by design (the device index
# folded into the key), so with dropout on, 8 devices and 1 give equally valid, different runs.
MLP = ('digits_gan', {'batch_size': 16, 'num_train_steps': 4, 'checkpoint_every_steps': 2,
                      'discriminator.input_keep': 1.0, 'discriminator.hidden_keep': 1.0})
DFM = ('cifar10_dfm', {'batch_size': 16, 'num_train_steps': 3, 'checkpoint_every_steps': 3})


@pytest.mark.slow
@pytest.mark.parametrize('experiment,overrides', [MLP, DFM], ids=['mlp_gan', 'radford_dfm'])
def test_eight_devices_train_as_one(tmp_path, experiment, overrides):
  one = _train(tmp_path, 'one', experiment, overrides, num_devices=1)
  eight = _train(tmp_path, 'eight', experiment, overrides, num_devices=8)
  _assert_same_training(one, eight, atol=1e-5)
  # Training moved every network: the comparison is not between two copies of the initial state.
  for network in ('generator', 'discriminator') + (('denoiser',) if experiment == DFM[0] else ()):
    final = [k for k in one if k.startswith(f"['final'].{network}.params")]
    assert final and any(not np.array_equal(one[k], one[k.replace("['final']", "['initial']")])
                         for k in final), network


def test_batch_not_divisible_by_devices_is_one_line_error(tmp_path):
  out = subprocess.run(
      [sys.executable, '-m', 'gan_jax.main', '--config=tests/tiny_config.py',
       f'--workdir={tmp_path / "w"}', '--config.batch_size=12'],
      cwd=ROOT, env=_env(8), capture_output=True, text=True, check=False)
  assert out.returncode == 1
  assert out.stderr.strip().splitlines()[-1] == (
      'gan_jax: error: config.batch_size=12 must be divisible by the 8 devices (1 process(es) x '
      '8) it is split over')
  assert not os.path.exists(tmp_path / 'w')


def _free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_train_as_one(tmp_path):
  experiment, overrides = MLP
  single = _train(tmp_path, 'single', experiment, overrides, num_devices=2)
  coordinator = f'127.0.0.1:{_free_port()}'
  procs = [subprocess.Popen(
      _command(tmp_path, f'multi_{i}', experiment, overrides, coordinator=coordinator,
               process_id=i),
      cwd=ROOT, env=uncached_env(_env(1)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True)
      for i in range(2)]
  # Both processes train in one workdir, as on a pod with a shared filesystem.
  outputs = [p.communicate(timeout=300) for p in procs]
  for p, (stdout, stderr) in zip(procs, outputs):
    assert p.returncode == 0, stderr[-3000:]
    assert 'devices 2 processes 2' in stdout
  first, second = (_load(tmp_path / f'multi_{i}.npz') for i in range(2))
  _assert_same_training(first, second, atol=0)  # Every process holds the same state.
  _assert_same_training(single, first, atol=1e-5)  # 2 processes x 1 device = 1 x 2 devices.


@pytest.mark.slow
def test_sigterm_checkpoints_and_the_same_command_resumes(tmp_path):
  workdir = tmp_path / 'run'
  command = [sys.executable, '-m', 'gan_jax.main', '--config=tests/tiny_config.py',
             f'--workdir={workdir}', '--config.num_train_steps=100000',
             '--config.checkpoint_every_steps=100000', '--config.log_every_steps=50',
             '--config.sample_every_steps=100000']
  proc = subprocess.Popen(command, cwd=ROOT, env=_env(1), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
  metrics = workdir / 'metrics.jsonl'
  deadline = time.monotonic() + 120
  while not (metrics.exists() and metrics.stat().st_size) and time.monotonic() < deadline:
    time.sleep(0.2)  # Wait until training is under way.
  proc.send_signal(signal.SIGTERM)
  _, stderr = proc.communicate(timeout=120)
  assert proc.returncode == 143, stderr[-3000:]  # 128 + SIGTERM: not a finished run.
  assert stderr.strip().splitlines()[-1].startswith('gan_jax: preempted: stopped after step')
  steps = sorted(int(s) for s in os.listdir(workdir / 'checkpoints') if s.isdigit())
  assert len(steps) == 1 and 50 < steps[0] < 100000  # No regular checkpoint was due.

  # The same command resumes from that step (here told to stop soon after).
  resumed = subprocess.run(command[:-4] + [f'--config.num_train_steps={steps[0] + 3}',
                                           '--config.checkpoint_every_steps=100000',
                                           '--config.log_every_steps=1',
                                           '--config.sample_every_steps=100000'],
                           cwd=ROOT, env=_env(1), capture_output=True, text=True, check=False)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f'Resumed from the checkpoint at step {steps[0]}' in resumed.stderr
  with open(workdir / 'metrics.jsonl') as f:
    logged = [json.loads(line)['step'] for line in f]
  assert logged[-3:] == [steps[0] + 1, steps[0] + 2, steps[0] + 3]


def _two_processes(workdir, num_train_steps=100000, *flags):
  """`gan_jax.main` on tests/tiny_config.py as two processes of one run (one device each)."""
  coordinator = f'127.0.0.1:{_free_port()}'
  command = [sys.executable, '-m', 'gan_jax.main', '--config=tests/tiny_config.py',
             f'--workdir={workdir}', f'--config.num_train_steps={num_train_steps}',
             '--config.checkpoint_every_steps=100000', '--config.log_every_steps=50',
             '--config.sample_every_steps=100000', f'--coordinator_address={coordinator}',
             '--num_processes=2', *flags]
  return [subprocess.Popen(command + [f'--process_id={i}'], cwd=ROOT, env=uncached_env(_env(1)),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
          for i in range(2)]


def _wait_until_training(workdir, procs):
  metrics = workdir / 'metrics.jsonl'
  deadline = time.monotonic() + 120
  while not (metrics.exists() and metrics.stat().st_size) and time.monotonic() < deadline:
    assert all(p.poll() is None for p in procs), [p.communicate()[1][-2000:] for p in procs]
    time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_one_process_stops_every_process_at_one_step_with_its_checkpoint(
    tmp_path, signum):
  """Ctrl-C or SIGHUP to process 1 alone: both checkpoint the same step and exit with the
  signal's status (before: process 1 left at once, process 0 aborted after ~90 s); the same
  command on both resumes from that step."""
  workdir = tmp_path / 'run'
  procs = _two_processes(workdir)
  _wait_until_training(workdir, procs)
  procs[1].send_signal(signum)
  outputs = [p.communicate(timeout=60)[1] for p in procs]
  lasts = [stderr.strip().splitlines()[-1] for stderr in outputs]
  assert [p.returncode for p in procs] == [128 + signum] * 2, lasts
  assert lasts[0] == lasts[1] and 'stopped after step' in lasts[0], lasts
  stopped = int(lasts[0].split('stopped after step ')[1].split()[0])
  assert os.listdir(workdir / 'checkpoints') == [str(stopped)]

  procs = _two_processes(workdir, num_train_steps=stopped + 100)
  outputs = [p.communicate(timeout=120)[1] for p in procs]
  assert [p.returncode for p in procs] == [0, 0], [o[-2000:] for o in outputs]
  assert f'Resumed from the checkpoint at step {stopped}' in outputs[0]
  with open(workdir / 'metrics.jsonl') as f:
    assert json.loads(f.readlines()[-1])['step'] == stopped + 100


@pytest.mark.slow
def test_a_killed_process_ends_the_other_in_seconds_with_one_line(tmp_path):
  """kill -9 of process 1: process 0 ends with one line and exit 1 within seconds (before: a Gloo
  traceback, ~90 s in jax.distributed.shutdown, then SIGABRT with a C++ stack)."""
  workdir = tmp_path / 'run'
  procs = _two_processes(workdir)
  _wait_until_training(workdir, procs)
  procs[1].kill()
  start = time.monotonic()
  _, stderr = procs[0].communicate(timeout=120)
  assert time.monotonic() - start < 30
  assert procs[0].returncode == 1, stderr[-3000:]
  last = stderr.strip().splitlines()[-1]
  assert last.startswith('gan_jax: error: process 0 lost another process of the run ('), last
  assert 'Traceback' not in stderr
  procs[1].communicate()


@pytest.mark.slow
def test_a_frozen_process_ends_the_other_within_half_the_heartbeat_timeout_in_one_line(tmp_path):
  """SIGSTOP of process 1 (a host gone without closing its connections): process 0 ends with
  one line and exit 1 once process 1's counter has not risen for half the heartbeat timeout
  (before: jax's coordination service aborted it at the timeout, a C++ log and exit 134)."""
  workdir = tmp_path / 'run'
  procs = _two_processes(workdir, 100000, '--heartbeat_timeout_seconds=10')
  _wait_until_training(workdir, procs)
  procs[1].send_signal(signal.SIGSTOP)
  start = time.monotonic()
  try:
    _, stderr = procs[0].communicate(timeout=120)
  finally:
    procs[1].send_signal(signal.SIGCONT)
    procs[1].kill()
    procs[1].communicate()
  assert time.monotonic() - start < 10  # Within the 10 s after which jax would abort it.
  assert procs[0].returncode == 1, stderr[-3000:]
  assert stderr.strip().splitlines()[-1].startswith(
      'gan_jax: error: process 0 lost another process of the run (process 1 showed no sign of '
      'life for 5 s')


def test_only_a_runtime_error_of_a_lost_process_is_called_one(monkeypatch):
  import jax  # pylint: disable=g-import-not-at-top
  from gan_jax import errors, parallel  # pylint: disable=g-import-not-at-top
  gloo = jax.errors.JaxRuntimeError('UNKNOWN: Gloo all-reduce failed: [pair.cc:538] Read error '
                                    '[127.0.0.1]:50850: Connection reset by peer')
  assert parallel.lost_peer(gloo) is None  # One process: nothing to lose.
  monkeypatch.setattr(jax, 'process_count', lambda: 2)
  lost = parallel.lost_peer(gloo)
  assert isinstance(lost, errors.PeerLostError)
  assert str(lost).startswith('process 0 lost another process of the run (UNKNOWN: Gloo all-red')
  out_of_memory = jax.errors.JaxRuntimeError('RESOURCE_EXHAUSTED: Gloo out of memory')
  assert parallel.lost_peer(out_of_memory) is None
  assert parallel.lost_peer(jax.errors.JaxRuntimeError('INVALID_ARGUMENT: shapes')) is None
  assert parallel.lost_peer(ValueError('Connection reset')) is None
