"""One run per workdir: an advisory lock (fcntl.flock) on workdir/.lock, held for the whole run.

The kernel drops a flock when its process dies, however it dies, so a lock left behind by a
killed run never blocks the next one: the file's contents (the holder's PID, host and start
time) are only there to name the holder in the error. On storage where flock is not supported
the run goes ahead with a warning.
"""
import errno
import fcntl
import json
import os
import socket
import time
from typing import Optional

from absl import logging

from gan_jax import errors

LOCK_FILE = '.lock'


class WorkdirLock:
  """`with WorkdirLock(workdir):` holds the lock or raises WorkdirError naming the holder."""

  def __init__(self, workdir: str, purpose: str = 'training'):
    self.path = os.path.join(workdir, LOCK_FILE)
    self._fd = None
    self._purpose = purpose  # 'training' or 'evaluation' (--mode=eval holds it too).

  def __enter__(self) -> 'WorkdirLock':
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      holder = _read_holder(fd)
      os.close(fd)
      if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
        raise errors.WorkdirError(
            f'{os.path.dirname(self.path)} is in use by another run ({holder}); wait for it to '
            'finish or stop it, or choose another --workdir') from e
      logging.warning('Could not lock %s (%s); make sure no other run uses this workdir.',
                      self.path, e.strerror)
      return self
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({'pid': os.getpid(), 'host': socket.gethostname(),
                             'started': time.strftime('%Y-%m-%d %H:%M:%S'),
                             'purpose': self._purpose}).encode())
    os.fsync(fd)
    self._fd = fd
    return self

  def __exit__(self, *exc) -> None:
    if self._fd is not None:
      os.ftruncate(self._fd, 0)
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None


def _read_holder(fd: int) -> str:
  try:
    holder = json.loads(os.pread(fd, 4096, 0).decode() or '{}')
  except (OSError, ValueError):
    holder = {}
  if not holder:
    return 'holder unknown'
  return f'{holder.get("purpose", "training")}: {describe(holder)}'


def describe(record: dict) -> str:
  """'PID p on host h, started t': a lock record (as `holder` returns it) for a message."""
  return f'PID {record.get("pid")} on host {record.get("host")}, started {record.get("started")}'


def holder(workdir: str) -> Optional[dict]:
  """Who holds the workdir's lock, read without taking it (a run starting then is never
  refused): its {'pid', 'host', 'started'} when a run is training there (its PID alive, or on
  another host, which cannot be checked from here), else None. A killed run's record, whose PID
  is gone or now another process's that holds no lock, is None."""
  try:
    with open(os.path.join(workdir, LOCK_FILE), encoding='utf-8') as f:
      record = json.loads(f.read() or '{}')
  except (OSError, ValueError):
    return None
  if not isinstance(record, dict) or not isinstance(record.get('pid'), int):
    return None
  if record.get('host') != socket.gethostname():
    return record
  try:
    os.kill(record['pid'], 0)
  except ProcessLookupError:
    return None
  except PermissionError:  # Alive, another user's.
    pass
  if _holds_no_lock(record['pid']):  # Its PID reused since the run was killed.
    return None
  return record


def _holds_no_lock(pid: int) -> bool:
  """True when the kernel's table of file locks (Linux's /proc/locks) lists none held by `pid`:
  a live process of that PID is then not the run that wrote the record (a run killed with -9
  leaves its record, and the PID can be given to another process). Matched by PID, not by the
  file's inode, which stacked filesystems may report differently. False where it cannot tell."""
  try:
    with open('/proc/locks', encoding='ascii') as f:
      table = f.read().splitlines()
  except OSError:
    return False
  # '1: FLOCK  ADVISORY  WRITE 23036 fe:00:2156414 0 EOF'; a waiter's line has '->' after '1:'.
  held = {fields[4] for fields in map(str.split, table) if len(fields) > 4 and fields[1] != '->'}
  return str(pid) not in held
