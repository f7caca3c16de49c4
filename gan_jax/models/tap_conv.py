"""A stride-1 'SAME' convolution (odd k) computed on a CPU as matrix products over its k x k
taps where one side has few channels (G's 64 -> 3 output layer, D's 3 -> 64 first layer);
XLA's own elsewhere, and on every other platform.

XLA:CPU's convolutions (Eigen) are slow when one side has a handful of channels: for
cifar10_dcgan's output layer (tests/benchmarks/conv_layers.py, batch 64) the forward pass, input
and kernel gradient took 6.6, 2.4 and 6.1 ms (the kernel gradient as one unblocked product; 37 ms
inside the step with XLA's own, which copies the wide activation with its batch and channel
axes swapped, fused with the depth-to-space, batch norm and ReLU that made it), and 2.3, 2.3 and
3.4 ms as below; PyTorch's took 4.6, 1.5 and 1.6. With r = (k - 1) / 2 and the channels of x
and y being C and O, k * k * min(C, O) <= max(C, O) ("narrow", `taps_pay`):
- forward, C narrow (im2col of the narrow side): y = x_s W, with x_s[n, h, w, (i, j, c)] =
  x[n, h + i - r, w + j - r, c] (zero outside) and W reshaped to [(i, j, c), o];
- forward, O narrow (shift and add): t = x W with W reshaped to [c, (i, j, o)], then
  y[n, h, w] = sum_ij t[n, h + i - r, w + j - r, (i, j)];
- input gradient: the same convolution of dy with the kernel flipped and in / out swapped;
- kernel gradient dw[i, j, c, o] = sum_{n, h, w} x[n, h + i - r, w + j - r, c] dy[n, h, w, o]:
  one product over the (n, h, w) rows of the narrow side shifted k * k ways and the wide side,
  summed over up to 8 blocks of the batch (as many as divide it), since XLA:CPU runs a single
  product with so long a contraction on one core.
Used for every layer, these products made the step 1.4x slower, so wide layers keep XLA's
convolution and both of its gradients. GPUs and TPUs (cuDNN, XLA:TPU) were not measured: they
keep XLA's own everywhere.
"""
import math
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

_ROW_BLOCKS = 8  # The kernel gradient's product is summed over this many batch blocks (at most).


def _conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
  r = kernel.shape[0] // 2
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), ((r, r), (r, r)),
                                      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


def _shifted(a: jax.Array, k: int, sign: int) -> jax.Array:
  """[N, H, W, C] -> [N, H, W, k * k * C]: (i, j, c) = a[n, h + sign * (i - r), w + sign *
  (j - r), c], zero outside."""
  r = k // 2
  _, height, width, _ = a.shape
  padded = jnp.pad(a, ((0, 0), (r, r), (r, r), (0, 0)))
  offsets = [(r + sign * (i - r), r + sign * (j - r)) for i in range(k) for j in range(k)]
  return jnp.concatenate([padded[:, u:u + height, v:v + width] for u, v in offsets], axis=-1)


def _shift_and_add(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """_conv(x, kernel) for few outputs: every tap's output from one product, then summed at
  their offsets."""
  n, height, width, channels = x.shape
  k, outputs = kernel.shape[0], kernel.shape[-1]
  r = k // 2
  taps = x.reshape(-1, channels) @ kernel.transpose(2, 0, 1, 3).reshape(channels, -1)
  taps = jnp.pad(taps.reshape(n, height, width, k, k, outputs),
                 ((0, 0), (r, r), (r, r), (0, 0), (0, 0), (0, 0)))
  return sum(taps[:, i:i + height, j:j + width, i, j] for i in range(k) for j in range(k))


def taps_pay(channels: int, outputs: int, k: int) -> bool:
  """Whether one side is narrow enough for the products (k * k * min(C, O) <= max(C, O))."""
  return k * k * min(channels, outputs) <= max(channels, outputs)


def _products(channels: int, outputs: int, k: int) -> bool:
  """Whether this convolution is computed as products: narrow, on a CPU (the backend jit
  compiles for by default, known at trace time)."""
  return taps_pay(channels, outputs, k) and jax.default_backend() == 'cpu'


def _forward_value(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """_conv(x, kernel): by products where a side is narrow, else XLA's."""
  k, channels, outputs = kernel.shape[0], kernel.shape[2], kernel.shape[3]
  if not _products(channels, outputs, k):
    return _conv(x, kernel)
  if channels <= outputs:
    return _shifted(x, k, 1) @ kernel.reshape(-1, outputs)
  return _shift_and_add(x, kernel)


def _rows_product(a: jax.Array, b: jax.Array) -> jax.Array:
  """a [N, H, W, P], b [N, H, W, Q] -> sum over (n, h, w) of a ⊗ b [P, Q], as one product per
  block of the batch, summed (a single product over all rows runs on one core)."""
  blocks = math.gcd(a.shape[0], _ROW_BLOCKS)
  a, b = a.reshape(blocks, -1, a.shape[-1]), b.reshape(blocks, -1, b.shape[-1])
  partial = jnp.einsum('bmp,bmq->bpq', a, b, preferred_element_type=jnp.float32)
  return partial.sum(0).astype(jnp.result_type(a, b))


def kernel_gradient(x: jax.Array, dy: jax.Array, k: int) -> jax.Array:
  """dw [k, k, C, O] of _conv(x, w) for the cotangent dy, by shifting the operand with fewer
  channels."""
  channels, outputs = x.shape[-1], dy.shape[-1]
  if outputs <= channels:  # dw[(i, j, o), c]: dy shifted the other way.
    dw = _rows_product(_shifted(dy, k, -1), x)
    return dw.reshape(k, k, outputs, channels).transpose(0, 1, 3, 2)
  return _rows_product(_shifted(x, k, 1), dy).reshape(k, k, channels, outputs)  # im2col.


@jax.custom_vjp
def conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """Stride-1 cross-correlation of x [N, H, W, C] with kernel [k, k, C, O], padded (k - 1) / 2:
  nn.Conv's and (stride 1) nn.ConvTranspose's 'SAME' output, computed as above."""
  return _forward_value(x, kernel)


def _forward(x, kernel):
  return _forward_value(x, kernel), (x, kernel)


def _backward(residuals, dy):
  x, kernel = residuals
  k, channels, outputs = kernel.shape[0], kernel.shape[2], kernel.shape[3]
  if not _products(channels, outputs, k):
    return jax.vjp(_conv, x, kernel)[1](dy)
  dx = _forward_value(dy, kernel[::-1, ::-1].swapaxes(2, 3))
  return dx, kernel_gradient(x, dy, k).astype(kernel.dtype)


conv.defvjp(_forward, _backward)


class Conv(nn.Module):
  """Drop-in for nn.Conv / nn.ConvTranspose(features, (k, k), padding='SAME', use_bias=False,
  kernel_init=kernel_init) at stride 1: its 'kernel' parameter [k, k, in, features], its
  output, computed as above."""
  features: int
  kernel_size: int = 3
  kernel_init: Callable = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    if self.kernel_size % 2 != 1:
      raise ValueError(f'tap_conv.Conv: kernel_size={self.kernel_size} must be odd ("SAME" '
                       'padding (k - 1) / 2 on each side)')
    kernel = self.param('kernel', self.kernel_init,
                        (self.kernel_size, self.kernel_size, x.shape[-1], self.features),
                        jnp.float32)
    return conv(x, kernel.astype(x.dtype))
