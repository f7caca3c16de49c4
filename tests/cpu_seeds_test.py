"""launch/cpu_seeds.sh: one pinned, niced process per core, seeds queued, workdirs named by the
flags after -- as launch.sweep and launch.reproduce name them. A stand-in `python` on PATH
records each invocation instead of training (training is tested elsewhere)."""
import os
import signal
import subprocess
import time

import pytest

from conftest import ROOT, new_sessions_have_groups
from gan_jax import workdir
from launch import priority
from launch import rows
from launch import tables

SCRIPT = os.path.join(ROOT, 'launch', 'cpu_seeds.sh')
# Records its arguments, its CPU affinity and niceness (and appends the affinity to
# <workdir>.cores, and writes its pid, session id and group's nice value to <workdir>.session),
# then exits with $FAKE_STATUS (default 0) after $FAKE_DELAY seconds. The seed
# $FAKE_SLOW trains for $FAKE_TICKS tenths of a second instead; on SIGTERM it checkpoints
# (<workdir>.stopped) and exits 143 as gan_jax.main does; resumed after that, it ends at once.
FAKE_PYTHON = """#!/usr/bin/env bash
for a in "$@"; do case $a in --workdir=*) workdir=${a#--workdir=} ;; esac; done
trap 'touch "$workdir.stopped"; exit 143' TERM
{ printf '%s\\n' "$@"; taskset -cp $$ | sed 's/.*: //'; nice; } > "$workdir.args"
taskset -cp $$ | sed 's/.*: //' >> "$workdir.cores"
# Its pid, its session's id and its scheduling group's nice value ('none' without autogroups).
group=$(sed -n 's/.* nice //p' /proc/$$/autogroup 2>/dev/null); group=${group:-none}
echo "$$ $(cut -d' ' -f6 /proc/$$/stat) $group" > "$workdir.session"
slow=${FAKE_SLOW:+seed=$FAKE_SLOW}
if [ -n "$slow" ] && [[ $workdir == *$slow ]] && [ ! -e "$workdir.stopped" ]; then
  for _ in $(seq "${FAKE_TICKS:-100}"); do sleep 0.1; done
else
  sleep "${FAKE_DELAY:-0}"
fi
exit ${FAKE_STATUS:-0}
"""
TWO_CORES = {0, 1} <= os.sched_getaffinity(0)
HAS_AUTOGROUPS = new_sessions_have_groups()


def _run(tmp_path, *args, status=0, **env_vars):
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir(exist_ok=True)
  (bin_dir / 'python').write_text(FAKE_PYTHON)
  (bin_dir / 'python').chmod(0o755)
  env = {**os.environ, 'PATH': f'{bin_dir}:{os.environ["PATH"]}', 'FAKE_STATUS': str(status),
         **env_vars}
  return subprocess.run(['bash', SCRIPT, *args], env=env, capture_output=True, text=True,
                        timeout=60)


def _invocation(path):
  *args, cores, niceness = path.read_text().splitlines()
  return args, cores, int(niceness)


def test_each_seed_runs_pinned_and_niced_in_the_row_s_workdir(tmp_path):
  root = tmp_path / 'runs'
  own_group = priority.group_nice(os.getpid())
  done = _run(tmp_path, '-c', '0', str(root), 'mnist_gan', '0', '1', '--',
              '--config.noise.prior=normal')
  assert done.returncode == 0, done.stderr
  assert priority.group_nice(os.getpid()) == own_group  # Only the runs' groups were niced.
  row = next(r for r in tables.TABLES['gan_parzen'].rows if r.label == 'GAN, MNIST, z ~ N(0, I)')
  for seed in (0, 1):  # One core: the seeds ran one after the other on it.
    workdir = rows.workdir(str(root), row, seed, runlocal=False)
    assert workdir == f'{root}/mnist_gan/noise.prior=normal,seed={seed}'
    args, cores, niceness = _invocation(root / 'mnist_gan' / f'noise.prior=normal,seed={seed}.args')
    assert args == ['-m', 'gan_jax.main', '--config=experiments/mnist_gan.py',
                    f'--config.seed={seed}', f'--workdir={workdir}', '--config.noise.prior=normal']
    assert cores == '0' and niceness >= 10
    # A session of its own: a terminal's Ctrl-C reaches the driver alone, which passes it on once;
    # its scheduling group niced as the run is, or the run would take a terminal's share.
    pid, session, group = (root / 'mnist_gan' / f'noise.prior=normal,seed={seed}.session'
                           ).read_text().split()
    assert pid == session
    assert (int(group) == niceness if HAS_AUTOGROUPS else group == 'none'), (group, niceness)
    assert f'seed {seed} exited with status 0' in done.stdout
  # Without flags, the table's own workdirs.
  assert _run(tmp_path, '-c', '0', str(root), 'mnist_gan', '2').returncode == 0
  assert (root / 'mnist_gan' / 'seed=2.args').exists()


def test_flags_of_a_run_s_length_are_passed_on_without_naming_the_workdir(tmp_path):
  """The row 'GAN, MNIST' (to the cap: the stopping rule off) trains in launch.reproduce's
  workdir, and a key that makes another run still names it."""
  root = tmp_path / 'runs'
  flags = ['--config.early_stopping.patience=0', '--config.num_train_steps=7',
           '--config.noise.prior=normal']
  assert _run(tmp_path, '-c', '0', str(root), 'mnist_gan', '0', '--', *flags).returncode == 0
  args, _, _ = _invocation(root / 'mnist_gan' / 'noise.prior=normal,seed=0.args')
  assert args[-3:] == flags
  assert _run(tmp_path, '-c', '0', str(root), 'mnist_gan', '1', '--',
              '--config.early_stopping.patience=0').returncode == 0
  row = next(r for r in tables.TABLES['gan_parzen'].rows if r.label == 'GAN, MNIST')
  assert row.overrides == {'early_stopping.patience': 0}
  assert (root / 'mnist_gan' / 'seed=1.args').exists()
  assert rows.workdir(str(root), row, 1, runlocal=False) == f'{root}/mnist_gan/seed=1'


def test_its_list_of_length_keys_is_gan_jax_s():
  with open(SCRIPT) as f:
    text = f.read()
  listed = lambda name: text.split(f"{name}='")[1].split("'")[0].split()
  assert tuple(listed('resumable_keys')) == workdir.RESUMABLE_KEYS
  assert tuple(listed('resumable_prefixes')) == workdir.RESUMABLE_PREFIXES


def test_a_failed_seed_and_bad_flags_exit_non_zero(tmp_path):
  failed = _run(tmp_path, str(tmp_path / 'runs'), 'mnist_gan', '0', status=1)
  assert failed.returncode == 1 and 'seed 0 exited with status 1' in failed.stdout
  for flags, message in ((['--workdir=/x'], 'give --config.KEY=VALUE flags only'),
                         (['--config.data.path=/a b'], 'use launch.sweep for values')):
    bad = _run(tmp_path, str(tmp_path / 'refused'), 'mnist_gan', '0', '--', *flags)
    assert bad.returncode == 2 and message in bad.stderr and len(bad.stderr.splitlines()) == 1
  assert not (tmp_path / 'refused').exists()  # Refused before anything started.
  missing = _run(tmp_path, str(tmp_path / 'runs'), 'no_such_experiment', '0')
  assert missing.returncode == 2 and 'no experiments/no_such_experiment.py' in missing.stderr


def _cores(root, seed):
  return (root / 'mnist_gan' / f'seed={seed}.cores').read_text().split()


@pytest.mark.skipif(not TWO_CORES, reason='needs cores 0 and 1')
def test_a_freed_core_goes_to_the_seed_still_training(tmp_path):
  root = tmp_path / 'runs'
  # (Seeds 0 and 2 take a second: seed 1 is up, its handler set, before it is stopped.)
  done = _run(tmp_path, '-c', '0 1', str(root), 'mnist_gan', '0', '1', '2', FAKE_SLOW='1',
              FAKE_DELAY='1')
  assert done.returncode == 0, done.stdout + done.stderr
  # Seeds 0 and 1 one core each; seed 2, the last, on the core seed 0 freed; once seed 2 ended,
  # seed 1 was stopped by SIGTERM and resumed on both cores, where it finished.
  assert _cores(root, 0) == ['0'] and _cores(root, 2) == ['0']
  assert _cores(root, 1) == ['1', '0,1']
  assert (root / 'mnist_gan' / 'seed=1.stopped').exists()
  assert 'seed 1 on cores 0,1' in done.stdout and 'seed 1 exited with status 0' in done.stdout
  assert 'status 143' not in done.stdout


@pytest.mark.skipif(not TWO_CORES, reason='needs cores 0 and 1')
def test_the_last_seed_starts_on_every_free_core_unless_told_one(tmp_path):
  root = tmp_path / 'runs'
  assert _run(tmp_path, '-c', '0 1', str(root), 'mnist_gan', '3').returncode == 0
  assert _cores(root, 3) == ['0,1']
  kept = _run(tmp_path, '-1', '-c', '0 1', str(root), 'mnist_gan', '0', '1', '2', FAKE_SLOW='1',
              FAKE_TICKS='10')
  assert kept.returncode == 0, kept.stdout + kept.stderr
  assert _cores(root, 1) == ['1'] and not (root / 'mnist_gan' / 'seed=1.stopped').exists()


def test_sigterm_to_a_driver_in_the_background_stops_its_runs_with_a_checkpoint(tmp_path):
  """Started with nohup ... &, the driver and its runs ignore SIGINT; SIGTERM reaches the runs,
  which checkpoint (exit 143), and the driver exits 143 without starting the next seed."""
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir()
  (bin_dir / 'python').write_text(FAKE_PYTHON)
  (bin_dir / 'python').chmod(0o755)
  root = tmp_path / 'runs'
  env = {**os.environ, 'PATH': f'{bin_dir}:{os.environ["PATH"]}', 'FAKE_SLOW': '0',
         'FAKE_TICKS': '300'}
  driver = subprocess.Popen(  # As a non-interactive shell starts a job in the background.
      ['bash', '-c', f'bash {SCRIPT} -c 0 {root} mnist_gan 0 1 & echo $!; wait $!'], env=env,
      stdout=subprocess.PIPE, text=True)
  script = int(driver.stdout.readline())
  workdir = root / 'mnist_gan' / 'seed=0'
  for _ in range(100):
    if (root / 'mnist_gan' / 'seed=0.args').exists():
      break
    time.sleep(0.1)
  os.kill(script, signal.SIGINT)  # Ignored, as at a background job.
  time.sleep(0.5)
  assert driver.poll() is None and not (root / 'mnist_gan' / 'seed=0.stopped').exists()
  os.kill(script, signal.SIGTERM)
  out, _ = driver.communicate(timeout=20)
  assert (root / 'mnist_gan' / 'seed=0.stopped').exists() and not (
      root / 'mnist_gan' / 'seed=1.args').exists()
  assert 'seed 1 on' not in out, out
  assert driver.returncode == 143
