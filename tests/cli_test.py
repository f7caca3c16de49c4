"""`python -m gan_jax.main` as a user runs it: one-line errors, and SIGKILL-then-resume."""
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from conftest import ROOT, uncached_env
import processes


def run_main(*args, workdir, **kwargs):
  return processes.run('gan_jax.main', [f'--workdir={workdir}', *args], **kwargs)


def assert_one_line_error(result, *fragments):
  """Exit 1; the error is the last line of stderr, whole on that line; no traceback."""
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('gan_jax: error: '), result.stderr[-3000:]
  for fragment in fragments:
    assert fragment in last


@pytest.mark.parametrize('override, fragments', [
    ('--config.generator.widht=3', ('--config.generator.widht', "no key 'widht'")),
    ('--config.loss=maximin', ("config.loss='maximin'", 'non_saturating')),
    ('--config.batch_size=0', ('config.batch_size=0', 'positive')),
    ('--config.dfm.noise_std=0', ('config.dfm.noise_std=0', '> 0')),
    ('--config.discriminator.input_keep=1.5', ('input_keep=1.5', '(0, 1]')),
    ('--config.optimizer.lr_decay_factor=0.5', ('lr_decay_factor=0.5', '>= 1')),
    ('--config.batch_size=abc', ('--config.batch_size=abc',)),
])
def test_bad_config_is_one_line_and_writes_nothing(override, fragments, tmp_path):
  workdir = tmp_path / 'run'
  result = run_main('--config=tests/tiny_config.py', override, workdir=workdir)
  assert_one_line_error(result, *fragments)
  assert not workdir.exists()


def test_missing_config_file(tmp_path):
  result = run_main('--config=experiments/no_such_experiment.py', workdir=tmp_path / 'run')
  assert_one_line_error(result, 'no_such_experiment.py', 'No such file')


def test_dataset_not_available_offline(tmp_path):
  workdir = tmp_path / 'run'
  result = run_main('--config=experiments/mnist_gan.py:runlocal', '--config.data.source=tfds',
                    f'--config.data.data_dir={tmp_path / "tfds"}', workdir=workdir)
  assert_one_line_error(result, "tfds dataset 'mnist' is not prepared", 'config.data.manual_dir',
                        '--config.data.source=idx', 'launch.fetch_data mnist')
  assert not workdir.exists()


def test_mnist_idx_files_missing_name_the_fetch_command(tmp_path):
  workdir, empty = tmp_path / 'run', tmp_path / 'no_mnist_here'
  result = run_main('--config=experiments/mnist_gan.py:runlocal', '--config.data.source=idx',
                    f'--config.data.path={empty}', workdir=workdir)
  assert_one_line_error(result, 'train-images-idx3-ubyte',
                        f'python -m launch.fetch_data mnist --dir={empty}')
  assert not workdir.exists()


def test_diverging_run_stops_with_the_step(tmp_path):
  result = run_main('--config=tests/tiny_config.py', '--config.optimizer.learning_rate=1e30',
                    '--config.num_train_steps=20', '--config.log_every_steps=5',
                    workdir=tmp_path / 'run')
  assert_one_line_error(result, 'became nan at step', 'no checkpoint had been written')
  assert not os.listdir(tmp_path / 'run' / 'checkpoints')


def _final_state(workdir, step):
  return ocp.StandardCheckpointer().restore(os.path.join(workdir, 'checkpoints', str(step), 'state'))


@pytest.mark.slow
def test_sigkill_then_same_command_is_bit_identical(tmp_path):
  args = ['--config=experiments/digits_gan.py', '--config.num_train_steps=600',
          '--config.checkpoint_every_steps=100', '--config.log_every_steps=100',
          '--config.sample_every_steps=600']
  straight = tmp_path / 'straight'
  assert run_main(*args, workdir=straight).returncode == 0

  killed = tmp_path / 'killed'
  process = subprocess.Popen([sys.executable, '-m', 'gan_jax.main', f'--workdir={killed}', *args],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=uncached_env())
  deadline = time.monotonic() + 300
  while not (killed / 'checkpoints' / '200').is_dir() and time.monotonic() < deadline:
    assert process.poll() is None, 'the run ended before it could be killed'
    time.sleep(0.02)
  process.send_signal(signal.SIGKILL)
  process.wait()
  done = sorted(int(p) for p in os.listdir(killed / 'checkpoints') if p.isdigit())
  assert 200 in done and 600 not in done, done  # Killed mid-run.

  assert run_main(*args, workdir=killed).returncode == 0
  a, b = _final_state(straight, 600), _final_state(killed, 600)
  assert int(np.asarray(a['step'])) == 600
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_eval_mode_without_a_trained_run(tmp_path):
  result = run_main('--mode=eval', '--config=tests/tiny_config.py',
                    workdir=tmp_path / 'run')
  assert_one_line_error(result, 'no checkpoints in', 'train first')
