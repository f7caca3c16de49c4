"""Batch norm as the DCGANs use it: running averages for evaluation, and, in training, the
statistics of the whole batch, across devices too when the model runs under a named axis."""
from typing import Optional

import flax.linen as nn


def batch_norm(train: bool, name: str, batch_axis: Optional[str],
               epsilon: float = 1e-5) -> nn.BatchNorm:
  """BN with momentum 0.9 for the running averages; `batch_axis`: the named data-parallel axis;
  `epsilon` added to the variance (Radford et al.'s release: 1e-8, lib/ops.py)."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=epsilon, name=name,
                      axis_name=batch_axis if train else None)
