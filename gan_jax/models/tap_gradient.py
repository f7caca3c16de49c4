"""A stride-1 'SAME' convolution whose kernel gradient, where it pays, is one matrix product.

The kernel gradient of y = conv(x, w) (cross-correlation, odd k x k window, padded r = (k-1)/2)
is dw[i, j, c, o] = sum_{n, h, w} x_pad[n, h + i, w + j, c] dy[n, h, w, o]. XLA lowers it to a
convolution whose batch is the channel axis, so XLA:CPU first copies x and dy with their batch
and channel axes swapped, fused with whatever made them (in G: depth-to-space, batch norm and
ReLU), a strided copy that costs more than the product itself when one side is narrow: 37 ms of
the 11 ms kernel gradient of cifar10_dcgan's 64 -> 3 output layer (tests/benchmarks/).

Here the operand with fewer channels is shifted instead, k * k zero-filled copies side by side,
and dw is one matrix product over the (n, h, w) rows of both, which XLA:CPU hands its library
with only those narrow copies transposed: with fewer outputs than inputs,
dy_s[n, h, w, (i, j, o)] = dy[n, h + r - i, w + r - j, o] and dw = dy_s^T x; else
x_s[n, h, w, (i, j, c)] = x_pad[n, h + i, w + j, c] (im2col) and dw = x_s^T dy. That pays when
the copies are narrower than the other operand (k * k * min(C, O) <= max(C, O): G's output
layer, D's first); used for every layer, it made the whole step 1.4x slower, so the others keep
XLA's kernel gradient. The input gradient and the forward pass are XLA's own in every case.
"""
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp


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


def kernel_gradient(x: jax.Array, dy: jax.Array, k: int) -> jax.Array:
  """dw [k, k, C, O] of _conv(x, w) for the cotangent dy, by shifting the operand with fewer
  channels (the one the matrix product reads transposed)."""
  channels, outputs = x.shape[-1], dy.shape[-1]
  if outputs <= channels:  # dw[(i, j, o), c]
    dw = jnp.einsum('nhwk,nhwc->kc', _shifted(dy, k, -1), x)
    return dw.reshape(k, k, outputs, channels).transpose(0, 1, 3, 2)
  dw = jnp.einsum('nhwk,nhwo->ko', _shifted(x, k, 1), dy)  # dw[(i, j, c), o]: im2col.
  return dw.reshape(k, k, channels, outputs)


def shifts_pay(channels: int, outputs: int, k: int) -> bool:
  """Whether the shifted copies are narrower than the other operand, which XLA would copy."""
  return k * k * min(channels, outputs) <= max(channels, outputs)


@jax.custom_vjp
def conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """Stride-1 cross-correlation of x [N, H, W, C] with kernel [k, k, C, O], padded (k - 1) / 2:
  nn.Conv's and (stride 1) nn.ConvTranspose's 'SAME' output, its kernel gradient as above."""
  return _conv(x, kernel)


def _forward(x, kernel):
  return _conv(x, kernel), (x, kernel)


def _backward(residuals, dy):
  x, kernel = residuals
  dx, dkernel = jax.vjp(_conv, x, kernel)[1](dy)
  k, channels, outputs = kernel.shape[0], kernel.shape[2], kernel.shape[3]
  if shifts_pay(channels, outputs, k):
    dkernel = kernel_gradient(x, dy, k).astype(kernel.dtype)
  return dx, dkernel


conv.defvjp(_forward, _backward)


class Conv(nn.Module):
  """Drop-in for nn.Conv / nn.ConvTranspose(features, (k, k), padding='SAME', use_bias=False,
  kernel_init=kernel_init) at stride 1: its 'kernel' parameter [k, k, in, features], its
  output; the kernel gradient as above."""
  features: int
  kernel_size: int = 3
  kernel_init: Callable = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param('kernel', self.kernel_init,
                        (self.kernel_size, self.kernel_size, x.shape[-1], self.features),
                        jnp.float32)
    return conv(x, kernel.astype(x.dtype))
