"""The denoiser r of denoising feature matching (Warde-Farley & Bengio, 2017, §3).

A deep fully connected network on D's features: `num_layers` hidden layers of equal width,
each Dense -> batch norm -> ReLU, and a linear output back to n_h (no batch norm on it).
"""
from typing import Optional

import flax.linen as nn
import jax


class Denoiser(nn.Module):
  feature_dim: int  # n_h
  num_layers: int = 2
  width: int = 0  # 0: n_h. The paper uses widths >= n_h (ImageNet: 10 x 2048).
  batch_axis: Optional[str] = None  # A named data-parallel axis (steps.py).

  @nn.compact
  def __call__(self, h: jax.Array, train: bool = True) -> jax.Array:
    for i in range(self.num_layers):
      # No bias before batch norm: BN's offset replaces it.
      h = nn.Dense(self.width or self.feature_dim, use_bias=False, name=f'hidden_{i}')(h)
      h = nn.BatchNorm(use_running_average=not train, momentum=0.9, name=f'hidden_{i}_bn',
                       axis_name=self.batch_axis if train else None)(h)
      h = nn.relu(h)
    return nn.Dense(self.feature_dim, name='output')(h)
