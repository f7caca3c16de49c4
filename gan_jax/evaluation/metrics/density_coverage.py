"""Density and coverage (Naeem et al., 2020, §3 eqs. 3-4), robust versions of precision and
recall that use the real data's k-NN balls only (k = 5, the paper's). With N real vectors X,
M samples Y and B(x, r) the ball around x reaching x's k-th nearest real neighbour:

  density  = 1 / (k M) * sum_j sum_i 1[Y_j in B(X_i)]   (how many real balls hold a sample: about
             1 when G's samples fall where the data is dense, above 1 when they crowd there);
  coverage = 1 / N * sum_i 1[some Y_j in B(X_i)]         (the share of real balls that hold one).

Inside means strictly nearer than the radius, as in the authors' release
(clovaai/generative-evaluation-prdc). On the first `dc_rows` vectors of each set, as
precision_recall.py.
"""
from typing import Dict

import numpy as np

from gan_jax.evaluation import nearest_neighbours
from gan_jax.evaluation.metrics import feature_sets


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int) -> Dict[str, float]:
  """{'density', 'coverage'} of `fake` against the k-NN balls of `real`."""
  balls_holding, holds_any = nearest_neighbours.reduce_balls(
      real, nearest_neighbours.kth_neighbour_radii(real, k), fake, np.less)
  return {'density': float(balls_holding.sum() / (k * len(fake))),
          'coverage': float(np.mean(holds_any))}


class DensityCoverage(feature_sets.NeighbourBalls):
  name = 'density_coverage'
  prefix = 'dc'
  defaults = dict(
      dc_space='inception',  # or 'classifier' (offline).
      dc_k=5,  # Naeem et al.'s k.
      dc_rows=10_000,  # Of each set (Naeem et al. use 10,000 real and 10,000 fake).
  )
  minimums = dict(dc_k=1, dc_rows=2)

  keys = ('density', 'coverage')
  measure = staticmethod(density_coverage)
