"""metrics.jsonl and the TensorBoard events hold the same numbers, read back independently."""
import glob
import json
import os
import struct

import numpy as np
from tensorboard.compat.proto import event_pb2

from gan_jax import metrics_log


def _events(directory):
  """Every Event in the directory's event files, read record by record (TFRecord framing: length,
  its CRC, the bytes, their CRC). Not tensorboard's EventAccumulator: it imports TensorFlow, which
  must not load into a process that runs JAX."""
  events = []
  for path in sorted(glob.glob(os.path.join(directory, 'events.out.tfevents.*'))):
    with open(path, 'rb') as f:
      content = f.read()
    offset = 0
    while offset < len(content):
      (length,) = struct.unpack('<Q', content[offset:offset + 8])
      events.append(event_pb2.Event.FromString(content[offset + 12:offset + 12 + length]))
      offset += 12 + length + 4
  return events


def test_scalars_and_images_reach_metrics_jsonl_and_tensorboard(tmp_path):
  log = metrics_log.MetricsLog(str(tmp_path), num_train_steps=10, start_step=0)
  log.write(5, {'d_loss': 1.25, 'eval/parzen/test_ll': -3.5})
  log.write(10, {'d_loss': 0.75, 'eval/parzen/test_ll': 2.0}, untimed_seconds=0.0)
  image = np.linspace(0, 1, 6 * 8 * 3, dtype=np.float32).reshape(6, 8, 3)
  log.write_image(10, 'samples', image)
  log.close()
  with open(tmp_path / 'metrics.jsonl') as f:
    records = [json.loads(line) for line in f]
  assert [(r['step'], r['d_loss']) for r in records] == [(5, 1.25), (10, 0.75)]

  values = [(e.step, v) for e in _events(str(tmp_path)) for v in e.summary.value]
  for key in ('d_loss', 'eval/parzen/test_ll', 'steps_per_sec'):
    logged = [(step, v.simple_value) for step, v in values if v.tag == key]
    assert logged == [(r['step'], np.float32(r[key])) for r in records], key
  ((step, png),) = [(step, v.image) for step, v in values if v.tag == 'samples']
  assert (step, png.height, png.width, png.colorspace) == (10, 6, 8, 3)
  assert png.encoded_image_string.startswith(b'\x89PNG')


def test_time_spent_evaluating_is_not_counted_against_training(tmp_path, monkeypatch):
  clock = iter([100.0, 110.0])  # Construction, then the write 10 s later.
  monkeypatch.setattr(metrics_log.time, 'monotonic', lambda: next(clock))
  log = metrics_log.MetricsLog(str(tmp_path), num_train_steps=100, start_step=0, enabled=False)
  record = log.write(20, {'d_loss': 1.0}, untimed_seconds=6.0)  # 6 of the 10 s evaluating.
  assert record['steps_per_sec'] == 20 / 4.0
  assert not os.listdir(tmp_path)
