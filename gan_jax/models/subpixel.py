"""A 3x3, stride-2, 'SAME' transposed convolution computed as a sub-pixel convolution.

nn.ConvTranspose(features, (3, 3), strides=(2, 2), padding='SAME') is, per axis, y[2m] =
x[m - 1] w[0] + x[m] w[2] and y[2m + 1] = x[m] w[1] (lax.conv_transpose without kernel flip).
So each of the four output phases (a_h, a_w) is a 2x2 convolution of x at its own resolution:
one stride-1 convolution to 4 x features channels, then depth-to-space (Shi et al., 2016, the
sub-pixel convolution). Same parameter (the 3x3 kernel, same name and shape), same numbers
(tests/radford_test.py checks against nn.ConvTranspose), no bias.

Why: XLA lowers the transposed convolution and its gradients to convolutions over a zero-
interleaved input, which its CPU backend computes ~4x slower than this (tests/benchmarks/
dfm_iteration.py); on GPU / TPU both are fast, and this costs 16/9 the multiply-adds.

The same holds for the input gradient of D's stride-2 convolutions, which is such a transposed
convolution: `release_conv_stride2` computes it this way (3x faster on this CPU at 32x32,
tests/benchmarks/dfm_iteration.py).
"""
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.models import tap_conv

# (tap t, phase a) -> kernel row, 3 being the zero row, and the 2x2 convolution's padding.
# 'same' (flax's): tap 0 reads x[m - 1], tap 1 x[m]: y[2m] = x[m-1] w0 + x[m] w2, y[2m+1] = x[m] w1.
# 'release' (Theano's deconv with border (1, 1), the transposed convolution padded (1, 2)): tap 0
# reads x[m], tap 1 x[m + 1]: y[2m] = x[m] w1, y[2m+1] = x[m] w0 + x[m+1] w2 (the same map turned
# by 180 degrees).
_TAPS = {'same': (np.array([[0, 3], [2, 1]]), (1, 0)),
         'release': (np.array([[1, 0], [3, 2]]), (0, 1))}


def phase_kernel(kernel: jax.Array, padding: str = 'same') -> jax.Array:
  """[3, 3, in, out] -> [2, 2, in, 4 * out]: output channels ordered (a_h, a_w, out)."""
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
  tap_row = _TAPS[padding][0]
  rows, columns = tap_row[:, None, :, None], tap_row[None, :, None, :]
  taps = padded[rows, columns]  # [t_h, t_w, a_h, a_w, in, out]
  in_channels, out_channels = kernel.shape[2:]
  return taps.transpose(0, 1, 4, 2, 3, 5).reshape(2, 2, in_channels, 4 * out_channels)


def conv_transpose_stride2(x: jax.Array, kernel: jax.Array, padding: str = 'same') -> jax.Array:
  """[N, H, W, in] -> [N, 2H, 2W, out], as lax.conv_transpose(x, kernel, (2, 2), P) with P
  'SAME' ('same') or ((1, 2), (1, 2)) ('release'; its input gradient computed as the strided
  convolution it is the adjoint of, _release_transpose)."""
  if padding == 'release':
    return _release_transpose(x, kernel)
  return _phases(x, kernel, padding)


def _phases(x: jax.Array, kernel: jax.Array, padding: str) -> jax.Array:
  """conv_transpose_stride2 as the sub-pixel convolution: one stride-1 2x2 convolution to the
  four phases, then depth-to-space."""
  n, height, width, _ = x.shape
  out_channels = kernel.shape[-1]
  pad = _TAPS[padding][1]
  phases = jax.lax.conv_general_dilated(x, phase_kernel(kernel, padding), (1, 1), (pad, pad),
                                        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  phases = phases.reshape(n, height, width, 2, 2, out_channels)
  return phases.transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * height, 2 * width, out_channels)


class ConvTransposeStride2(nn.Module):
  """Drop-in for nn.ConvTranspose(features, (3, 3), strides=(2, 2), padding=P, use_bias=False,
  kernel_init=kernel_init), P as conv_transpose_stride2's: its 'kernel' parameter, its output."""
  features: int
  kernel_init: Callable = nn.initializers.lecun_normal()
  padding: str = 'same'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param('kernel', self.kernel_init, (3, 3, x.shape[-1], self.features),
                        jnp.float32)
    return conv_transpose_stride2(x, kernel.astype(x.dtype), self.padding)


@jax.custom_vjp
def _release_transpose(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """_phases(x, kernel, 'release'), the adjoint of release_conv_stride2(., kernel^T) (below),
  whose gradients are therefore that strided convolution's (_transpose_backward): 2-3x faster on
  this CPU than the sub-pixel form's."""
  return _phases(x, kernel, 'release')


def _transpose_forward(x, kernel):
  return _phases(x, kernel, 'release'), (x, kernel)


def _transpose_backward(residuals, dy):
  """Both gradients from the adjoint: <T_w(x), dy> = <x, S_w'(dy)> with S = _release_conv at
  stride 2 and w' = w with in and out swapped. So dx = S_w'(dy), and dw is S's kernel gradient
  at input dy and cotangent x, swapped back: XLA's strided kernel gradient, 1.6-2.8x faster on
  this CPU than that of the sub-pixel form, which does 16/9 the multiply-adds
  (tests/benchmarks/conv_layers.py)."""
  x, kernel = residuals
  swapped = kernel.swapaxes(2, 3)
  dswapped = jax.vjp(lambda k: _release_conv(dy, k, 2), swapped)[1](x)[0]
  return _release_conv(dy, swapped, 2), dswapped.swapaxes(2, 3)


_release_transpose.defvjp(_transpose_forward, _transpose_backward)


def _release_conv(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
  """Theano's dnn_conv(x, kernel, subsample=(stride, stride), border_mode=(1, 1)): a true
  convolution (the kernel flipped), padded 1 on every side."""
  return jax.lax.conv_general_dilated(x, kernel[::-1, ::-1], (stride, stride), ((1, 1), (1, 1)),
                                      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


@jax.custom_vjp
def release_conv_stride2(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """_release_conv(x, kernel, 2), [N, 2H, 2W, in] -> [N, H, W, out], whose input gradient is its
  adjoint computed as a sub-pixel convolution: per axis y[o] = sum_k x[2o + k - 1] w[2 - k], so
  dx = conv_transpose(dy, w with in and out swapped, stride 2, padded (1, 2)) =
  conv_transpose_stride2(dy, w^T, 'release'). The kernel gradient is XLA's own."""
  return _release_conv(x, kernel, 2)


def _forward(x, kernel):
  return _release_conv(x, kernel, 2), (x, kernel)


def _backward(residuals, dy):
  x, kernel = residuals
  dx = _phases(dy, kernel.swapaxes(2, 3), 'release')
  dkernel = jax.vjp(lambda k: _release_conv(x, k, 2), kernel)[1](dy)[0]
  return dx, dkernel


release_conv_stride2.defvjp(_forward, _backward)


def release_conv(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
  """_release_conv, the same numbers; at stride 2 on even sizes (each of the DCGANs' layers)
  release_conv_stride2, a faster input gradient; at stride 1 tap_conv.conv of the flipped
  kernel, a faster kernel gradient where it pays (D's first layer)."""
  if stride == 2 and x.shape[1] % 2 == 0 and x.shape[2] % 2 == 0:
    return release_conv_stride2(x, kernel)
  if stride == 1:
    return tap_conv.conv(x, kernel[::-1, ::-1])
  return _release_conv(x, kernel, stride)
