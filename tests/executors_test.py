"""launch/executors.py's local pool pinned to cores (launch.reproduce's seeds on a CPU, launch.sweep
--pin): one core per point while points wait, the last on every free core, then freed cores to the
point still running, stopped with SIGTERM and resumed there, as launch/cpu_seeds.sh does."""
import os
import signal
import subprocess
import sys
import time
import textwrap

import pytest

from conftest import ROOT, new_sessions_have_groups
from launch import executors
from launch import plan
from launch import priority

TWO_CORES = {0, 1} <= os.sched_getaffinity(0)


class FakeProcess:
  """What _Cores asks of a running point: its pid and a signal."""

  def __init__(self, pid):
    self.pid = pid
    self.signals = []

  def send_signal(self, signum):
    self.signals.append(signum)


def test_cores_go_one_each_then_all_to_the_last_then_to_the_point_holding_fewest(capsys):
  cores = executors._Cores([0, 1, 2, 3], points=5)
  first, second, third, fourth = (cores.take() for _ in range(4))
  assert (first, second, third, fourth) == ([0], [1], [2], [3])
  processes = {n: FakeProcess(100 + n) for n in range(5)}
  for n, held in zip(range(4), (first, second, third, fourth)):
    cores.running(processes[n], held)
  assert cores.ended(processes[0]) == []  # Ended by itself: nothing was granted to it.
  cores.give_back(first)  # A point still waits: the core stays free for it.
  assert not any(p.signals for p in processes.values())
  assert cores.take() == [0]  # The last point: every free core (one here).
  cores.running(processes[4], [0])
  cores.ended(processes[2])
  cores.give_back([2])  # Nothing waits: to the first of those holding one core (point 1).
  assert processes[1].signals == [signal.SIGTERM] and not processes[3].signals
  assert cores.ended(processes[1]) == [2]  # What it resumes on beside its own core 1.
  cores.running(processes[1], [1, 2])
  cores.ended(processes[3])
  cores.give_back([3])  # Now points 4 (one core) and 1 (two): point 4 takes it.
  assert processes[4].signals == [signal.SIGTERM] and processes[1].signals == [signal.SIGTERM]
  assert cores.ended(processes[4]) == [3]
  assert 'core 3 free: stopping pid 104' in capsys.readouterr().out


def test_the_last_point_takes_every_free_core_and_an_interrupted_pool_widens_none():
  cores = executors._Cores([0, 1, 2], points=2)
  assert cores.take() == [0]
  assert cores.take() == [1, 2]
  running = FakeProcess(7)
  cores.running(running, [1, 2])
  cores.stop()
  cores.give_back([0])
  assert not running.signals and cores.ended(running) == [] and cores.stopped


# A point's stand-in for gan_jax.main: appends its CPU affinity to <dir>/<name>.cores; on SIGTERM
# or SIGINT it "checkpoints" (a line in <name>.stopped) and exits 143 / 130; the points named in
# slow train until stopped (at most 30 s), unless resumed after a stop; the others end after
# `quick` seconds.
FAKE_POINT = textwrap.dedent("""\
    import os, signal, sys, time
    out, name, slow, quick = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    base = os.path.join(out, name)
    def stop(signum, _):
      with open(base + '.stopped', 'a') as f:
        f.write(f'{signum}\\n')
      time.sleep(0.3)  # (Checkpointing: a second signal now would be seen.)
      sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(base + '.cores', 'a') as f:
      f.write(','.join(map(str, sorted(os.sched_getaffinity(0)))) + '\\n')
    trains = name in slow and not os.path.exists(base + '.stopped')
    deadline = time.time() + (30 if trains else quick)
    while time.time() < deadline:
      time.sleep(0.05)
    """)


def _points(tmp_path, names, slow, quick):
  script = tmp_path / 'point.py'
  script.write_text(FAKE_POINT)
  return [plan.Run(name, str(tmp_path / name), {}, (
      (str(script), str(tmp_path), name, slow, str(quick[name])),), None) for name in names]


def _cores(tmp_path, name):
  return (tmp_path / f'{name}.cores').read_text().split()


@pytest.mark.skipif(not TWO_CORES, reason='needs cores 0 and 1')
def test_a_freed_core_goes_to_the_point_still_running(tmp_path, capsys):
  # a ends first; c, the last, starts on its core; once c ends, b (still training) is stopped
  # with SIGTERM and resumed on both cores, where it finishes.
  runs = _points(tmp_path, 'abc', slow='b', quick={'a': 0.5, 'b': 0.5, 'c': 1.0})
  failures = executors.run_local(runs, max_parallel=2, pin=True)
  assert failures == []
  first, resumed = _cores(tmp_path, 'b')  # (a and b start at once: either takes core 0.)
  other = str(1 - int(first))
  assert _cores(tmp_path, 'a') == [other] and _cores(tmp_path, 'c') == [other]
  assert resumed == '0,1' and (tmp_path / 'b.stopped').read_text().split() == ['15']
  out = capsys.readouterr().out
  assert '[2/3] b: resumed on cores 0,1' in out and '[2/3] b: done' in out
  log = (tmp_path / 'b' / 'sweep.log').read_text()
  assert log.count('(on core 1)') == 1 and log.count('(on cores 0,1)') == 1


@pytest.mark.skipif(not TWO_CORES, reason='needs cores 0 and 1')
def test_a_point_that_exits_143_by_itself_fails_and_its_core_goes_to_the_other(tmp_path, capsys):
  # b exits 143 unasked, once a is up: a failure, not resumed; a is widened onto its core.
  runs = _points(tmp_path, 'a', slow='a', quick={'a': 0.5})
  exits = 'import sys, time; time.sleep(1); sys.exit(143)'
  runs.append(plan.Run('b', str(tmp_path / 'b'), {}, (('-c', exits),), None))
  failures = executors.run_local(runs, max_parallel=2, pin=True)
  assert [(run.name, status) for run, status in failures] == [('b', 143)]
  first, resumed = _cores(tmp_path, 'a')
  assert first in ('0', '1') and resumed == '0,1'
  out = capsys.readouterr().out
  assert '[2/2] b: failed (exit 143)' in out and 'b: resumed' not in out


# A sweep's process: the pool of the points named on its command line, pinned, 2 at a time; a
# signal raises Interrupted as in launch.sweep (cli.install, then interrupts.arm).
POOL = textwrap.dedent("""\
    import sys
    from gan_jax import interrupts
    interrupts.install()
    from launch import executors, plan
    script, out, slow = sys.argv[1:4]
    runs = [plan.Run(n, f'{out}/{n}', {}, ((script, out, n, slow, '0.2'),), None)
            for n in sys.argv[4:]]
    interrupts.arm()
    try:
      executors.run_local(runs, max_parallel=2, pin=True)
    except interrupts.Interrupted as e:
      sys.exit(128 + e.signum)
    """)


@pytest.mark.skipif(not TWO_CORES, reason='needs cores 0 and 1')
@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_pool_reaches_each_running_point_once_and_starts_nothing(tmp_path,
                                                                                signum):
  """As a Ctrl-C at a terminal (the process group) or a kill (the pool alone): each running
  point gets the signal once (a second would stop gan_jax.main at once, without its
  checkpoint), the point still waiting never starts, nothing is resumed on freed cores."""
  (tmp_path / 'point.py').write_text(FAKE_POINT)
  pool = subprocess.Popen(
      [sys.executable, '-c', POOL, str(tmp_path / 'point.py'), str(tmp_path), 'ab', 'a', 'b',
       'c'], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
      start_new_session=True)
  deadline = time.monotonic() + 60
  while not all((tmp_path / f'{n}.cores').exists() for n in 'ab'):
    assert time.monotonic() < deadline and pool.poll() is None
    time.sleep(0.05)
  os.killpg(pool.pid, signum)  # The whole group, as a terminal does (the points have their own).
  out, _ = pool.communicate(timeout=30)
  assert pool.returncode == 128 + signum, out
  for name in 'ab':
    assert (tmp_path / f'{name}.stopped').read_text().split() == [str(int(signum))]
    assert len(_cores(tmp_path, name)) == 1  # Not resumed.
  assert not (tmp_path / 'c.cores').exists() and 'c: started' not in out


# A point that waits (at most 10 s) for its scheduling group to be niced, then records its group's
# and its own nice values.
GROUP_POINT = textwrap.dedent("""\
    import os, sys, time
    deadline = time.time() + 10
    read = lambda: open('/proc/self/autogroup').read().split()[-1]
    while read() == '0' and time.time() < deadline:
      time.sleep(0.01)
    with open(sys.argv[1], 'w') as f:
      f.write(f'{read()} {os.nice(0)} {os.getsid(0) == os.getpid()}')
    """)


@pytest.mark.skipif(not new_sessions_have_groups(), reason='no autogroups')
def test_a_niced_pool_s_points_are_niced_in_their_own_scheduling_groups(tmp_path):
  """Each point leads a session, so the kernel schedules it as a group of its own: the pool's
  nice value is given to that group, or a `nice -n 7` pool's runs would take as much CPU as a
  terminal (launch/priority.py). The pool's own group is left as it was."""
  pool = textwrap.dedent("""\
      import os, sys
      from launch import executors, plan
      os.nice(7)
      out = sys.argv[1]
      runs = [plan.Run(n, f'{out}/{n}', {}, (('-c', sys.argv[2], f'{out}/{n}.nice'),), None)
              for n in 'ab']
      sys.exit(len(executors.run_local(runs, max_parallel=2)))
      """)
  own_group = priority.group_nice(os.getpid())
  niced = min(os.nice(0) + 7, 19)  # The pool's, after its os.nice(7).
  subprocess.run([sys.executable, '-c', pool, str(tmp_path), GROUP_POINT], cwd=ROOT, check=True,
                 timeout=60)
  for name in 'ab':
    assert (tmp_path / f'{name}.nice').read_text() == f'{niced} {niced} True'
  assert priority.group_nice(os.getpid()) == own_group


def test_lowering_the_group_of_a_process_that_shares_a_session_is_refused():
  """Its group is its session's: lowering it would lower every process of that session."""
  sharing = subprocess.Popen(['sleep', '30'])  # In this session, led by another process.
  try:
    with pytest.raises(ValueError, match=f'process {sharing.pid} does not lead a session'):
      priority.lower(sharing.pid, 5)
  finally:
    sharing.kill()
    sharing.wait()


def test_a_group_is_read_from_the_kernel_s_text_and_none_without_one():
  """Linux writes '/autogroup-ID nice N'; a kernel without autogroups has no file, and a process of
  the kernel's first group (a container's first session: the CI's) reads it empty."""
  assert priority.parse_group('/autogroup-274 nice 10\n') == 10
  assert priority.parse_group('/autogroup-3 nice -5\n') == -5
  assert priority.parse_group('') is None
  assert priority.group_nice(2 ** 22 + 1) is None  # Above pid_max: no such process.


def test_without_a_group_a_session_leader_is_left_to_its_own_nice_value(monkeypatch):
  leader = subprocess.Popen(['sleep', '30'], start_new_session=True)
  try:
    monkeypatch.setattr(priority, 'group_nice', lambda pid: None)
    monkeypatch.setattr(os, 'open', lambda *a: pytest.fail(f'opened {a[0]}'))
    assert priority.lower(leader.pid, 5) is False
  finally:
    leader.kill()
    leader.wait()
