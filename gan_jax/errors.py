"""Errors the user can fix.

`gan_jax.main` prints any `GanJaxError` as one line and exits non-zero, so every message must name
what is wrong and how to fix it, in one sentence.
"""


class GanJaxError(Exception):
  """Base class: a problem with the user's input, not a bug."""


class ConfigError(GanJaxError):
  """A config value is invalid or two values contradict each other."""


class DatasetUnavailableError(GanJaxError):
  """The dataset asked for is not on this machine (and cannot be downloaded here)."""


class CheckpointError(GanJaxError):
  """No usable checkpoint where one is required."""


class WorkdirError(GanJaxError):
  """The workdir holds a different run; writing into it would mix or overwrite results."""


class NonFiniteLossError(GanJaxError):
  """A loss became NaN or Inf during training."""


class Preempted(Exception):
  """SIGTERM stopped training after checkpointing the step it reached: not an error, but not a
  finished run either (exit status 143, so schedulers and sweeps rerun it)."""
  EXIT_STATUS = 143  # 128 + SIGTERM, what a process killed by SIGTERM reports.
