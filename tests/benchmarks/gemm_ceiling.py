r"""Benchmark: the ceiling XLA:CPU's matrix products put on a convolution's kernel gradient here,
against PyTorch's product at the same shape (this machine's CPU).

  python tests/benchmarks/gemm_ceiling.py [--batch=64] [--rounds=3] [--repeats=10] [--json=PATH]

The kernel gradient of cifar10_dcgan's widest stride-1 layer (D's conv_2: 16x16, 64 -> 128
channels, 3x3) is, after im2col, one product dw = P^T dy with P [B*16*16, 576] and
dy [B*16*16, 128]: 2.4 GFLOP at batch 64. Timed here, the operands already laid out:
- as the gradient needs it (P^T dy, both contracted on their leading axis) and with P stored
  transposed (P' dy, the plain product), each under XLA:CPU's three libraries: YNNPACK (jax
  0.10's default for products; it declines P^T dy, which Eigen then computes), Eigen, and
  oneDNN (`xla_cpu_use_onednn` with `xla_cpu_experimental_onednn_fusion_type`);
- PyTorch's torch.mm at the same two layouts;
- XLA's own kernel gradient of the convolution (im2col included), which the models use;
- the kernel gradient from the activations through oneDNN's fast layout: the transposed im2col
  then one product, and nine products over shifted slices of the transposed, padded activation.
Where only a layout XLA never has is fast, rewriting the convolution as products cannot reach
PyTorch's speed here (docs/performance.md has the numbers, and what laying it out cost).
"""
import json
import os
import sys

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(os.path.dirname(_HERE))]
from gan_jax import cpu_kernels  # pylint: disable=g-import-not-at-top
from gan_jax.models import tap_conv
import timing  # tests/benchmarks/timing.py, beside this file

_BATCH = flags.DEFINE_integer('batch', 64, 'Examples (cifar10_dcgan: 64).')
_ROUNDS = flags.DEFINE_integer('rounds', 3, 'Rounds; the fastest is reported.')
_REPEATS = flags.DEFINE_integer('repeats', 10, 'Calls timed per round.')
_JSON = flags.DEFINE_string('json', None, 'Also write the table here as JSON.')

SIDE, CHANNELS, FEATURES, K = 16, 64, 128, 3  # D's conv_2 in cifar10_dcgan.

# XLA DebugOptions per library for matrix products (convolutions stay on Eigen, as
# gan_jax/cpu_kernels.py compiles them).
LIBRARIES = {
    'YNNPACK': cpu_kernels.OPTIONS,
    'Eigen': {'xla_cpu_experimental_ynn_fusion_type': 'LIBRARY_FUSION_TYPE_REDUCE'},
    'oneDNN': {'xla_cpu_experimental_ynn_fusion_type': 'LIBRARY_FUSION_TYPE_REDUCE',
               'xla_cpu_use_onednn': True,  # (Without it the fusion type below is ignored.)
               'xla_cpu_experimental_onednn_fusion_type': 'LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT'},
}
LAYOUTS = {'P^T dy': lambda p, dy: p.T @ dy,  # p [N, 576]: both contracted on axis 0.
           "P' dy": lambda pt, dy: pt @ dy}  # pt [576, N], stored transposed.


def products():
  """{(library, layout): jitted fn}: every XLA form timed (each computes P^T dy)."""
  return {(library, layout): jax.jit(fn, compiler_options=options)
          for library, options in LIBRARIES.items() for layout, fn in LAYOUTS.items()}


def conv_kernel_gradient(x: jax.Array, dy: jax.Array) -> jax.Array:
  """The kernel gradient of the 'SAME' 3x3 convolution through the models' own layer
  (tap_conv.conv: XLA's for a wide layer)."""
  kernel = jnp.zeros((K, K, x.shape[-1], dy.shape[-1]), x.dtype)
  return jax.vjp(lambda k: tap_conv.conv(x, k), kernel)[1](dy)[0]


def im2col_product(x: jax.Array, dy: jax.Array) -> jax.Array:
  """The kernel gradient as P' dy, P' [(i, j, c), (n, h, w)] built from x: the fast layout."""
  _, height, width, channels = x.shape
  xt = jnp.pad(x.transpose(3, 0, 1, 2), ((0, 0), (0, 0), (1, 1), (1, 1)))
  pt = jnp.concatenate([xt[:, :, i:i + height, j:j + width].reshape(channels, -1)
                        for i in range(K) for j in range(K)])
  return (pt @ dy.reshape(-1, dy.shape[-1])).reshape(K, K, channels, -1)


def shifted_products(x: jax.Array, dy: jax.Array) -> jax.Array:
  """The same as nine products, one per tap, of a slice of the transposed, padded activation
  flattened over (n, h, w) and dy placed on the same padded grid (no im2col)."""
  batch, height, width, channels = x.shape
  rows = batch * (height + 2) * (width + 2)
  xt = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))).reshape(rows, channels).T
  grid = jnp.pad(dy, ((0, 0), (0, 2), (0, 2), (0, 0))).reshape(rows, dy.shape[-1])
  length = rows - 2 * (width + 2) - 2
  offsets = [i * (width + 2) + j for i in range(K) for j in range(K)]
  return jnp.stack([xt[:, o:o + length] @ grid[:length] for o in offsets]).reshape(
      K, K, channels, -1)


def from_activations():
  """{name: jitted fn(x [B, H, W, C], dy [B, H, W, O])}: XLA's kernel gradient and the two forms
  above on oneDNN."""
  return {'XLA conv kernel gradient': cpu_kernels.jit(conv_kernel_gradient),
          'oneDNN: transposed im2col, one product': jax.jit(
              im2col_product, compiler_options=LIBRARIES['oneDNN']),
          'oneDNN: nine products of shifted slices': jax.jit(
              shifted_products, compiler_options=LIBRARIES['oneDNN'])}


def _torch_rows(p, dy, x, rounds, repeats):
  """PyTorch's product at both layouts, and nn.Conv2d's whole kernel gradient (NCHW)."""
  import torch  # pylint: disable=g-import-not-at-top
  tp, tdy, tpt = torch.from_numpy(p), torch.from_numpy(dy), torch.from_numpy(p.T.copy())
  layer = torch.nn.Conv2d(CHANNELS, FEATURES, K, padding=K // 2, bias=False)
  tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
  y = layer(tx)
  ty = torch.from_numpy(dy.reshape(y.shape[0], SIDE, SIDE, FEATURES).transpose(0, 3, 1, 2).copy())
  return [('PyTorch torch.mm', 'P^T dy', timing.best_ms(lambda: tp.T @ tdy, rounds, repeats)),
          ('PyTorch torch.mm', "P' dy", timing.best_ms(lambda: tpt @ tdy, rounds, repeats)),
          ('PyTorch Conv2d kernel gradient', 'from x and dy', timing.best_ms(
              lambda: torch.autograd.grad(y, [layer.weight], ty, retain_graph=True),
              rounds, repeats))]


def main(argv):
  del argv
  import torch  # pylint: disable=g-import-not-at-top
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  rounds, repeats, batch = _ROUNDS.value, _REPEATS.value, _BATCH.value
  rows = batch * SIDE * SIDE
  rng = np.random.default_rng(0)
  p = rng.normal(size=(rows, K * K * CHANNELS)).astype(np.float32)
  dy = rng.normal(size=(rows, FEATURES)).astype(np.float32)
  x = rng.normal(size=(batch, SIDE, SIDE, CHANNELS)).astype(np.float32)
  flops = 2 * rows * K * K * CHANNELS * FEATURES
  print(f'device: {jax.devices()[0].device_kind} (jax {jax.__version__}), torch '
        f'{torch.__version__} with {torch.get_num_threads()} threads; [{rows}, '
        f'{K * K * CHANNELS}]^T [{rows}, {FEATURES}] ({flops / 1e9:.2f} GFLOP); best of '
        f'{rounds} rounds of {repeats} calls')
  inputs = {'P^T dy': (jnp.asarray(p), jnp.asarray(dy)),
            "P' dy": (jnp.asarray(p.T.copy()), jnp.asarray(dy))}
  results = []
  for (library, layout), fn in products().items():
    args = inputs[layout]
    results.append((f'XLA {library}', layout,
                    timing.best_ms(lambda: jax.block_until_ready(fn(*args)), rounds, repeats)))
  x_on, dy_on = jnp.asarray(x), jnp.asarray(dy.reshape(batch, SIDE, SIDE, FEATURES))
  for what, fn in from_activations().items():
    results.append((what, 'from x and dy', timing.best_ms(
        lambda: jax.block_until_ready(fn(x_on, dy_on)), rounds, repeats)))
  results += _torch_rows(p, dy, x, rounds, repeats)
  print('| what | operands | ms | GFLOP/s |\n| --- | --- | --- | --- |')
  for what, layout, ms in results:
    print(f'| {what} | {layout} | {ms:.2f} | {flops / ms / 1e6:.0f} |')
  if _JSON.value:
    with open(_JSON.value, 'w') as f:
      json.dump({'device': jax.devices()[0].device_kind, 'batch': batch, 'gflop': flops / 1e9,
                 'rows': [{'what': w, 'operands': o, 'ms': ms} for w, o, ms in results]},
                f, indent=1)


if __name__ == '__main__':
  app.run(main)
