"""A background run's CPU priority, kept when the run has a session of its own.

Linux (with autogroups, the default: /proc/sys/kernel/sched_autogroup_enabled) schedules each
session's processes as one group and shares the CPU fairly between groups; a process's nice value
only ranks it inside its group (sched(7), "The autogroup feature"). The runs of
launch/cpu_seeds.sh and of launch.executors' pool each have a session of their own (so that a
terminal's Ctrl-C reaches their driver alone), so `nice -n 10` alone left them as much CPU as the
terminal where one works: beside two such MNIST runs the fast tests took 10 min 21 s, and 3 min
56 s once the runs' groups were niced (2026-12-06). A group has a nice value of its own,
/proc/PID/autogroup; giving it the run's restores the run's place behind interactive work.

cpu_seeds.sh sets it from inside the run's new session (a shell line); the pool from outside,
once the run's process exists (Popen returns after the child's setsid and exec), with lower().
Where a cgroup's CPU controller schedules the processes instead (systemd's slices on cgroup v2,
some containers), autogroups are bypassed and the nice value ranks a run within its cgroup.
"""
import errno
import os
import time
from typing import Optional

# Without CAP_SYS_ADMIN the kernel takes one write to any autogroup file every 100 ms and answers
# EAGAIN in between (kernel/sched/autogroup.c): several runs starting at once retry.
_RETRY_S = 0.1
_TRIES = 50


def lower(pid: int, nice: int) -> bool:
  """Sets the nice value of the scheduling group of PID's session (PID must lead its session,
  or every process of the caller's session would be reniced with it). False where the kernel
  has no autogroups or the process has ended: its own nice value then ranks it as it is."""
  try:
    session = os.getsid(pid)
  except ProcessLookupError:
    return False
  if session != pid:
    raise ValueError(f'process {pid} does not lead a session of its own; lowering its group '
                     f'would lower every process of its session')
  if group_nice(pid) is None:
    return False
  path = f'/proc/{pid}/autogroup'
  for _ in range(_TRIES):
    try:
      fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
      return False
    try:
      os.write(fd, str(nice).encode())
      return True
    except OSError as e:
      if e.errno != errno.EAGAIN:
        raise
    finally:
      os.close(fd)
    time.sleep(_RETRY_S)
  raise OSError(errno.EAGAIN, f'{path}: the kernel refused the nice value {nice} for '
                f'{_TRIES * _RETRY_S:.0f} s')


def group_nice(pid: int) -> Optional[int]:
  """The nice value of PID's scheduling group ("/autogroup-274 nice 10"); None where the kernel
  has no autogroups, or the process has ended, or it is still in the kernel's first group (its
  session was never new, as under a container's first process: the CI's tests), whose file
  reads empty. A new session's process shows its group there too."""
  try:
    with open(f'/proc/{pid}/autogroup', encoding='ascii') as f:
      return parse_group(f.read())
  except (FileNotFoundError, ProcessLookupError):
    return None


def parse_group(text: str) -> Optional[int]:
  """The nice value in /proc/PID/autogroup's text; None where it names no group."""
  words = text.split()
  if len(words) == 3 and words[0].startswith('/autogroup-') and words[1] == 'nice':
    return int(words[2])
  return None
