"""Stopping a run cleanly: SIGTERM (how TPU VMs and schedulers preempt) and SIGINT (Ctrl-C) ask
the training loop to checkpoint the step it reached and exit (errors.Preempted: 143 or 130).

On one process the handlers set a flag the loop reads after each step; a second Ctrl-C restores
Python's default and interrupts at once (main.py reports that in one line, exit 130). On several
processes jax's preemption service picks the step at which every process stops.
"""
import signal
import threading

from absl import logging
import jax

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
  """`reached(step)`: whether the run must checkpoint and stop after `step`."""

  def __init__(self):
    self.signum = None
    self._previous = {}
    if jax.process_count() == 1 and threading.current_thread() is threading.main_thread():
      self._previous = {s: signal.signal(s, self._handle) for s in _SIGNALS}

  def _handle(self, signum, frame):
    del frame
    name = signal.Signals(signum).name
    logging.warning('%s: checkpointing at the end of this step, then exiting%s.', name,
                    ' (Ctrl-C again to stop at once, without it)' if signum == signal.SIGINT else '')
    self.signum = signum
    if signum == signal.SIGINT:
      signal.signal(signal.SIGINT, signal.default_int_handler)

  def reached(self, step: int) -> bool:
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
      if multihost_utils.reached_preemption_sync_point(step):
        self.signum = self.signum or signal.SIGTERM
        return True
      return False
    return self.signum is not None

  def close(self) -> None:
    for signum, previous in self._previous.items():
      signal.signal(signum, previous)
    self._previous = {}
