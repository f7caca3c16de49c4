"""Fault injection: what real clusters and careless hands do to a run, and the exact outcome of
each: the resumed state equal to an uninterrupted run's bit for bit, or one line on stderr, a
non-zero exit and files left as they were. WORKSPACE.md tabulates these outcomes."""
import contextlib
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gan_jax import errors
from gan_jax import evaluate
from gan_jax import lock
from gan_jax import train

from conftest import ROOT, assert_states_identical, small_config, write_idx


def _run(*args, module='gan_jax.main', **kwargs):
  return subprocess.run([sys.executable, '-m', module, *args], cwd=ROOT, capture_output=True,
                        text=True, check=False, **kwargs)


def _one_line(result, status=1):
  """The exit status, and the one line that is the whole of the error (returned)."""
  assert result.returncode == status, result.stderr[-3000:]
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  return result.stderr.strip().splitlines()[-1]


def _snapshot(directory):
  """Every file below `directory` with its bytes (to show nothing was touched)."""
  out = {}
  for path in glob.glob(os.path.join(directory, '**'), recursive=True, include_hidden=True):
    if os.path.isfile(path):
      with open(path, 'rb') as f:
        out[os.path.relpath(path, directory)] = f.read()
  return out


# ---------------------------------------------------------------- damaged checkpoints


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  """(its workdir, its final state): the uninterrupted 6-step run (checkpoints at 2, 4 and 6)
  every recovery must reproduce exactly. Tests damage copies of it."""
  workdir = str(tmp_path_factory.mktemp('straight') / 'run')
  return workdir, train.train_and_evaluate(small_config(), workdir)


@pytest.fixture
def straight(trained):
  return trained[1]


def _copy_of(trained, tmp_path) -> str:
  workdir = str(tmp_path / 'run')
  shutil.copytree(trained[0], workdir)
  return workdir


def _largest_array_file(step_dir):
  files = glob.glob(os.path.join(step_dir, 'state', 'ocdbt.process_0', 'd', '*'))
  return max(files, key=os.path.getsize)


def _truncate_array_file(step_dir):
  path = _largest_array_file(step_dir)
  with open(path, 'r+b') as f:
    f.truncate(os.path.getsize(path) // 2)


def _flip_bytes_in_array_files(step_dir):
  for path in glob.glob(os.path.join(step_dir, 'state', 'ocdbt.process_0', 'd', '*')):
    content = bytearray(open(path, 'rb').read())
    for i in range(len(content) // 3, len(content), max(len(content) // 7, 1)):
      content[i] ^= 0xFF
    open(path, 'wb').write(bytes(content))


def _garble_manifest(step_dir):
  with open(os.path.join(step_dir, 'state', 'manifest.ocdbt'), 'r+b') as f:
    f.seek(8)
    f.write(b'\x00garbage\x00')


def _invalid_data_position(step_dir):
  with open(os.path.join(step_dir, 'data', 'metadata'), 'w') as f:
    f.write('{"not json')


def _other_values_same_layout(step_dir):
  """Readable, well-formed arrays of the right model that are not what was saved (the silent
  corruption a byte flip inside raw data gives): another step's state files."""
  other = os.path.join(os.path.dirname(step_dir), '2', 'state')
  shutil.rmtree(os.path.join(step_dir, 'state'))
  shutil.copytree(other, os.path.join(step_dir, 'state'))


def _delete_state_metadata(step_dir):
  os.remove(os.path.join(step_dir, 'state', '_METADATA'))


def _delete_array_files(step_dir):
  shutil.rmtree(os.path.join(step_dir, 'state', 'ocdbt.process_0'))


DAMAGES = [_truncate_array_file, _flip_bytes_in_array_files, _garble_manifest,
           _invalid_data_position, _other_values_same_layout, _delete_state_metadata,
           _delete_array_files]


@pytest.mark.parametrize('damage', DAMAGES, ids=lambda f: f.__name__.strip('_'))
def test_damaged_newest_checkpoint_is_set_aside_and_the_run_resumes_exactly(
    damage, trained, straight, tmp_path, caplog):
  workdir = _copy_of(trained, tmp_path)
  damage(os.path.join(workdir, 'checkpoints', '6'))
  resumed = train.train_and_evaluate(small_config(), workdir)  # Falls back to 4, redoes 5-6.
  assert 'checkpoint at step 6 is ' in caplog.text and '6.corrupt' in caplog.text
  assert 'different model' not in caplog.text
  assert os.path.isdir(os.path.join(workdir, 'checkpoints', '6.corrupt'))  # Kept, not deleted.
  assert_states_identical(straight, resumed)


def test_a_checkpoint_without_checksums_is_restored_unverified(straight, tmp_path, caplog):
  """Checkpoints written before checksums existed (an older version) still resume."""
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(num_train_steps=4), workdir)
  shutil.rmtree(os.path.join(workdir, 'checkpoints', '4', 'checksums'))
  resumed = train.train_and_evaluate(small_config(), workdir)
  assert 'step 4' in caplog.text and 'no checksums' in caplog.text
  assert not glob.glob(os.path.join(workdir, 'checkpoints', '*.corrupt'))
  assert_states_identical(straight, resumed)


def test_eval_sets_a_damaged_checkpoint_aside_and_scores_the_others(tmp_path, caplog):
  config = small_config()
  config.eval.num_samples, config.eval.num_validation, config.eval.num_test = 100, 30, 30
  config.eval.num_reference = 100
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(config, workdir)
  _flip_bytes_in_array_files(os.path.join(workdir, 'checkpoints', '6'))
  summary = evaluate.evaluate(config, workdir, all_checkpoints=True)
  assert summary['evaluated_steps'] == [2, 4]
  assert os.path.isdir(os.path.join(workdir, 'checkpoints', '6.corrupt'))
  assert 'checkpoint at step 6 is ' in caplog.text


# ---------------------------------------------------------------- processes killed and stopped

_CLI_RUN = ['--config=experiments/digits_gan.py:runlocal', '--config.num_train_steps=300',
            '--config.checkpoint_every_steps=1', '--config.log_every_steps=50',
            '--config.sample_every_steps=300', '--config.keep_checkpoints=2']


def _checkpoint_state(workdir, step):
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  return ocp.StandardCheckpointer().restore(os.path.join(workdir, 'checkpoints', str(step), 'state'))


@pytest.mark.slow
def test_kill_9_at_random_moments_then_the_same_command_is_bit_identical(tmp_path):
  """Checkpoints every step, so many kills land while one is being written."""
  straight_dir, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
  assert _run(f'--workdir={straight_dir}', *_CLI_RUN).returncode == 0
  rng = random.Random(0)
  kills = 0
  for _ in range(5):
    process = subprocess.Popen([sys.executable, '-m', 'gan_jax.main', f'--workdir={killed}',
                                *_CLI_RUN], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not glob.glob(os.path.join(killed, 'checkpoints', '[0-9]*')) and (
        time.monotonic() < deadline) and process.poll() is None:
      time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 1.5))  # Into training: checkpoints are being written.
    if process.poll() is None:
      process.send_signal(signal.SIGKILL)
      kills += 1
    process.wait()
  assert kills >= 3
  assert _run(f'--workdir={killed}', *_CLI_RUN).returncode == 0
  a, b = _checkpoint_state(straight_dir, 300), _checkpoint_state(killed, 300)
  import jax  # pylint: disable=g-import-not-at-top
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.slow
def test_ctrl_c_checkpoints_the_step_reached_and_exits_130(tmp_path):
  workdir = tmp_path / 'run'
  args = [f'--workdir={workdir}', *_CLI_RUN[:2], '--config.num_train_steps=100000',
          '--config.checkpoint_every_steps=100000', '--config.log_every_steps=20']
  process = subprocess.Popen([sys.executable, '-m', 'gan_jax.main', *args], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  deadline = time.monotonic() + 120
  while not (workdir / 'metrics.jsonl').exists() or not (workdir / 'metrics.jsonl').read_text():
    assert process.poll() is None and time.monotonic() < deadline, 'the run did not start'
    time.sleep(0.05)
  process.send_signal(signal.SIGINT)
  _, stderr = process.communicate(timeout=120)
  assert process.returncode == 130, stderr[-2000:]
  assert 'Traceback' not in stderr and 'KeyboardInterrupt' not in stderr
  line = stderr.strip().splitlines()[-1]
  assert line.startswith('gan_jax: interrupted') and 'run the same command to resume' in line
  steps = [int(p) for p in os.listdir(workdir / 'checkpoints') if p.isdigit()]
  assert len(steps) == 1 and steps[0] >= 20 and f'step {steps[0]}' in line


# ---------------------------------------------------------------- two runs, one workdir


def test_a_second_run_on_a_workdir_in_use_is_refused_naming_the_holder(tmp_path):
  workdir = tmp_path / 'run'
  assert _run(f'--workdir={workdir}', *_CLI_RUN[:2], '--config.num_train_steps=2').returncode == 0
  before = _snapshot(workdir)
  with lock.WorkdirLock(str(workdir)):  # Another run holds it.
    result = _run(f'--workdir={workdir}', *_CLI_RUN[:2], '--config.num_train_steps=4')
    line = _one_line(result)
    assert f'PID {os.getpid()} on host' in line and 'in use by another run' in line
    after = _snapshot(workdir)
  del before[lock.LOCK_FILE], after[lock.LOCK_FILE]  # The holder's own record.
  assert after == before


def test_a_lock_left_by_a_dead_run_does_not_block(tmp_path):
  workdir = tmp_path / 'run'
  workdir.mkdir()
  (workdir / lock.LOCK_FILE).write_text(json.dumps({'pid': 999999, 'host': 'gone'}))
  state = train.train_and_evaluate(small_config(num_train_steps=2), str(workdir))
  assert int(state.step) == 2


def test_the_lock_names_its_holder_and_is_released(tmp_path):
  with lock.WorkdirLock(str(tmp_path)):
    with pytest.raises(errors.WorkdirError, match=f'PID {os.getpid()} on host'):
      with lock.WorkdirLock(str(tmp_path)):
        pass
  with lock.WorkdirLock(str(tmp_path)):  # Free again.
    pass


# ---------------------------------------------------------------- storage faults (root: tmpfs)


@contextlib.contextmanager
def _tmpfs(path, size):
  if os.geteuid() != 0 or not shutil.which('mount'):
    pytest.skip('needs root to mount a small tmpfs')
  os.makedirs(path, exist_ok=True)
  if subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(path)],
                    capture_output=True, check=False).returncode != 0:
    pytest.skip('mount -t tmpfs is not permitted here')
  try:
    yield path
  finally:
    subprocess.run(['umount', '-l', str(path)], check=False)


def test_disk_full_while_checkpointing_is_one_line_and_the_run_resumes_once_freed(tmp_path):
  with _tmpfs(tmp_path / 'small', '40m') as disk:  # A checkpoint is ~5 MB.
    workdir = disk / 'run'
    args = [f'--workdir={workdir}', '--config=experiments/digits_gan.py',
            '--config.num_train_steps=40', '--config.checkpoint_every_steps=10',
            '--config.keep_checkpoints=100', '--config.log_every_steps=10',
            '--config.sample_every_steps=1000']
    filler = disk / 'filler'
    result = _run(*args, '--config.num_train_steps=10')
    assert result.returncode == 0, result.stderr[-2000:]
    free = shutil.disk_usage(disk).free
    with open(filler, 'wb') as f:  # Leave less than one checkpoint's worth.
      f.write(b'\0' * max(free - 200_000, 0))
    line = _one_line(_run(*args))
    assert 'No space left on device' in line or 'disk is full' in line
    assert sorted(int(p) for p in os.listdir(workdir / 'checkpoints') if p.isdigit()) == [10]
    os.remove(filler)
    assert _run(*args).returncode == 0
    assert 40 in [int(p) for p in os.listdir(workdir / 'checkpoints') if p.isdigit()]


def test_read_only_workdir_is_one_line_and_untouched(tmp_path):
  with _tmpfs(tmp_path / 'ro', '20m') as disk:
    workdir = disk / 'run'
    assert _run(f'--workdir={workdir}', *_CLI_RUN[:2], '--config.num_train_steps=2').returncode == 0
    before = _snapshot(workdir)
    subprocess.run(['mount', '-o', 'remount,ro', str(disk)], check=True)
    line = _one_line(_run(f'--workdir={workdir}', *_CLI_RUN[:2], '--config.num_train_steps=4'))
    assert 'Read-only file system' in line and str(workdir) in line
    assert _snapshot(workdir) == before


# ---------------------------------------------------------------- careless input: one line each


def _not_gzip(directory):
  write_idx(os.path.join(directory, 'train-images-idx3-ubyte'), np.zeros((30, 28, 28)))
  write_idx(os.path.join(directory, 't10k-images-idx3-ubyte'), np.zeros((10, 28, 28)))
  os.rename(os.path.join(directory, 'train-images-idx3-ubyte'),
            os.path.join(directory, 'train-images-idx3-ubyte.gz'))  # Named .gz, not gzip.
  return 'is not a gzip file'


def _truncated_gzip(directory):
  path = os.path.join(directory, 'train-images-idx3-ubyte.gz')
  write_idx(path, np.zeros((30, 28, 28)))
  with open(path, 'r+b') as f:
    f.truncate(os.path.getsize(path) // 2)
  return 'truncated'


@pytest.mark.parametrize('make', [_not_gzip, _truncated_gzip], ids=['not_gzip', 'truncated'])
def test_unreadable_idx_files_are_one_line(make, tmp_path):
  data_dir = tmp_path / 'data'
  data_dir.mkdir()
  expected = make(str(data_dir))
  line = _one_line(_run(f'--workdir={tmp_path / "run"}', '--config=experiments/mnist_gan.py:runlocal',
                        f'--config.data.path={data_dir}'))
  assert expected in line and 'train-images-idx3-ubyte.gz' in line
  assert not (tmp_path / 'run').exists()


def test_corrupt_tfds_dataset_info_is_one_line(tmp_path):
  data_dir = tmp_path / 'tfds'
  version_dir = data_dir / 'mnist' / '3.0.1'
  version_dir.mkdir(parents=True)
  (version_dir / 'dataset_info.json').write_text('{"name": "mnist", ')
  line = _one_line(_run(f'--workdir={tmp_path / "run"}', '--config=experiments/mnist_gan.py:runlocal',
                        '--config.data.source=tfds', f'--config.data.data_dir={data_dir}'))
  assert 'mnist' in line and str(data_dir) in line
  assert not (tmp_path / 'run').exists()


@pytest.mark.parametrize('workdir_kind', ['file', 'empty'])
def test_a_workdir_that_is_a_file_or_empty_is_one_line(workdir_kind, tmp_path):
  path = tmp_path / 'a_file'
  path.write_text('mine')
  workdir = str(path) if workdir_kind == 'file' else ''
  line = _one_line(_run(f'--workdir={workdir}', *_CLI_RUN[:2]))
  assert ('is a file' in line) if workdir_kind == 'file' else ('--workdir is empty' in line)
  assert path.read_text() == 'mine'


def test_invalid_config_json_is_one_line_and_untouched(tmp_path):
  workdir = tmp_path / 'run'
  assert _run(f'--workdir={workdir}', *_CLI_RUN[:2], '--config.num_train_steps=2').returncode == 0
  (workdir / 'config.json').write_text('{"seed": 0,')
  before = _snapshot(workdir)
  line = _one_line(_run(f'--workdir={workdir}', *_CLI_RUN[:2], '--config.num_train_steps=4'))
  assert 'config.json' in line and 'not valid JSON' in line
  assert _snapshot(workdir) == before


def test_checkpoints_without_config_json_are_refused(tmp_path):
  workdir = tmp_path / 'run'
  assert _run(f'--workdir={workdir}', *_CLI_RUN[:2], '--config.num_train_steps=2').returncode == 0
  os.remove(workdir / 'config.json')
  before = _snapshot(workdir)
  line = _one_line(_run(f'--workdir={workdir}', *_CLI_RUN[:2], '--config.num_train_steps=4'))
  assert 'checkpoints but no config.json' in line
  assert _snapshot(workdir) == before


def test_config_file_with_a_syntax_error_is_one_line(tmp_path):
  broken = tmp_path / 'broken.py'
  broken.write_text('def get_config(:\n  pass\n')
  line = _one_line(_run(f'--workdir={tmp_path / "run"}', f'--config={broken}'))
  assert 'broken.py' in line and 'SyntaxError' in line
  assert not (tmp_path / 'run').exists()


def test_an_unknown_experiment_argument_is_refused_listing_the_valid_ones(tmp_path):
  line = _one_line(_run(f'--workdir={tmp_path / "run"}', '--config=experiments/digits_gan.py:runlocl'))
  assert "'runlocl'" in line and 'runlocal' in line
  assert not (tmp_path / 'run').exists()


def test_a_model_too_large_for_the_machine_is_refused_before_allocating(tmp_path):
  line = _one_line(_run(f'--workdir={tmp_path / "run"}', '--config=experiments/digits_gan.py',
                        '--config.noise.dim=10000000000'), status=1)
  assert 'GiB' in line and 'parameters' in line and 'memory' in line
  assert not (tmp_path / 'run').exists()


def test_an_exploding_loss_stops_the_run(tmp_path, monkeypatch):
  from gan_jax import steps  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  real_step = steps.train_step

  def explode_from_step_3(state, batches, rng, *, spec):
    new_state, metrics = real_step(state, batches, rng, spec=spec)
    metrics['d_loss'] = jnp.where(state.step >= 2, 1e30, metrics['d_loss'])
    return new_state, metrics

  monkeypatch.setattr(steps, 'train_step', explode_from_step_3)
  config = small_config(num_train_steps=6)
  with pytest.raises(errors.DivergenceError) as info:
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert 'd_loss reached 1e+30 at step 3' in str(info.value)
  assert 'config.max_abs_loss' in str(info.value)
  config.max_abs_loss = 0.0  # Off: the same run finishes.
  assert int(train.train_and_evaluate(config, str(tmp_path / 'off')).step) == 6


@pytest.mark.parametrize('module', ['launch.sweep', 'launch.reproduce'])
def test_launch_refuses_an_empty_root(module, tmp_path):
  args = (['--config=experiments/toy_ring_dfm.py', '--executor=print'] if module == 'launch.sweep'
          else ['--table=gan_parzen', '--runlocal'])
  result = _run(*args, '--root=', module=module)
  assert result.returncode != 0 and 'Traceback' not in result.stderr
  assert '--root is empty' in result.stderr.strip().splitlines()[-1]
