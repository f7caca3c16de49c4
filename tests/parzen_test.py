import math

import numpy as np
import pytest
from scipy.special import logsumexp

from gan_jax.evaluation import parzen


def reference_log_likelihood(samples, x, sigma):
  """The formula in float64, with explicit differences (no ||x||² - 2x·μ + ||μ||² expansion)."""
  samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
  x = np.asarray(x, np.float64).reshape(len(x), -1)
  sq = np.sum((x[:, None, :] - samples[None, :, :]) ** 2, axis=2)
  d = samples.shape[1]
  return logsumexp(-sq / (2 * sigma**2), axis=1) - math.log(len(samples)) - d * math.log(
      sigma * math.sqrt(2 * math.pi))


def test_matches_float64_reference_on_mnist_sized_pixels():
  rng = np.random.default_rng(0)
  # Pixel-like data in [0, 1], 784 dimensions, mostly near 0 or 1 like MNIST.
  samples = rng.beta(0.3, 0.6, (600, 784)).astype(np.float32)
  x = rng.beta(0.3, 0.6, (40, 784)).astype(np.float32)
  for sigma in np.logspace(-1, 0, 10):
    got = parzen.parzen_log_likelihood(samples, x, sigma)
    np.testing.assert_allclose(got, reference_log_likelihood(samples, x, sigma), atol=1e-3, rtol=0)


def test_matches_reference_for_every_sigma_at_once_and_images_are_flattened():
  rng = np.random.default_rng(1)
  samples, x = rng.normal(size=(300, 4, 4, 1)), rng.normal(size=(25, 4, 4, 1))
  sigmas = [0.3, 1.0, 3.0]
  got = parzen.log_likelihoods(samples, x, sigmas)
  assert got.shape == (3, 25) and got.dtype == np.float64
  for row, sigma in zip(got, sigmas):
    np.testing.assert_allclose(row, reference_log_likelihood(samples, x, sigma), atol=1e-4)


def test_closed_form_when_all_samples_sit_at_one_point():
  rng = np.random.default_rng(2)
  centre = rng.uniform(size=16)
  samples = np.tile(centre, (50, 1))
  x = rng.uniform(size=(30, 16))
  sigma = 0.7
  expected = (-np.sum((x - centre) ** 2, axis=1) / (2 * sigma**2)
              - 16 * math.log(sigma * math.sqrt(2 * math.pi)))
  np.testing.assert_allclose(parzen.parzen_log_likelihood(samples, x, sigma), expected, atol=1e-4)


def test_select_sigma_finds_the_known_best_width():
  # One centre at 0 and validation points from N(0, τ² I): E log p = -d/2 τ²/σ² - d log σ + c,
  # which is maximal at σ = τ exactly.
  tau, d = 0.5, 10
  samples = np.zeros((5, d))
  valid = np.random.default_rng(3).normal(scale=tau, size=(4000, d))
  grid = [0.25, 0.35, 0.5, 0.7, 1.0]
  best, per_sigma = parzen.select_sigma(samples, valid, grid)
  assert best == pytest.approx(0.5)
  # Exactly, for this validation set: mean log p = -mean||x||² / 2σ² - d log(σ√(2π)).
  mean_sq = np.mean(np.sum(valid**2, axis=1))
  expected = [-mean_sq / (2 * s**2) - d * math.log(s * math.sqrt(2 * math.pi)) for s in grid]
  np.testing.assert_allclose(per_sigma, expected, atol=1e-4)


def test_chunking_gives_the_same_numbers():
  rng = np.random.default_rng(4)
  samples, x = rng.uniform(size=(200, 30)), rng.uniform(size=(53, 30))
  whole = parzen.log_likelihoods(samples, x, [0.2, 0.5], chunk_size=53)
  for chunk in (1, 7, 16):
    np.testing.assert_allclose(parzen.log_likelihoods(samples, x, [0.2, 0.5], chunk_size=chunk),
                               whole, rtol=1e-6, atol=1e-5)


def test_evaluate_reports_mean_and_standard_error_over_test_examples():
  rng = np.random.default_rng(5)
  samples, valid, test = (rng.uniform(size=(n, 8)) for n in (300, 100, 64))
  result = parzen.evaluate_parzen(samples, valid, test, sigmas=[0.1, 0.2, 0.4])
  ll = reference_log_likelihood(samples, test, result['sigma'])
  np.testing.assert_allclose(result['mean'], ll.mean(), atol=1e-4)
  np.testing.assert_allclose(result['stderr'], ll.std(ddof=1) / 8, rtol=1e-4)
  assert set(result['per_sigma']) == {'0.1', '0.2', '0.4'}
  refined = parzen.evaluate_parzen(samples, valid, test, sigmas=[0.1, 0.2, 0.4], refine=True)
  assert len(refined['per_sigma']) > 3
  assert max(refined['per_sigma'].values()) >= max(result['per_sigma'].values())


def test_refine_grid_lies_between_the_neighbours():
  fine = parzen.refine_grid([0.1, 0.2, 0.4, 0.8], 0.4)
  assert fine[0] == pytest.approx(0.2) and fine[-1] == pytest.approx(0.8) and len(fine) == 10


@pytest.mark.parametrize('samples, x, sigmas, message', [
    (np.zeros((5, 3)), np.zeros((4, 2)), [1.0], '3 dimensions but the points have 2'),
    (np.zeros((0, 3)), np.zeros((4, 3)), [1.0], 'samples must be a non-empty'),
    (np.zeros((5, 3)), np.zeros((0, 3)), [1.0], 'points must be a non-empty'),
    (np.zeros((5, 3)), np.zeros((4, 3)), [0.0], 'σ must be a finite number > 0'),
    (np.zeros((5, 3)), np.zeros((4, 3)), [-1.0, 1.0], 'σ must be a finite number > 0'),
    (np.zeros((5, 3)), np.zeros((4, 3)), [], 'σ must be a finite number > 0'),
])
def test_bad_input_is_a_clear_error(samples, x, sigmas, message):
  with pytest.raises(ValueError, match=message):
    parzen.log_likelihoods(samples, x, sigmas)


def test_nearest_neighbours_match_brute_force():
  rng = np.random.default_rng(6)
  references, x = rng.uniform(size=(500, 12)), rng.uniform(size=(37, 12))
  brute = np.argsort(np.sum((x[:, None] - references[None]) ** 2, axis=2), axis=1)[:, :3]
  np.testing.assert_array_equal(parzen.nearest_neighbours(x, references, k=3, chunk_size=8), brute)
