"""What the libraries may print in a command's log: orbax's per-save INFO chatter stays out, its
warnings and errors show as one line each, jax's note that a backend's library is not installed
("Unable to initialize backend 'tpu': ... libtpu.so: cannot open shared object file", on every
machine without a TPU) stays out, and an exception in a library's background thread or
callback is one warning line, not a traceback (orbax's writer threads and tensorstore's
callbacks fail when the storage does; the command reports that failure itself, in one line).
A damaged checkpoint's failed reads are reported once, as the set-aside line, not again per
array as orbax's abandoned read coroutines are collected, nor as asyncio's "Event loop is closed"
when an object is collected after orbax closed its loop.

Every command installs this: gan_jax.main and the launch commands (gan_jax/cli.py), which train
and evaluate in-process.
"""
import logging as python_logging
import os
import sys
import threading

from absl import logging

from gan_jax import errors
from gan_jax import interrupts


# orbax warnings about what this project does on purpose: a checkpoint saved between evaluations
# (no metric to keep it by), and evaluation opening the checkpoints read-only.
_EXPECTED = ('did not provide metrics', 'read_only=True', 'Given directory is read only')


# orbax's restore reads each array in a coroutine of this name. When a damaged checkpoint fails
# one read, the restore raises (the checkpoint is set aside in one line), and the other reads'
# failures are reported again as their coroutines and tasks are collected, one per array: drop
# those repeats.
_ORPHANED_READ = '_read_array_index_and_device_put'

# What asyncio raises when an object collected after its event loop closed (orbax's loop, closed
# with its checkpoint manager) tries to schedule its cleanup there: teardown, not a failure of
# the run (a failure that abandoned the object has been reported already).
_LOOP_CLOSED = 'Event loop is closed'

# Where jax logs (INFO) each platform it probed for and could not start, and why.
_XLA_BRIDGE = os.path.join('jax', '_src', 'xla_bridge.py')


class QuietLibraries(python_logging.Filter):
  """Drops jax's absent-backend notes, orbax's and asyncio's INFO records and the warnings
  above, and the tracebacks of their other warnings (those come from background threads; the
  failure itself reaches the command's main)."""

  def filter(self, record):
    if (record.pathname.endswith(_XLA_BRIDGE) and record.levelno < python_logging.WARNING
        and str(record.msg).startswith('Unable to initialize backend')
        and 'cannot open shared object file' in record.getMessage()):
      # Not installed: the backends that exist are what jax.devices() says (hardware.json). A
      # backend that is installed but fails to start (a TPU held by another process) keeps its
      # line, the only place its reason appears.
      return False
    if '/orbax/' in record.pathname or '/asyncio/' in record.pathname:
      if any(text in str(record.msg) for text in _EXPECTED):
        return False
      if 'exception was never retrieved' in str(record.msg) and _ORPHANED_READ in (
          record.getMessage()):
        return False
      record.exc_info, record.exc_text, record.stack_info = None, None, None
      return record.levelno >= python_logging.WARNING
    return True


def _after_the_failure(args) -> bool:
  """Whether an unraisable or thread exception is the aftermath of a failure reported already:
  an orphaned read of a damaged checkpoint, or a cleanup after orbax closed its event loop."""
  if getattr(getattr(args, 'object', None), '__name__', '') == _ORPHANED_READ:
    return True
  return isinstance(args.exc_value, RuntimeError) and str(args.exc_value) == _LOOP_CLOSED


def one_warning(what: str):
  """A sys/threading hook that logs an exception as one warning line, once per distinct line (a
  failed write repeats the same line from every callback); an orphaned read of a damaged
  checkpoint (above) is not logged again, nor an object's cleanup after its event loop closed."""
  seen = set()

  def hook(args) -> None:
    if _after_the_failure(args):
      return
    line = f'{what}: {errors.brief(args.exc_value)}'
    if line not in seen:
      seen.add(line)
      logging.warning('%s', line)
  return hook


def install() -> None:
  """Installs the filter and the hooks; calling it again changes nothing."""
  for target in (logging.get_absl_handler(), python_logging.getLogger('asyncio')):
    if not any(isinstance(f, QuietLibraries) for f in target.filters):
      target.addFilter(QuietLibraries())
  if not getattr(threading.excepthook, 'one_line', False):
    threading.excepthook = one_warning('a background thread stopped')
    threading.excepthook.one_line = True
    sys.unraisablehook = interrupts.silencing(one_warning('ignored in a callback'))
