"""Signals outside the training loop: a Ctrl-C or SIGTERM at any moment of start-up, during
--mode=eval and in the launch tools ends the program with one line and 130 / 143, and leaves
nothing half-written. (In the loop: faults_recovery_test.py's Ctrl-C test.)"""
import os
import signal
import subprocess
import sys
import time

import pytest

import faults
from conftest import ROOT, uncached_env

pytestmark = pytest.mark.slow  # Processes started and signalled.


def _signalled(args, delay, signum, module='gan_jax.main', after_handler=False):
  """The command, sent signum `delay` seconds after it started, or (after_handler) after
  gan_jax.interrupts installed its handlers (SIGHUP's the last; Python catches SIGINT itself
  from its start): before that the interpreter itself is starting, a SIGTERM's default action
  kills it and a SIGINT is a KeyboardInterrupt in its imports (under load that took over 0.2 s)."""
  process = subprocess.Popen([sys.executable, '-m', module, *args], cwd=ROOT, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=uncached_env())
  if after_handler:
    deadline = time.monotonic() + 60
    while not _catches(process.pid, signal.SIGHUP) and time.monotonic() < deadline:
      time.sleep(0.005)
  time.sleep(delay)
  process.send_signal(signum)
  stdout, stderr = process.communicate(timeout=120)
  return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _catches(pid, signum) -> bool:
  """Whether the process has a handler for signum (/proc/PID/status, SigCgt)."""
  try:
    with open(f'/proc/{pid}/status') as f:
      caught = next(line for line in f if line.startswith('SigCgt:')).split()[1]
  except (OSError, StopIteration):
    return False
  return bool(int(caught, 16) >> (signum - 1) & 1)


@pytest.mark.parametrize('delay', [0.0, 0.2, 0.8, 1.5])  # After the handler: JAX still imports.
@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_start_up_stops_the_run_in_one_line(tmp_path, delay, signum):
  workdir = tmp_path / 'run'
  result = _signalled([f'--workdir={workdir}', *faults.CLI_RUN], delay, signum,
                      after_handler=True)
  if result.returncode == 128 + signum and 'stopped after step' in result.stderr:
    # It reached the loop: the step was checkpointed (the loop's own path).
    return
  line = faults.one_line(result, status=128 + signum)
  assert line.startswith('gan_jax: interrupted' if signum == signal.SIGINT else
                         'gan_jax: terminated (SIGTERM)'), line
  # Nothing half-written: no checkpoint directory in the making is left as a checkpoint.
  checkpoints = workdir / 'checkpoints'
  if checkpoints.exists():
    assert all(n.isdigit() or 'tmp' in n for n in os.listdir(checkpoints))


def test_sigterm_during_eval_is_one_line_and_what_was_scored_is_kept(tmp_path):
  workdir = tmp_path / 'run'
  subprocess.run([sys.executable, '-m', 'gan_jax.main', f'--workdir={workdir}',
                  '--config=tests/tiny_config.py'], cwd=ROOT, check=True, capture_output=True)
  # 100,000 Parzen centres per checkpoint: the evaluation is still running when the signal
  # comes (one that comes during start-up is acted on when the evaluation starts: the same line).
  result = _signalled([f'--workdir={workdir}', '--config=tests/tiny_config.py', '--mode=eval',
                       '--all_checkpoints', '--config.eval.num_samples=100000'], 3.0,
                      signal.SIGTERM)
  line = faults.one_line(result, status=143)
  assert line.startswith('gan_jax: terminated (SIGTERM); the evaluations finished so far')
  for name in os.listdir(workdir / 'eval') if (workdir / 'eval').exists() else []:
    assert not name.endswith('.tmp')


@pytest.mark.parametrize('module, args', [
    ('launch.reproduce', ['--table=gan_parzen', '--runlocal', '--row=GAN, MNIST']),
    ('launch.sweep', ['--config=experiments/digits_gan.py:runlocal', '--executor=local']),
])
def test_ctrl_c_of_a_launch_tool_is_one_line(tmp_path, module, args):
  result = _signalled([*args, f'--root={tmp_path / "root"}'], 4.0, signal.SIGINT, module=module)
  line = faults.one_line(result, status=130)
  assert line.startswith(f'{module}: interrupted'), line


@pytest.mark.parametrize('module, args', [
    ('gan_jax.summary', ['--config=experiments/cifar10_dfm.py']),
    ('gan_jax.evaluation.convert_inception_weights', ['--output=OUT']),
])
def test_ctrl_c_of_a_library_command_is_one_line_and_writes_nothing(tmp_path, module, args):
  # Both once ran to the end with exit 0: a library's import took the signal over, and the
  # command never asked whether one had come.
  out = tmp_path / 'weights.npz'
  result = _signalled([a.replace('OUT', str(out)) for a in args], 0.5, signal.SIGINT,
                      module=module)
  line = faults.one_line(result, status=130)
  assert line.startswith(f'{module}: interrupted'), line
  assert not result.stdout and not os.listdir(tmp_path)


def test_ctrl_c_in_a_get_config_that_never_returns_is_one_line(tmp_path):
  path = tmp_path / 'hangs.py'
  path.write_text('def get_config(arg=None):\n  while True:\n    pass\n')
  result = _signalled([f'--config={path}', f'--workdir={tmp_path / "run"}'], 3.0, signal.SIGINT)
  assert faults.one_line(result, status=130).startswith('gan_jax: interrupted')
  assert not os.path.exists(tmp_path / 'run')
