"""Where training metrics go: metrics.jsonl (one JSON object per logged step), TensorBoard
events, and a progress line (rate and ETA) in the log."""
import json
import math
import os
import time
from typing import Mapping

from absl import logging
import numpy as np


class MetricsLog:
  """Appends to workdir/metrics.jsonl and writes TensorBoard events into workdir."""

  def __init__(self, workdir: str, num_train_steps: int, start_step: int, enabled: bool = True):
    self._enabled = enabled
    self._num_train_steps = num_train_steps
    self._last_time, self._last_step = time.monotonic(), start_step
    if enabled:
      # tensorboardX writes TensorBoard's event files without TensorFlow (clu's writer imports
      # TensorFlow: ~5 s at the start of every process).
      import tensorboardX  # pylint: disable=g-import-not-at-top
      self._jsonl = open(os.path.join(workdir, 'metrics.jsonl'), 'a', encoding='utf-8')
      self._tensorboard = tensorboardX.SummaryWriter(workdir, flush_secs=30)

  def write(self, step: int, scalars: Mapping[str, float], untimed_seconds: float = 0.0) -> dict:
    """Logs `scalars` at `step` with steps/s since the previous call, not counting
    `untimed_seconds` spent on other work (evaluations); returns what was written."""
    now = time.monotonic()
    rate = (step - self._last_step) / max(now - self._last_time - untimed_seconds, 1e-9)
    self._last_time, self._last_step = now, step
    record = {'step': int(step), **{k: float(v) for k, v in scalars.items()},
              'steps_per_sec': rate}
    eta = (self._num_train_steps - step) / rate if rate > 0 else math.inf
    logging.info('step %d/%d (%.0f%%) | %.1f steps/s | ETA %s | %s', step, self._num_train_steps,
                 100 * step / self._num_train_steps, rate, _format_seconds(eta),
                 ' '.join(f'{k} {v:.4g}' for k, v in scalars.items()))
    if self._enabled:
      self._jsonl.write(json.dumps(record) + '\n')
      self._jsonl.flush()
      for key, value in record.items():
        if key != 'step':
          self._tensorboard.add_scalar(key, value, step)
    return record

  def write_image(self, step: int, name: str, image: np.ndarray) -> None:
    if self._enabled:
      image = np.asarray(image)
      self._tensorboard.add_image(name, image, step, dataformats='HWC' if image.ndim == 3 else 'HW')

  def close(self) -> None:
    if self._enabled:
      self._jsonl.close()
      self._tensorboard.close()


def _format_seconds(seconds: float) -> str:
  if not math.isfinite(seconds):
    return '?'
  minutes, secs = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f'{hours}:{minutes:02d}:{secs:02d}'
