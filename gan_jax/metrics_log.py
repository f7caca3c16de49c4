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
      # clu's TensorBoard writer imports TensorFlow (seconds): only when a run really starts.
      from clu import metric_writers  # pylint: disable=g-import-not-at-top
      self._jsonl = open(os.path.join(workdir, 'metrics.jsonl'), 'a', encoding='utf-8')
      self._tensorboard = metric_writers.SummaryWriter(workdir)

  def write(self, step: int, scalars: Mapping[str, float]) -> dict:
    """Logs `scalars` at `step` with steps/s since the previous call; returns what was written."""
    now = time.monotonic()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
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
      self._tensorboard.write_scalars(step, {k: v for k, v in record.items() if k != 'step'})
    return record

  def write_image(self, step: int, name: str, image: np.ndarray) -> None:
    if self._enabled:
      self._tensorboard.write_images(step, {name: image[None]})

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
