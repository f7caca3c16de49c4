"""tests/benchmarks/accelerator.py runs (at --small sizes, on the CPU) so that it cannot rot."""
import json
import math
import os
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_the_accelerator_benchmark_writes_its_table(tmp_path):
  out = tmp_path / 'table.json'
  run = subprocess.run([sys.executable, os.path.join('tests', 'benchmarks', 'accelerator.py'),
                        '--small', f'--json={out}'], cwd=ROOT, capture_output=True, text=True,
                       check=False, timeout=900)
  assert run.returncode == 0, run.stderr[-3000:]
  with open(out) as f:
    table = json.load(f)
  assert table['small'] and table['devices'] >= 1
  names = [r['what'] for r in table['rows']]
  for expected in ('mnist K=1', 'mnist K=20', 'mnist population 3 (vmap)',
                   'mnist bare-JAX scan of 20', 'cifar10_dcgan (batch 64)',
                   'cifar10_dfm (batch 64)', 'inception pool3 (batch 2)'):
    assert expected in names
  assert any(n.startswith('parzen protocol') for n in names)
  for row in table['rows']:
    assert math.isfinite(row['ours']) and row['ours'] > 0, row
    if row['reference'] is not None:  # The speed-up is the reference over ours (rates: inverse).
      expected = (row['ours'] / row['reference'] if row['unit'].endswith('/s')
                  else row['reference'] / row['ours'])
      assert row['speedup'] == pytest.approx(expected)
  printed = [line for line in run.stdout.splitlines() if line.startswith('| ')]
  assert len(printed) == len(table['rows']) + 2  # The header, its rule, one line a row.
