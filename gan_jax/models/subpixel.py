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
"""
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

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
  'SAME' ('same') or ((1, 2), (1, 2)) ('release')."""
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
