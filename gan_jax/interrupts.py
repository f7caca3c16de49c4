"""Stopping a program cleanly on SIGTERM (how TPU VMs and schedulers preempt) and SIGINT (Ctrl-C).

A command calls `install` first, before its heavy imports: a signal from then on is remembered
(imports are never cut short: an exception raised inside a C extension's import surfaces as a
garbled ImportError). Once the command starts its work it calls `arm`: a signal already received
raises `Interrupted` there, and later ones raise it wherever the program is; the command reports
it in one line (exit 130 or 143). Nothing it writes is left half-written (files are written
atomically). A library that swallows the exception cannot lose the signal: it stays remembered.

In the training loop the signal instead asks for a checkpoint of the step reached, then an exit
(errors.Preempted: 143, 130 or 129): a handler sets a flag the loop reads after each call (a
signal already received counts), and a second Ctrl-C interrupts at once; on several processes
they agree after each call, so that a signal to any one stops all at the same step
(StopRequest).
"""
import signal
import sys
import threading

from absl import logging

# SIGHUP: the terminal a run was started from closed (an ssh session dropped) - as SIGTERM.
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_received = []  # Signals received since `install`, in order.


class Interrupted(BaseException):  # pylint: disable=g-bad-exception-name
  """A SIGINT or SIGTERM outside the training loop. BaseException, as KeyboardInterrupt is, so
  that `except Exception` clauses do not swallow it."""

  def __init__(self, signum: int):
    super().__init__(signal.Signals(signum).name)
    self.signum = signum
    self.exit_status = 128 + signum


def describe(signum: int) -> str:
  """How a command's one line names the signal that stopped it."""
  return {signal.SIGINT: 'interrupted', signal.SIGTERM: 'terminated (SIGTERM)',
          signal.SIGHUP: 'hung up (SIGHUP: its terminal closed)'}.get(
              signum, signal.Signals(signum).name)


def _remember(signum, frame):
  del frame
  _received.append(signum)


def _raise(signum, frame):
  _remember(signum, frame)
  raise Interrupted(signum)


def silencing(hook):
  """`hook` as a sys.unraisablehook that stays silent for an Interrupted raised where Python
  cannot propagate it (a signal that lands in a gc callback or a __del__ prints "Exception
  ignored in ... Traceback" otherwise): the signal is remembered, and `check` or the loop acts
  on it. A command that installs its own hook wraps it in this."""

  def unraisable(info):
    if not isinstance(info.exc_value, Interrupted):
      hook(info)

  unraisable.wrapped = hook
  return unraisable


def _main_thread() -> bool:
  return threading.current_thread() is threading.main_thread()


def install() -> None:
  """From now on SIGINT, SIGTERM and SIGHUP are remembered (not acted on until `arm`)."""
  if _main_thread():
    for signum in SIGNALS:
      signal.signal(signum, _remember)
  if not hasattr(sys.unraisablehook, 'wrapped'):
    sys.unraisablehook = silencing(sys.unraisablehook)


def arm() -> None:
  """Raises Interrupted for a signal remembered so far; later ones raise it at once."""
  if _main_thread():
    for signum in SIGNALS:
      signal.signal(signum, _raise)
  check()


def check() -> None:
  """Raises Interrupted if a signal came (and was perhaps swallowed by a library)."""
  if _received:
    raise Interrupted(_received[0])


class StopRequest:
  """`reached(calls)`: whether the run must checkpoint and stop after the call it just made.

  A signal to any process stops every process after the same call: each remembers its own, and
  after each call the processes gather what each received (one small all-gather a call), so
  all decide alike; the signal of the lowest-numbered process that got one is the run's
  (`signum`, the exit status). jax's preemption service (TPU maintenance notices) is asked too,
  at a counter that rises by one a call. A second Ctrl-C to a process stops it at once."""

  def __init__(self):
    import jax  # pylint: disable=g-import-not-at-top
    # A signal received during start-up (and swallowed on its way) stops after the first call.
    self._local = _received[0] if _received else None
    self._processes = jax.process_count()
    self.signum = self._local if self._processes == 1 else None
    self._previous = {}
    if threading.current_thread() is threading.main_thread():
      self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}

  def _handle(self, signum, frame):
    del frame
    name = signal.Signals(signum).name
    every = ' on every process' if self._processes > 1 else ''
    again = ' (Ctrl-C again to stop at once, without it)' if signum == signal.SIGINT else ''
    logging.warning('%s: checkpointing%s at the end of this call, then exiting%s.', name, every,
                    again)
    self._local = self._local or signum
    if self._processes == 1:
      self.signum = self._local
    if signum == signal.SIGINT:
      signal.signal(signal.SIGINT, signal.default_int_handler)

  def reached(self, calls: int) -> bool:
    if self._processes == 1:
      return self.signum is not None
    import numpy as np  # pylint: disable=g-import-not-at-top
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    # What each process had received when it entered the gather (a signal arriving during it
    # counts at the next call), the same array on every process.
    received = [int(s) for s in np.ravel(multihost_utils.process_allgather(
        np.int32(self._local or 0))) if s]
    preempted = multihost_utils.reached_preemption_sync_point(calls)
    if received or preempted:
      self.signum = received[0] if received else signal.SIGTERM
      return True
    return False

  def close(self) -> None:
    for signum, previous in self._previous.items():
      signal.signal(signum, previous)
    self._previous = {}
