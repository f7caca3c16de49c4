"""Errors the user can fix.

`gan_jax.main` prints any `GanJaxError` as one line and exits non-zero, so every message must name
what is wrong and how to fix it, in one sentence; `brief` puts another library's exception into
such a line as its reason.
"""


# Where orbax's message about a failed array read goes on with a dump of the TensorStore spec.
_TENSORSTORE_DUMP = ' See full TensorStore details'


def brief(error: BaseException) -> str:
  """'Type: the first line of its message' (at most 300 characters; orbax's TensorStore dump cut
  off), or 'Type' alone: another library's exception as the reason inside one line."""
  lines = str(error).split(_TENSORSTORE_DUMP)[0].splitlines()
  return f'{type(error).__name__}: {lines[0][:300]}' if lines and lines[0] else type(error).__name__


class GanJaxError(Exception):
  """Base class: a problem with the user's input, not a bug."""


class ConfigError(GanJaxError):
  """A config value is invalid or two values contradict each other."""


def require(ok: bool, message: str) -> None:
  """A config check: raises ConfigError(message), one line naming the key and its valid values."""
  if not ok:
    raise ConfigError(message)


class DatasetUnavailableError(GanJaxError):
  """The dataset asked for is not on this machine (and cannot be downloaded here)."""


class CheckpointError(GanJaxError):
  """No usable checkpoint where one is required."""


class WorkdirError(GanJaxError):
  """The workdir holds a different run; writing into it would mix or overwrite results."""


class DivergenceError(GanJaxError):
  """Training diverged: a loss left the range config.max_abs_loss allows."""


class NonFiniteLossError(DivergenceError):
  """A loss became NaN or Inf during training."""


class PeerLostError(GanJaxError):
  """A multi-process run lost one of its processes (killed, crashed, its host gone): the
  survivors stop at once (the last checkpoint is where the same command resumes)."""


class Preempted(Exception):
  """SIGTERM (a preemption) or SIGINT (Ctrl-C) stopped training after checkpointing the step it
  reached: not an error, but not a finished run either, so schedulers and sweeps rerun it. The
  exit status is the one a process killed by that signal reports: 143 for SIGTERM, 130 for SIGINT.
  """
  EXIT_STATUS = 143  # 128 + SIGTERM.

  def __init__(self, message: str, signum: int = 15):
    super().__init__(message)
    self.exit_status = 128 + signum
