"""Sample-quality scores from a classifier's outputs or features, and mode coverage.

Inception score (Salimans et al., 2016) and Fréchet distance (Heusel et al., 2017) take the
posteriors p(y|x) or the features of whichever network is given (InceptionV3, or a classifier
trained on the dataset). Mode coverage needs no network: each sample is assigned to its nearest mixture component; it is *high quality* when it lies within
`threshold` standard deviations of that centre (3σ, the usual choice on the ring and grid
benchmarks). A mode is *covered* when it holds at least `min_share` of its fair share
(num_samples / num_modes) of high-quality samples, so that a few stray points do not count.
"""
from typing import Dict, Tuple

import numpy as np


def inception_score(probs: np.ndarray, num_splits: int = 10) -> Tuple[float, float]:
  """exp(E_x KL(p(y|x) || p(y))) on each of `num_splits` equal splits; (mean, std) over splits.

  The standard protocol: 50,000 samples in 10 splits of 5,000, p(y) the split's mean posterior.
  Split i holds rows [i N // splits, (i + 1) N // splits), as openai/improved-gan's
  inception_score.py indexes them (np.array_split puts the remainder first instead, which gives
  another score when splits does not divide N).
  """
  probs = np.asarray(probs, np.float64)
  if probs.ndim != 2 or len(probs) < num_splits:
    raise ValueError(f'need posteriors [N >= num_splits={num_splits}, classes], got {probs.shape}')
  split_scores = []
  n = len(probs)
  for i in range(num_splits):
    part = probs[i * n // num_splits:(i + 1) * n // num_splits]
    marginal = part.mean(axis=0, keepdims=True)
    with np.errstate(divide='ignore', invalid='ignore'):
      kl = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0).sum(axis=1)
    split_scores.append(np.exp(kl.mean()))
  return float(np.mean(split_scores)), float(np.std(split_scores))


def gaussian_statistics(features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """Mean and covariance (unbiased) of features [N, dim]."""
  features = np.asarray(features, np.float64)
  return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
  eigenvalues, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
  return (vectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
  """||μ1 - μ2||² + Tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^½), the Fréchet distance of two Gaussians (FID).

  Tr (Σ1 Σ2)^½ is computed as the sum of the square roots of the eigenvalues of the symmetric
  PSD matrix Σ1^½ Σ2 Σ1^½ (same spectrum), which stays exact for the singular covariances that
  features with dead units give, where a general matrix square root warns and loses accuracy.
  """
  mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
  cov1, cov2 = np.atleast_2d(cov1), np.atleast_2d(cov2)
  root1 = _psd_sqrt(cov1)
  product = root1 @ cov2 @ root1
  trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((product + product.T) / 2), 0, None)))
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt)


def feature_frechet_distance(features1: np.ndarray, features2: np.ndarray) -> float:
  """The Fréchet distance of the Gaussians fitted to two feature sets [N, dim] (FID).

  Equal to frechet_distance(*gaussian_statistics(features1), *gaussian_statistics(features2)).
  With fewer samples than dimensions (small evaluations: 2048-d Inception features) it avoids the
  dim x dim eigen-decompositions: with centred data A, B and Σ1 = AᵀA/(n1-1), Σ2 = BᵀB/(n2-1),
  the non-zero eigenvalues of Σ1Σ2 are the squared singular values of A Bᵀ / √((n1-1)(n2-1)), so
  Tr (Σ1Σ2)^½ is that matrix's nuclear norm (exact).
  """
  a = np.asarray(features1, np.float64)
  b = np.asarray(features2, np.float64)
  if min(len(a), len(b)) >= a.shape[1]:
    return frechet_distance(*gaussian_statistics(a), *gaussian_statistics(b))
  mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
  a, b = a - mu1, b - mu2
  n1, n2 = len(a) - 1, len(b) - 1
  trace_sqrt = np.sum(np.linalg.svd(a @ b.T, compute_uv=False)) / np.sqrt(n1 * n2)
  diff = mu1 - mu2
  return float(diff @ diff + np.sum(a * a) / n1 + np.sum(b * b) / n2 - 2 * trace_sqrt)


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
