"""Helpers of the fault-injection tests (faults_recovery_test.py, faults_input_test.py)."""
import glob
import os

import processes


def run(*args, module='gan_jax.main', **kwargs):
  return processes.run(module, args, **kwargs)


def one_line(result, status=1):
  """The exit status, and the one line that is the whole of the error (returned)."""
  assert result.returncode == status, result.stderr[-3000:]
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  return result.stderr.strip().splitlines()[-1]


def snapshot(directory):
  """Every file below `directory` with its bytes (to show nothing was touched)."""
  out = {}
  for path in glob.glob(os.path.join(directory, '**'), recursive=True, include_hidden=True):
    if os.path.isfile(path):
      with open(path, 'rb') as f:
        out[os.path.relpath(path, directory)] = f.read()
  return out


# A tiny run from the command line: 300 steps, a checkpoint every step (two kept).
CLI_RUN = ['--config=tests/tiny_config.py', '--config.num_train_steps=300',
           '--config.checkpoint_every_steps=1', '--config.log_every_steps=50',
           '--config.sample_every_steps=300', '--config.keep_checkpoints=2']
