"""Sample-quality scores that need no network: mode coverage on the toy mixtures.

Each sample is assigned to its nearest mixture component; it is *high quality* when it lies within
`threshold` standard deviations of that centre (3σ, the usual choice on the ring and grid
benchmarks). A mode is *covered* when it holds at least `min_share` of its fair share
(num_samples / num_modes) of high-quality samples, so that a few stray points do not count.
"""
from typing import Dict

import numpy as np


def mode_coverage(samples: np.ndarray, centres: np.ndarray, std: float, threshold: float = 3.0,
                  min_share: float = 0.1) -> Dict[str, float]:
  """{'modes_covered', 'num_modes', 'high_quality_fraction', 'mode_kl'}: the last is
  KL(histogram of high-quality samples over modes || uniform), 0 when all modes are equally hit."""
  samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
  distances = np.linalg.norm(samples[:, None, :] - centres[None], axis=2)
  nearest = np.argmin(distances, axis=1)
  high_quality = distances[np.arange(len(samples)), nearest] <= threshold * std
  counts = np.bincount(nearest[high_quality], minlength=len(centres))
  total = counts.sum()
  if total:
    p = counts / total
    kl = float(np.sum(p[p > 0] * np.log(p[p > 0] * len(centres))))
  else:
    kl = float('nan')
  return {
      'modes_covered': int(np.sum(counts >= min_share * len(samples) / len(centres))),
      'num_modes': len(centres),
      'high_quality_fraction': float(high_quality.mean()),
      'mode_kl': kl,
  }
