"""tests/benchmarks/conv_layers.py runs (tiny batch, on the CPU) and its accounting holds."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT


@pytest.mark.slow
def test_the_per_layer_benchmark_weighs_each_layer_by_the_iteration(tmp_path):
  out = tmp_path / 'layers.json'
  run = subprocess.run([sys.executable, os.path.join('tests', 'benchmarks', 'conv_layers.py'),
                        '--batch=2', '--rounds=1', '--repeats=1', f'--json={out}'], cwd=ROOT,
                       capture_output=True, text=True, check=False, timeout=900)
  assert run.returncode == 0, run.stderr[-3000:]
  with open(out) as f:
    table = json.load(f)
  layers = table['layers']
  assert [l['layer'] for l in layers] == (
      [f'G deconv_{i}' for i in range(5)] + ['G output'] + [f'D conv_{i}' for i in range(6)])
  # Each network's layers chain: a layer reads what the one before it wrote (32x32 images).
  for network in 'GD':
    rows = [l for l in layers if l['layer'].startswith(network)]
    side, channels = rows[0]['input'][0], rows[0]['input'][2]
    assert (side, channels) == ((4, 256) if network == 'G' else (32, 3))
    for row in rows:
      assert row['input'] == [side, side, channels]
      side = side * row['stride'] if network == 'G' else side // row['stride']
      channels = row['features']
    assert (side, channels) == ((32, 3) if network == 'G' else (4, 256))
  # G once; D on real and fake: 2 forwards, 2 kernel gradients, 3 input gradients (1 at the
  # first layer, which only G's cotangent goes through).
  for row in layers:
    expected = ((1, 1, 1) if row['layer'].startswith('G') else
                (2, 1, 2) if row['layer'] == 'D conv_0' else (2, 3, 2))
    assert tuple(row['uses']) == expected
    for side in ('ours', 'torch'):
      assert all(t > 0 for t in row[f'{side}_ms'])
      assert row[f'{side}_per_iteration_ms'] == pytest.approx(
          np.dot(row['uses'], row[f'{side}_ms']))
  for side in ('ours', 'torch'):
    assert table[f'{side}_ms'] == pytest.approx(sum(r[f'{side}_per_iteration_ms'] for r in layers))
  assert f"ours {table['ours_ms']:.1f} ms" in run.stdout
