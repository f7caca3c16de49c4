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
