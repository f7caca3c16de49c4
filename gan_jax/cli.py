"""How every launch command ends when something goes wrong: one line on stderr naming the thing
and the fix, and an exit status, never a traceback.

  bad input (errors.GanJaxError, a FetchError)         -> 1
  a file or directory that cannot be read or written   -> 1
  (a --root / --dir / --output that is a file, read-only or full storage)
  Ctrl-C / SIGTERM / SIGHUP at any moment (interrupts)  -> 130 / 143 / 129
  a run preempted inside the command (errors.Preempted) -> its status (130 / 143)

`install` goes first in the command's module, before its heavy imports, so that a signal during
start-up is remembered and acted on when main starts (gan_jax/interrupts.py). The libraries'
chatter is kept out of the log as in gan_jax.main (gan_jax/library_logs.py).
"""
import os
import signal
import sys
from typing import Callable

from gan_jax import errors
from gan_jax import interrupts
from gan_jax import library_logs

install = interrupts.install


def _line(program: str, text: str, status: int) -> None:
  for signum in interrupts.SIGNALS:  # A second signal must not cut the exit short.
    signal.signal(signum, signal.SIG_IGN)
  print(f'{program}: {text}', file=sys.stderr, flush=True)
  sys.stdout.flush()
  os._exit(status)  # pylint: disable=protected-access  (library threads: no waiting on them)


def one_line(program: str, expected: tuple = ()) -> Callable:
  """Decorates a command's main(argv): its failures end as described above. `expected`: more
  exception types of the command's own that carry a one-line message (FetchError)."""
  def decorate(main):
    def wrapped(argv):
      library_logs.install()  # Commands that train or evaluate in-process log as gan_jax.main.
      try:
        interrupts.arm()
        result = main(argv)
        interrupts.check()  # A signal that a finaliser or library swallowed on its way.
        return result
      except (errors.GanJaxError, *expected) as e:
        _line(program, f'error: {e}', 1)
      except errors.Preempted as e:
        _line(program, f'{e}; nothing was written for it', e.exit_status)
      except (KeyboardInterrupt, interrupts.Interrupted) as e:
        signum = getattr(e, 'signum', signal.SIGINT)
        _line(program, f'{interrupts.describe(signum)}; what was finished is kept (runs resume, '
              'finished evaluations are reused): run the same command to go on', 128 + signum)
      except OSError as e:
        where = f' ({e.filename})' if e.filename else ''
        _line(program, f'error: {e.strerror or e}{where}; check that path and its storage, then '
              'run the same command', 1)
    return wrapped
  return decorate


def run(program: str, main: Callable, **kwargs) -> None:
  """absl's app.run(main), with a signal while flags are parsed also ending in one line."""
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top

  def parse(argv):
    """absl's parsing, with a bad flag as this command's one line (absl ends on its help
    hint, after the error)."""
    try:
      return flags.FLAGS(argv)
    except flags.Error as e:
      _line(program, f'error: {e}; see --helpshort', 1)

  kwargs.setdefault('flags_parser', parse)
  try:
    app.run(main, **kwargs)
  except (KeyboardInterrupt, interrupts.Interrupted) as e:
    signum = getattr(e, 'signum', signal.SIGINT)
    _line(program, 'interrupted while starting; run the same command again', 128 + signum)
