"""Improved precision and recall (Kynkäänniemi et al., 2019, §2 eqs. 1-3). Each set's manifold is
the union of balls around its feature vectors, each ball reaching its centre's k-th nearest
neighbour in the same set (k = 3, the paper's). Precision: the fraction of G's samples inside the
real manifold (how many samples are realistic); recall: the fraction of real vectors inside G's
manifold (how much of the data G covers). Inside means at most the radius away, as in the
authors' release (kynkaat/improved-precision-and-recall-metric). G's samples are compared with
the first `pr_rows` vectors of each set: the test split's, and G's of its IS / FID.
"""
from typing import Dict

import numpy as np

from gan_jax.evaluation import nearest_neighbours
from gan_jax.evaluation.metrics import feature_sets


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int) -> Dict[str, float]:
  """{'precision', 'recall'} of `fake` against `real` with k-NN balls (eq. 1's f)."""
  in_real = nearest_neighbours.reduce_balls(
      real, nearest_neighbours.kth_neighbour_radii(real, k), fake, np.less_equal)[0]
  in_fake = nearest_neighbours.reduce_balls(
      fake, nearest_neighbours.kth_neighbour_radii(fake, k), real, np.less_equal)[0]
  return {'precision': float(np.mean(in_real > 0)), 'recall': float(np.mean(in_fake > 0))}


class PrecisionRecall(feature_sets.NeighbourBalls):
  name = 'precision_recall'
  prefix = 'pr'
  defaults = dict(
      pr_space='inception',  # or 'classifier' (offline).
      pr_k=3,  # Kynkäänniemi et al.'s k.
      pr_rows=10_000,  # Of each set: k-NN radii of 10,000 vectors (the test split's size).
  )
  minimums = dict(pr_k=1, pr_rows=2)

  keys = ('precision', 'recall')
  measure = staticmethod(precision_recall)
