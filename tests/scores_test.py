import math

import numpy as np
import pytest

from gan_jax.evaluation import scores

CENTRES = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]])


def test_perfect_samples_cover_every_mode_uniformly():
  rng = np.random.default_rng(0)
  samples = np.repeat(CENTRES, 250, axis=0) + 0.02 * rng.standard_normal((1000, 2))
  result = scores.mode_coverage(samples, CENTRES, std=0.02)
  assert result['modes_covered'] == 4 and result['num_modes'] == 4
  assert result['high_quality_fraction'] > 0.98  # 3σ in 2-D keeps 98.9 %.
  assert result['mode_kl'] == pytest.approx(0.0, abs=1e-3)


def test_collapse_to_one_mode():
  samples = np.tile(CENTRES[1], (100, 1))
  result = scores.mode_coverage(samples, CENTRES, std=0.02)
  assert result['modes_covered'] == 1 and result['high_quality_fraction'] == 1.0
  assert result['mode_kl'] == pytest.approx(math.log(4))


def test_off_mode_samples_are_low_quality_and_stray_points_do_not_cover_a_mode():
  samples = np.concatenate([np.repeat(CENTRES[:2], 50, axis=0),  # Two modes, 50 each.
                            np.full((99, 2), 10.0),  # Far from everything.
                            CENTRES[2:3]])  # One stray point on a third mode.
  result = scores.mode_coverage(samples, CENTRES, std=0.02)
  assert result['high_quality_fraction'] == pytest.approx(101 / 200)
  assert result['modes_covered'] == 2  # The stray point is below 10 % of a fair share (50).
  p = np.array([50, 50, 1]) / 101
  assert result['mode_kl'] == pytest.approx(np.sum(p * np.log(p * 4)))


def test_inception_score_of_uniform_posteriors_is_one():
  mean, std = scores.inception_score(np.full((1000, 10), 0.1), num_splits=10)
  assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_of_confident_balanced_posteriors_is_the_number_of_classes():
  probs = np.eye(10)[np.arange(5000) % 10]  # One-hot, every class equally often in each split.
  mean, std = scores.inception_score(probs, num_splits=10)
  assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_of_confident_collapsed_posteriors_is_one():
  probs = np.eye(10)[np.zeros(500, int)]
  assert scores.inception_score(probs, num_splits=5)[0] == pytest.approx(1.0)


def test_frechet_distance_closed_forms():
  # Diagonal covariances: FID = ||μ1 - μ2||² + Σ_i (√a_i - √b_i)².
  a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
  mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
  expected = 1 + 4 + (1 - 3) ** 2 + (2 - 1) ** 2 + 0
  assert scores.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)
  # A rotated, non-diagonal pair with the same spectra keeps the trace term of commuting matrices.
  q = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
  assert scores.frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T) == (
      pytest.approx(expected))
  assert scores.frechet_distance(mu1, np.diag(a), mu1, np.diag(a)) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_from_samples_approaches_the_analytic_value():
  rng = np.random.default_rng(1)
  x = rng.normal(0.0, 1.0, (200_000, 2))
  y = rng.normal(3.0, 2.0, (200_000, 2))
  fid = scores.frechet_distance(*scores.gaussian_statistics(x), *scores.gaussian_statistics(y))
  assert fid == pytest.approx(2 * 9 + 2 * (2 - 1) ** 2, rel=0.01)  # ||μ||² = 18; Tr term = 2.


def test_frechet_distance_with_singular_covariances_matches_scipy_sqrtm():
  from scipy import linalg
  rng = np.random.default_rng(2)
  a = rng.standard_normal((5, 3)) @ rng.standard_normal((3, 5))  # Rank 3 of 5.
  b = rng.standard_normal((5, 5))
  cov1, cov2 = a @ a.T, b @ b.T
  expected = np.trace(cov1 + cov2 - 2 * np.real(linalg.sqrtm(cov1 @ cov2)))
  assert scores.frechet_distance(np.zeros(5), cov1, np.zeros(5), cov2) == pytest.approx(
      expected, rel=1e-6)


@pytest.mark.parametrize('n1,n2', [(12, 30), (40, 60), (200, 150)])
def test_fid_from_features_equals_fid_from_their_statistics(n1, n2):
  """The nuclear-norm path (fewer samples than dimensions) and the eigen path agree."""
  rng = np.random.default_rng(n1)
  x = rng.standard_normal((n1, 50)) @ rng.standard_normal((50, 50))
  y = rng.standard_normal((n2, 50)) * 2.0 + 1.0
  expected = scores.frechet_distance(*scores.gaussian_statistics(x), *scores.gaussian_statistics(y))
  assert scores.feature_frechet_distance(x, y) == pytest.approx(expected, rel=1e-8)


def _openai_inception_score(preds, splits):
  """openai/improved-gan's inception_score.py, its split loop transcribed (floor indexing)."""
  scores_ = []
  for i in range(splits):
    part = preds[(i * preds.shape[0] // splits):((i + 1) * preds.shape[0] // splits), :]
    kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
    kl = np.mean(np.sum(kl, 1))
    scores_.append(np.exp(kl))
  return np.mean(scores_), np.std(scores_)


def test_inception_score_splits_as_openai_when_the_count_does_not_divide():
  logits = np.random.default_rng(3).normal(size=(997, 10)) * 2
  probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  ours = scores.inception_score(probs, num_splits=10)
  np.testing.assert_allclose(ours, _openai_inception_score(probs, 10), rtol=1e-12)
  # np.array_split's remainder-first splits give another number on the same posteriors.
  first_heavy = [np.exp(np.mean(np.sum(p * (np.log(p) - np.log(p.mean(0, keepdims=True))), 1)))
                 for p in np.array_split(probs, 10)]
  assert abs(np.mean(first_heavy) - ours[0]) > 1e-6
