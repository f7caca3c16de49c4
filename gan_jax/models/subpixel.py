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

# (tap t, phase a) -> kernel row: tap 0 reads x[m - 1], tap 1 reads x[m]; 3 is the zero row.
_TAP_ROW = np.array([[0, 3], [2, 1]])


def phase_kernel(kernel: jax.Array) -> jax.Array:
  """[3, 3, in, out] -> [2, 2, in, 4 * out]: output channels ordered (a_h, a_w, out)."""
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
  rows, columns = _TAP_ROW[:, None, :, None], _TAP_ROW[None, :, None, :]
  taps = padded[rows, columns]  # [t_h, t_w, a_h, a_w, in, out]
  in_channels, out_channels = kernel.shape[2:]
  return taps.transpose(0, 1, 4, 2, 3, 5).reshape(2, 2, in_channels, 4 * out_channels)


def conv_transpose_stride2(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """[N, H, W, in] -> [N, 2H, 2W, out], as lax.conv_transpose(x, kernel, (2, 2), 'SAME')."""
  n, height, width, _ = x.shape
  out_channels = kernel.shape[-1]
  phases = jax.lax.conv_general_dilated(x, phase_kernel(kernel), (1, 1), ((1, 0), (1, 0)),
                                        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  phases = phases.reshape(n, height, width, 2, 2, out_channels)
  return phases.transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * height, 2 * width, out_channels)


class ConvTransposeStride2(nn.Module):
  """Drop-in for nn.ConvTranspose(features, (3, 3), strides=(2, 2), padding='SAME',
  use_bias=False, kernel_init=kernel_init): its 'kernel' parameter, its output."""
  features: int
  kernel_init: Callable = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param('kernel', self.kernel_init, (3, 3, x.shape[-1], self.features),
                        jnp.float32)
    return conv_transpose_stride2(x, kernel.astype(x.dtype))
