"""Kernel Inception Distance (Bińkowski et al., 2018, "Demystifying MMD GANs", §4 and App. D):
the unbiased estimate of the squared MMD between the features of G's samples and of the test
split under the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets
of equal size (mean ± std over subsets). Unlike FID it is unbiased, so it can be compared across
sample sizes; it is near 0 (and may be slightly negative) when the two sets match.
"""
from typing import Dict, List, Tuple

import numpy as np

from gan_jax.evaluation.metrics import base
from gan_jax.evaluation.metrics import feature_sets


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """k(x, y) = (xᵀy / d + 1)³ for every pair of rows, d the feature dimension."""
  return (x @ y.T / x.shape[1] + 1.0) ** 3


def unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
  """The unbiased MMD² estimate (Gretton et al., 2012, eq. 3): the within-set kernel means leave
  out the diagonal (i = j) terms."""
  m, n = len(x), len(y)
  k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
  return float((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
               + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1)) - 2 * k_xy.mean())


def kernel_inception_distance(features: np.ndarray, reference: np.ndarray, num_subsets: int,
                              subset_size: int, seed: int = 0) -> Tuple[float, float]:
  """(mean, std) of unbiased_mmd2 over `num_subsets` pairs of random subsets, each of
  min(subset_size, rows) rows drawn without replacement from each set."""
  features = np.asarray(features, np.float64)
  reference = np.asarray(reference, np.float64)
  size = min(subset_size, len(features), len(reference))
  if size < 2:
    raise ValueError(f'KID needs subsets of at least 2 rows, got {size} (features '
                     f'{features.shape}, reference {reference.shape})')
  rng = np.random.default_rng(seed)
  values = [unbiased_mmd2(features[rng.choice(len(features), size, replace=False)],
                          reference[rng.choice(len(reference), size, replace=False)])
            for _ in range(num_subsets)]
  return float(np.mean(values)), float(np.std(values))


class KID(feature_sets.FeatureSetMetric):
  """In config.eval.kid_space, on the samples of that space's IS / FID."""
  name = 'kid'
  prefix = 'kid'
  defaults = dict(
      kid_space='inception',  # or 'classifier' (offline).
      kid_subsets=100,  # Bińkowski et al.'s released code: 100 subsets of 1,000.
      kid_subset_size=1000,
  )
  minimums = dict(kid_subsets=1, kid_subset_size=2)

  def compare(self, features, test_features) -> Dict:
    ev = self.config.eval
    mean, std = kernel_inception_distance(features, test_features, ev.kid_subsets,
                                          ev.kid_subset_size, seed=ev.seed)
    return {'kid': mean, 'kid_std': std,
            'subset_size': int(min(ev.kid_subset_size, len(features), len(test_features)))}

  @staticmethod
  def describe(result: Dict) -> str:
    return f'KID ({result["space"]}) {result["kid"]:.4g} ± {result["kid_std"]:.2g}'

  @staticmethod
  def table_cell(results: List[Dict]) -> str:
    return (f'KID ({results[0]["space"]}) ×1000 '
            f'{base.spread([1000 * r["kid"] for r in results], 1000 * results[0]["kid_std"], 2)}')
