"""The KID metric against a direct computation of its definition (Bińkowski et al., 2018)."""
import itertools

import numpy as np
import pytest

from gan_jax.evaluation.metrics import kid


def _mmd2_by_loops(x, y):
  """Unbiased MMD² written out pair by pair, with k(a, b) = (a·b / d + 1)³."""
  d = x.shape[1]
  k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3
  m, n = len(x), len(y)
  xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
  yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
  xy = sum(k(a, b) for a in x for b in y) / (m * n)
  return xx + yy - 2 * xy


def test_unbiased_mmd2_equals_the_pairwise_definition():
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(7, 5)), rng.normal(0.5, 1.0, size=(9, 5))
  assert kid.unbiased_mmd2(x, y) == pytest.approx(_mmd2_by_loops(x, y), rel=1e-10)


def test_subsets_are_drawn_without_replacement_and_averaged():
  rng = np.random.default_rng(1)
  x, y = rng.normal(size=(30, 4)), rng.normal(size=(25, 4))
  mean, std = kid.kernel_inception_distance(x, y, num_subsets=3, subset_size=6, seed=5)
  draw = np.random.default_rng(5)
  values = [_mmd2_by_loops(x[draw.choice(30, 6, replace=False)],
                          y[draw.choice(25, 6, replace=False)]) for _ in range(3)]
  assert (mean, std) == pytest.approx((np.mean(values), np.std(values)), rel=1e-10)
  # A subset larger than a set is cut to the smaller set: one subset is then the whole set.
  whole, _ = kid.kernel_inception_distance(x[:8], y[:8], num_subsets=1, subset_size=100)
  assert whole == pytest.approx(_mmd2_by_loops(x[:8], y[:8]), rel=1e-10)


def test_kid_is_unbiased_near_zero_for_one_distribution_and_grows_with_a_shift():
  rng = np.random.default_rng(2)
  same = [kid.kernel_inception_distance(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)),
                                        num_subsets=1, subset_size=200)[0] for _ in range(40)]
  # Unbiased: the mean over draws is 0 within its standard error (the estimate can be < 0).
  assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(len(same))
  assert min(same) < 0
  shifted = [kid.kernel_inception_distance(rng.normal(size=(200, 8)),
                                           rng.normal(shift, 1.0, size=(200, 8)), 5, 100)[0]
             for shift in (0.25, 0.5, 1.0)]
  assert 0 < shifted[0] < shifted[1] < shifted[2]


def test_too_small_subsets_are_refused():
  with pytest.raises(ValueError, match='at least 2 rows'):
    kid.kernel_inception_distance(np.zeros((1, 3)), np.zeros((5, 3)), 1, 10)
