"""Running a sweep's points: a local process pool, a TPU pod over gcloud, or printing commands.

A point's gan_jax.main invocations (train, then eval if asked) run in sequence, each only if the
previous one succeeded. Executors return the failed runs with their exit status; a failed point
does not stop the others.
"""
import concurrent.futures
import contextlib
import dataclasses
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from typing import List, Optional, Sequence, Tuple

from gan_jax import interrupts
from launch import plan
from launch import priority

Failure = Tuple[plan.Run, int]
_PRINT_LOCK = threading.Lock()  # Progress lines from the pool's threads, one whole line each.
_RUNNING = set()  # The points' processes now running (run_local), to pass a signal on to.
_STOPPED_BY = []  # The signal that interrupted run_local's pool: no process starts after it.
_RUNNING_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class TpuPod:
  """Where `gcloud compute tpus tpu-vm ssh` runs a point: on every worker of one TPU VM."""
  name: str
  zone: str = ''  # '' : gcloud's compute/zone property.
  project: str = ''  # '' : gcloud's core/project property.
  repo_dir: str = 'gan_jax'  # The checkout on every worker, relative to the home directory.

  def _scope(self) -> List[str]:
    return [f'--{k}={v}' for k, v in (('zone', self.zone), ('project', self.project)) if v]

  def ssh(self, remote_command: str) -> List[str]:
    return ['gcloud', 'compute', 'tpus', 'tpu-vm', 'ssh', self.name, *self._scope(),
            '--worker=all', f'--command={remote_command}']

  def ssh_run(self, run: plan.Run) -> List[str]:
    return self.ssh(f'cd {shlex.quote(self.repo_dir)} && . .venv/bin/activate && {run.shell()}')

  def setup_commands(self) -> List[str]:
    """Copying this checkout to every worker and preparing it (launch/tpu_pod.sh), once per VM."""
    archive = '/tmp/gan_jax.tgz'
    scp = ['gcloud', 'compute', 'tpus', 'tpu-vm', 'scp', archive, f'{self.name}:', *self._scope(),
           '--worker=all']
    repo = shlex.quote(self.repo_dir)
    unpack = (f'mkdir -p {repo} && tar -xzf gan_jax.tgz -C {repo} && '
              f'bash {repo}/launch/tpu_pod.sh')
    return [f'tar -czf {archive} --exclude=./.venv --exclude=./.git --exclude=./workdirs .',
            shlex.join(scp), _join_ssh(self.ssh(unpack))]


def print_commands(runs: Sequence[plan.Run], tpu: TpuPod = None) -> None:
  """One shell command per point: gan_jax.main itself, or (tpu) its gcloud ssh command."""
  if tpu is None:
    for run in runs:
      print(run.shell())
    return
  print('# Once per TPU VM, from the repository root: copy this checkout to every worker and')
  print('# prepare it there (a venv with requirements.txt and jax[tpu]):')
  for command in tpu.setup_commands():
    print(f'#   {command}')
  for run in runs:
    print(_join_ssh(tpu.ssh_run(run)))


def run_local(runs: Sequence[plan.Run], max_parallel: int, pin: bool = False) -> List[Failure]:
  """Runs the points in a pool of max_parallel processes; each writes <workdir>/sweep.log.
  pin: each process on cores of its own (of the first max_parallel this process may use), as
  launch/cpu_seeds.sh: on a CPU, faster than processes that share every core (README,
  Benchmarks); once no point is left to start, freed cores go to a point still running
  (_Cores)."""
  env = dict(os.environ)
  if max_parallel > 1:  # Processes sharing one accelerator: allocate memory on demand.
    env.setdefault('XLA_PYTHON_CLIENT_PREALLOCATE', 'false')
  cores = None
  if pin:
    cores = _Cores(sorted(os.sched_getaffinity(0))[:max_parallel], len(runs))
    max_parallel = len(cores.usable)
  with _RUNNING_LOCK:
    _STOPPED_BY.clear()
  failures = []
  with concurrent.futures.ThreadPoolExecutor(max_workers=max_parallel) as pool:
    futures = {pool.submit(_run_one_local, run, env, i, len(runs), cores): run
               for i, run in enumerate(runs, 1)}
    try:
      for future in concurrent.futures.as_completed(futures):
        status = future.result()
        if status:
          failures.append((futures[future], status))
    except (KeyboardInterrupt, interrupts.Interrupted) as e:
      # The points run in sessions of their own, so that a Ctrl-C at a terminal reaches this
      # process alone: it is passed on once (a second SIGINT would stop a point at once, without
      # its checkpoint), and each running point checkpoints and stops before the sweep exits.
      signum = getattr(e, 'signum', signal.SIGINT)
      if cores:
        cores.stop()  # No point is resumed on freed cores any more.
      with _RUNNING_LOCK:
        _STOPPED_BY.append(signum)  # Nor does any start: _start asks under the same lock.
        for process in _RUNNING:
          process.send_signal(signum)
      pool.shutdown(wait=True, cancel_futures=True)
      raise
  return sorted(failures, key=lambda failure: runs.index(failure[0]))


class _Cores:
  """The cores of a pinned pool, by launch/cpu_seeds.sh's rule: while points wait to start, each
  takes one; the last to start takes every free core; a core freed after that goes to the
  running point holding fewest, which is stopped with SIGTERM (gan_jax.main checkpoints and exits
  143; --mode=eval keeps what it scored) and resumed on its cores and the freed ones. XLA sizes
  its thread pool when a process starts, so a running process cannot simply be given a core.
  On this 2-core CPU a row's last seed then trains 1.8x faster (mnist_gan: 10.25 s an epoch on
  both cores, 18.2 s on one)."""

  def __init__(self, usable: Sequence[int], points: int):
    self.usable = tuple(usable)
    self._free = list(self.usable)
    self._waiting = points
    self._held = {}  # A running process -> its cores (those that may be widened).
    self._granted = {}  # A process stopped to be widened -> the cores it is given.
    self._stopped = False
    self._lock = threading.Lock()

  def take(self) -> List[int]:
    """A starting point's cores: one, or every free one for the last point."""
    with self._lock:
      self._waiting -= 1
      count = len(self._free) if self._waiting == 0 else 1
      taken, self._free = self._free[:count], self._free[count:]
      return taken

  def claim(self) -> List[int]:
    """Every free core, for a point (re)starting a process once none waits to start: cores
    freed while no process could take them (each between two of its invocations)."""
    with self._lock:
      if self._waiting or self._stopped:
        return []
      claimed, self._free = self._free, []
      return claimed

  def running(self, process: subprocess.Popen, held: List[int]) -> None:
    with self._lock:
      self._held[process] = held

  def ended(self, process: subprocess.Popen) -> List[int]:
    """The cores granted to the process while it ran ([] if none): it was stopped to take
    them, unless it ended by itself first."""
    with self._lock:
      self._held.pop(process, None)
      return self._granted.pop(process, [])

  def give_back(self, cores: List[int]) -> None:
    """A point's cores once it has ended: to the running point holding fewest (the one that
    started first among equals), once no point is left to start."""
    with self._lock:
      self._free = sorted(self._free + list(cores))
      if self._waiting or self._stopped or not self._held or not self._free:
        return
      process = min(self._held, key=lambda p: len(self._held[p]))
      del self._held[process]
      self._granted[process], self._free = self._free, []
      _report(f'{_cores_text(self._granted[process])} free: stopping pid {process.pid} '
              '(SIGTERM: it checkpoints) to resume it there too')
      with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)

  def stop(self) -> None:
    """The pool is being interrupted: no point is stopped or resumed to widen it any more."""
    with self._lock:
      self._stopped = True

  @property
  def stopped(self) -> bool:
    with self._lock:
      return self._stopped


def platform(env=None) -> str:
  """The JAX platform ('cpu', 'gpu', 'tpu') a point started here would train on, asked of a
  process of its own, so that this one holds no accelerator memory."""
  probe = subprocess.run([sys.executable, '-c', 'import jax; print(jax.default_backend())'],
                         env=env, capture_output=True, text=True, check=False)
  lines = probe.stdout.split()
  return lines[-1] if probe.returncode == 0 and lines else 'cpu'


def run_tpu_pod(runs: Sequence[plan.Run], tpu: TpuPod) -> List[Failure]:
  """Runs the points one after another, each on all workers of the TPU VM at once."""
  failures = []
  for i, run in enumerate(runs, 1):
    _report(f'[{i}/{len(runs)}] {run.name}: on every worker of {tpu.name}, workdir {run.workdir}')
    status = subprocess.run(tpu.ssh_run(run), check=False).returncode
    _report(f'[{i}/{len(runs)}] {run.name}: ' + (f'failed (exit {status})' if status else 'done'))
    if status:
      failures.append((run, status))
  return failures


def _run_one_local(run: plan.Run, env, index: int, total: int, cores=None) -> int:
  held = cores.take() if cores else []
  start, status = time.monotonic(), 0
  with contextlib.ExitStack() as stack:
    if cores:
      stack.callback(lambda: cores.give_back(held))  # (The list held when the point ends.)
    log_path = _open_logs(run)
    where = f' on {_cores_text(held)}' if held else ''
    _report(f'[{index}/{total}] {run.name}: started{where}, log {log_path}')
    log = stack.enter_context(open(log_path, 'a', encoding='utf-8'))
    for args in run.invocations:
      while True:
        if cores:
          held = sorted(held + cores.claim())
        process = _start(args, log, env, held)
        if process is None:  # The pool was interrupted: nothing more starts.
          status = 128 + _STOPPED_BY[0]
          break
        if cores:
          cores.running(process, held)
        try:
          status = process.wait()
        finally:
          with _RUNNING_LOCK:
            _RUNNING.discard(process)
        granted = cores.ended(process) if cores else []
        held = sorted(held + granted)
        if not (granted and status in (143, -signal.SIGTERM)) or cores.stopped:
          break
        # Stopped (and checkpointed) to take the cores another point freed: resumed on them.
        _report(f'[{index}/{total}] {run.name}: resumed on {_cores_text(held)}')
      if status:
        break
  elapsed = f'{time.monotonic() - start:.0f} s'
  if status:
    _report(f'[{index}/{total}] {run.name}: failed (exit {status}) after {elapsed}: '
            f'{_last_line(log_path)}')
  else:
    _report(f'[{index}/{total}] {run.name}: done in {elapsed}')
  return status


def _open_logs(run: plan.Run) -> str:
  """The point's sweep.log (returned), and a line in each other member's of a population."""
  os.makedirs(run.log_dir, exist_ok=True)
  for member in run.members[1:]:  # A population's one log, in its first seed's workdir.
    os.makedirs(member.workdir, exist_ok=True)
    with open(os.path.join(member.workdir, 'sweep.log'), 'a', encoding='utf-8') as f:
      f.write(f'# {time.strftime("%Y-%m-%d %H:%M:%S")} trained in the population {run.name}; '
              f'its log: {os.path.join(run.log_dir, "sweep.log")}\n')
  return os.path.join(run.log_dir, 'sweep.log')


def _start(args: Sequence[str], log, env, cores: List[int]) -> Optional[subprocess.Popen]:
  """`python *args`, its output to log, pinned to cores (if any), in a session of its own (a
  terminal's Ctrl-C reaches run_local alone, which passes it on) whose scheduling group keeps the
  pool's nice value (launch/priority.py), counted as running; None once the pool was
  interrupted."""
  with _RUNNING_LOCK:
    if _STOPPED_BY:
      return None
    log.write(f'# {time.strftime("%Y-%m-%d %H:%M:%S")} {shlex.join(["python", *args])}'
              + (f' (on {_cores_text(cores)})' if cores else '') + '\n')
    log.flush()
    process = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT,
                               env=env, start_new_session=True)
    if cores:  # (Before its threads start: they inherit the main thread's.)
      with contextlib.suppress(ProcessLookupError):  # (Already ended: its status says.)
        os.sched_setaffinity(process.pid, set(cores))
    _RUNNING.add(process)
  if os.nice(0) > 0:  # The pool's own priority (`nice -n 10 python -m launch...`) holds.
    try:
      priority.lower(process.pid, os.nice(0))
    except (OSError, ValueError) as e:  # It trains on, ranked by its own nice value alone.
      _report(f'warning: pid {process.pid} keeps its scheduling group\'s priority: {e}')
  return process


def _cores_text(cores: Sequence[int]) -> str:
  """'core 3', 'cores 0,1' (launch/cpu_seeds.sh's words)."""
  return ('core ' if len(cores) == 1 else 'cores ') + ','.join(str(c) for c in cores)


def _join_ssh(argv: List[str]) -> str:
  """shlex.join, but --command='...' rather than '--command=...', which reads better."""
  *head, command = argv
  return shlex.join(head) + ' --command=' + shlex.quote(command.split('=', 1)[1])


def _last_line(path: str) -> str:
  with open(path, encoding='utf-8', errors='replace') as f:
    lines = [line.strip() for line in f if line.strip() and not line.startswith('# ')]
  return lines[-1] if lines else '(no output)'


def _report(message: str) -> None:
  with _PRINT_LOCK:
    sys.stdout.write(f'launch.sweep: {message}\n')
    sys.stdout.flush()
