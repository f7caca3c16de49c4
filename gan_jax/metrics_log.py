"""Where training metrics go: metrics.jsonl (one JSON object per logged step), TensorBoard
events, and a progress line (rate and ETA) in the log.

On resume the log is cut back to the checkpoint resumed from: records of later steps (logged
before a kill, and about to be logged again) and a line torn by the kill are dropped, so the file
holds each step once and the next record starts on a line of its own.
"""
import json
import math
import os
import time
from typing import List, Mapping, Optional

from absl import logging
import numpy as np

from gan_jax import records as records_lib


class MetricsLog:
  """Appends to workdir/metrics.jsonl and writes TensorBoard events into workdir."""

  def __init__(self, workdir: str, num_train_steps: int, start_step: int, enabled: bool = True):
    self._enabled = enabled
    self._num_train_steps = num_train_steps
    self._last_time, self._last_step = time.monotonic(), start_step
    self.records: List[dict] = []  # What the file holds up to start_step (read on resume).
    if enabled:
      # tensorboardX writes TensorBoard's event files without TensorFlow (clu's writer imports
      # TensorFlow: ~5 s at the start of every process).
      import tensorboardX  # pylint: disable=g-import-not-at-top
      path = os.path.join(workdir, 'metrics.jsonl')
      self.records = truncate(path, start_step)
      self._jsonl = open(path, 'a', encoding='utf-8')
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


def read(path: str) -> List[dict]:
  """metrics.jsonl's records, in file order; a torn or non-object line is skipped (a kill
  mid-write leaves one at the end). A missing file has none."""
  records = []
  try:
    with open(path, encoding='utf-8', errors='replace') as f:
      lines = f.read().split('\n')
  except FileNotFoundError:
    return records
  for number, line in enumerate(lines, 1):
    if not line.strip():
      continue
    try:
      record = json.loads(line)
    except ValueError:
      record = None
    if isinstance(record, dict) and isinstance(record.get('step'), int):
      records.append(record)
    elif number < len(lines):  # Not the last line, torn by a kill (it has no newline).
      logging.warning('%s: line %d is not a metrics record; skipped.', path, number)
  return records


def last_of_each_step(path: str) -> List[dict]:
  """read(path) with one record per step, the last logged (a resumed run may log a step
  twice), in step order."""
  by_step = {r['step']: r for r in read(path)}
  return [by_step[step] for step in sorted(by_step)]


def truncate(path: str, step: Optional[int]) -> List[dict]:
  """Rewrites `path` (atomically) without records after `step` and without torn lines, if it
  holds any; returns the records kept."""
  if not os.path.exists(path):
    return []
  with open(path, 'rb') as f:
    raw = f.read()
  records = read(path)
  kept = [r for r in records if step is None or r['step'] <= step]
  expected = ''.join(json.dumps(r) + '\n' for r in kept)
  if raw.decode('utf-8', errors='replace') != expected:
    dropped = len(records) - len(kept)
    if dropped:
      logging.info('%s: %d record(s) after step %d dropped (they are logged again).', path,
                   dropped, step)
    records_lib.write_text(path, expected)
  return kept


def _format_seconds(seconds: float) -> str:
  if not math.isfinite(seconds):
    return '?'
  minutes, secs = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f'{hours}:{minutes:02d}:{secs:02d}'
