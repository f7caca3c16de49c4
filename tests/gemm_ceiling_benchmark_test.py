"""tests/benchmarks/gemm_ceiling.py times what it says: each product is the kernel gradient of
D's conv_2 after im2col, and the script runs (tiny batch, on the CPU)."""
import json
import os
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'tests', 'benchmarks'))
import gemm_ceiling  # pylint: disable=g-import-not-at-top,wrong-import-position


def _im2col(x, k):
  """[B, H, W, C] -> [B*H*W, k*k*C], 'SAME' zero padding, (i, j, c) order (a numpy reference)."""
  r = k // 2
  padded = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)))
  b, h, w, c = x.shape
  taps = [padded[:, i:i + h, j:j + w] for i in range(k) for j in range(k)]
  return np.stack(taps, axis=3).reshape(b * h * w, k * k * c)


# The oneDNN products are programs XLA cannot serialise ('ToProto is not implemented for thunk
# kind: onednn-fusion'): the test suite's persistent compilation cache cannot keep them, and says
# so once per program. They are compiled again each time; nothing is wrong with them.
@pytest.mark.filterwarnings('ignore:Error writing persistent compilation cache entry:UserWarning')
def test_every_product_is_the_convolutions_kernel_gradient():
  rng = np.random.default_rng(0)
  side, k = gemm_ceiling.SIDE, gemm_ceiling.K
  x = rng.normal(size=(2, side, side, gemm_ceiling.CHANNELS)).astype(np.float32)
  dy = rng.normal(size=(2 * side * side, gemm_ceiling.FEATURES)).astype(np.float32)
  p = _im2col(x, k)
  want = p.astype(np.float64).T @ dy.astype(np.float64)  # [(i, j, c), o]
  conv = gemm_ceiling.conv_kernel_gradient(jnp.asarray(x),
                                           jnp.asarray(dy.reshape(2, side, side, -1)))
  np.testing.assert_allclose(np.asarray(conv).reshape(want.shape), want, rtol=1e-4, atol=1e-3)
  forms = gemm_ceiling.products()
  assert sorted({library for library, _ in forms}) == ['Eigen', 'YNNPACK', 'oneDNN']
  for (library, layout), fn in forms.items():
    operand = p.T.copy() if layout == "P' dy" else p
    got = np.asarray(fn(jnp.asarray(operand), jnp.asarray(dy)))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3, err_msg=f'{library} {layout}')
    # Each row times the library it names: its product is handed to that library (YNNPACK
    # declines the transposed operand, which Eigen then computes, as the docstring says).
    program = fn.lower(jnp.asarray(operand), jnp.asarray(dy)).compile().as_text()
    engaged = {'YNNPACK': 'ynn_fusion' in program, 'oneDNN': 'onednn' in program}
    expected = {'YNNPACK': library == 'YNNPACK' and layout == "P' dy",
                'oneDNN': library == 'oneDNN'}
    assert engaged == expected, (library, layout)
  images = jnp.asarray(x), jnp.asarray(dy.reshape(2, side, side, -1))
  for what, fn in gemm_ceiling.from_activations().items():
    np.testing.assert_allclose(np.asarray(fn(*images)).reshape(want.shape), want, rtol=1e-4,
                               atol=1e-3, err_msg=what)


@pytest.mark.slow
def test_the_script_prints_and_writes_its_table(tmp_path):
  out = tmp_path / 'gemm.json'
  run = subprocess.run([sys.executable, os.path.join('tests', 'benchmarks', 'gemm_ceiling.py'),
                        '--batch=1', '--rounds=1', '--repeats=1', f'--json={out}'], cwd=ROOT,
                       capture_output=True, text=True, check=False, timeout=600)
  assert run.returncode == 0, run.stderr[-3000:]
  with open(out) as f:
    table = json.load(f)
  assert table['gflop'] == 2 * 256 * 576 * 128 / 1e9
  names = [(r['what'], r['operands']) for r in table['rows']]
  assert len(names) == 6 + 3 + 3 and all(r['ms'] > 0 for r in table['rows'])
  for what, operands in names:
    assert f'| {what} | {operands} |' in run.stdout
