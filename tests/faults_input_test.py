"""Fault injection, input and storage: two runs on one workdir, a full or read-only disk, careless
input. Each test asserts one line on stderr, a non-zero exit and files left as they were
(WORKSPACE.md has the table of faults and outcomes)."""
import contextlib
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from gan_jax import errors
from gan_jax import lock
from gan_jax import train

import faults
from conftest import small_config, write_idx


# ---------------------------------------------------------------- two runs, one workdir


def test_a_second_run_on_a_workdir_in_use_is_refused_naming_the_holder(tmp_path):
  workdir = tmp_path / 'run'
  train.train_and_evaluate(small_config(num_train_steps=2), str(workdir))  # The CLI's config.
  before = faults.snapshot(workdir)
  with lock.WorkdirLock(str(workdir)):  # Another run holds it.
    result = faults.run(f'--workdir={workdir}', *faults.CLI_RUN[:2], '--config.num_train_steps=4')
    line = faults.one_line(result)
    assert f'PID {os.getpid()} on host' in line and 'in use by another run' in line
    after = faults.snapshot(workdir)
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


@pytest.mark.slow
def test_disk_full_while_checkpointing_is_one_line_and_the_run_resumes_once_freed(tmp_path):
  with _tmpfs(tmp_path / 'small', '40m') as disk:  # A checkpoint is ~5 MB.
    workdir = disk / 'run'
    args = [f'--workdir={workdir}', '--config=experiments/digits_gan.py',
            '--config.num_train_steps=40', '--config.checkpoint_every_steps=10',
            '--config.keep_checkpoints=100', '--config.log_every_steps=10',
            '--config.sample_every_steps=1000']
    filler = disk / 'filler'
    result = faults.run(*args, '--config.num_train_steps=10')
    assert result.returncode == 0, result.stderr[-2000:]
    free = shutil.disk_usage(disk).free
    with open(filler, 'wb') as f:  # Leave less than one checkpoint's worth.
      f.write(b'\0' * max(free - 200_000, 0))
    line = faults.one_line(faults.run(*args))
    assert 'No space left on device' in line or 'disk is full' in line
    assert sorted(int(p) for p in os.listdir(workdir / 'checkpoints') if p.isdigit()) == [10]
    os.remove(filler)
    assert faults.run(*args).returncode == 0
    assert 40 in [int(p) for p in os.listdir(workdir / 'checkpoints') if p.isdigit()]


def test_read_only_workdir_is_one_line_and_untouched(tmp_path):
  with _tmpfs(tmp_path / 'ro', '20m') as disk:
    workdir = disk / 'run'
    train.train_and_evaluate(small_config(num_train_steps=2), str(workdir))  # The CLI's config.
    before = faults.snapshot(workdir)
    subprocess.run(['mount', '-o', 'remount,ro', str(disk)], check=True)
    line = faults.one_line(faults.run(f'--workdir={workdir}', *faults.CLI_RUN[:2], '--config.num_train_steps=4'))
    assert 'Read-only file system' in line and str(workdir) in line
    assert faults.snapshot(workdir) == before


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
  line = faults.one_line(faults.run(f'--workdir={tmp_path / "run"}', '--config=experiments/mnist_gan.py:runlocal',
                        f'--config.data.path={data_dir}'))
  assert expected in line and 'train-images-idx3-ubyte.gz' in line
  assert not (tmp_path / 'run').exists()


def test_corrupt_tfds_dataset_info_is_one_line(tmp_path):
  data_dir = tmp_path / 'tfds'
  version_dir = data_dir / 'mnist' / '3.0.1'
  version_dir.mkdir(parents=True)
  (version_dir / 'dataset_info.json').write_text('{"name": "mnist", ')
  line = faults.one_line(faults.run(f'--workdir={tmp_path / "run"}', '--config=experiments/mnist_gan.py:runlocal',
                        '--config.data.source=tfds', f'--config.data.data_dir={data_dir}'))
  assert 'mnist' in line and str(data_dir) in line
  assert not (tmp_path / 'run').exists()


@pytest.mark.parametrize('workdir_kind', ['file', 'empty'])
def test_a_workdir_that_is_a_file_or_empty_is_one_line(workdir_kind, tmp_path):
  path = tmp_path / 'a_file'
  path.write_text('mine')
  workdir = str(path) if workdir_kind == 'file' else ''
  line = faults.one_line(faults.run(f'--workdir={workdir}', *faults.CLI_RUN[:2]))
  assert ('is a file' in line) if workdir_kind == 'file' else ('--workdir is empty' in line)
  assert path.read_text() == 'mine'


@pytest.mark.parametrize('name, mode', [('samples', 'train'), ('eval', 'eval'),
                                        ('metrics.jsonl', 'train')])
def test_a_workdir_entry_of_the_wrong_kind_is_one_line_before_any_work(name, mode, tmp_path):
  # samples/ as a file failed the run at its first sample, after an interval of training that
  # was lost; eval/ as a file, after the first evaluation.
  workdir = tmp_path / 'run'
  train.train_and_evaluate(small_config(num_train_steps=2), str(workdir))  # The CLI's config.
  path = workdir / name
  shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
  if name.endswith('.jsonl'):
    path.mkdir()
  else:
    path.write_text('mine')
  before = faults.snapshot(workdir)
  result = faults.run(f'--workdir={workdir}', *faults.CLI_RUN[:2], '--config.num_train_steps=4',
                      f'--mode={mode}')
  line = faults.one_line(result)
  assert f'{path} is a {"directory" if path.is_dir() else "file"}, where the run keeps' in line
  assert faults.snapshot(workdir) == before


def test_invalid_config_json_is_one_line_and_untouched(tmp_path):
  workdir = tmp_path / 'run'
  train.train_and_evaluate(small_config(num_train_steps=2), str(workdir))  # The CLI's config.
  (workdir / 'config.json').write_text('{"seed": 0,')
  before = faults.snapshot(workdir)
  line = faults.one_line(faults.run(f'--workdir={workdir}', *faults.CLI_RUN[:2], '--config.num_train_steps=4'))
  assert 'config.json' in line and 'not valid JSON' in line
  assert faults.snapshot(workdir) == before


def test_checkpoints_without_config_json_are_refused(tmp_path):
  workdir = tmp_path / 'run'
  train.train_and_evaluate(small_config(num_train_steps=2), str(workdir))  # The CLI's config.
  os.remove(workdir / 'config.json')
  before = faults.snapshot(workdir)
  line = faults.one_line(faults.run(f'--workdir={workdir}', *faults.CLI_RUN[:2], '--config.num_train_steps=4'))
  assert 'checkpoints but no config.json' in line
  assert faults.snapshot(workdir) == before


def test_config_file_with_a_syntax_error_is_one_line(tmp_path):
  broken = tmp_path / 'broken.py'
  broken.write_text('def get_config(:\n  pass\n')
  line = faults.one_line(faults.run(f'--workdir={tmp_path / "run"}', f'--config={broken}'))
  assert 'broken.py' in line and 'SyntaxError' in line
  assert not (tmp_path / 'run').exists()


def test_an_unknown_experiment_argument_is_refused_listing_the_valid_ones(tmp_path):
  line = faults.one_line(faults.run(f'--workdir={tmp_path / "run"}', '--config=experiments/digits_gan.py:runlocl'))
  assert "'runlocl'" in line and 'runlocal' in line
  assert not (tmp_path / 'run').exists()


def test_a_model_too_large_for_the_machine_is_refused_before_allocating(tmp_path):
  line = faults.one_line(faults.run(f'--workdir={tmp_path / "run"}', '--config=experiments/digits_gan.py',
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
  result = faults.run(*args, '--root=', module=module)
  assert result.returncode != 0 and 'Traceback' not in result.stderr
  assert '--root is empty' in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize('module, args, expected', [
    ('launch.sweep', ['--config=experiments/toy_ring_dfm.py', '--root={file}'],
     'launch.sweep: error: --root={file} is a file, not a directory'),
    ('launch.reproduce', ['--table=gan_parzen', '--root={file}'],
     'launch.reproduce: error: --root={file} is a file, not a directory'),
    ('launch.reproduce', ['--table=gan_parzen', '--root={dir}', '--output={dir}'],
     'launch.reproduce: error: --output={dir} is a directory'),
    ('launch.fetch_data', ['mnist', '--dir={file}'],
     'launch.fetch_data: error: --dir={file} is a file, not a directory'),
    ('launch.sweep', ['--config={raising}', '--root={dir}'],
     'sweep() raised RuntimeError: boom; fix the experiment file'),
])
def test_launch_tools_refuse_a_wrong_path_or_a_broken_sweep_in_one_line(module, args, expected,
                                                                         tmp_path):
  paths = {'file': str(tmp_path / 'a_file'), 'dir': str(tmp_path / 'a_dir'),
           'raising': str(tmp_path / 'raising.py')}
  open(paths['file'], 'w').close()
  os.makedirs(paths['dir'])
  with open(paths['raising'], 'w') as f:
    f.write('from experiments import digits_gan\nget_config = digits_gan.get_config\n'
            'def sweep():\n  raise RuntimeError("boom")\n')
  before = faults.snapshot(str(tmp_path))
  line = faults.one_line(faults.run(*[a.format(**paths) for a in args], module=module))
  assert expected.format(**paths) in line
  assert faults.snapshot(str(tmp_path)) == before  # Nothing written.
