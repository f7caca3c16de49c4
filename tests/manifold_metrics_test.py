"""Precision and recall (Kynkäänniemi et al., 2019) and density and coverage (Naeem et al., 2020)
against brute-force transcriptions of their definitions, written here vector by vector."""
import numpy as np
import pytest

from gan_jax.evaluation import nearest_neighbours
from gan_jax.evaluation.metrics import density_coverage
from gan_jax.evaluation.metrics import precision_recall


def _radius(points, i, k):
  """||points[i] - its k-th nearest other point||, by sorting the distances to the others."""
  others = [np.linalg.norm(points[i] - points[j]) for j in range(len(points)) if j != i]
  return sorted(others)[k - 1]


def _in_manifold(y, points, k):
  """Kynkäänniemi et al., eq. 1: f(y, points) = 1 if some point's k-NN ball holds y (<=)."""
  return any(np.linalg.norm(y - points[i]) <= _radius(points, i, k) for i in range(len(points)))


def _sets(seed, n_real=40, n_fake=30, shift=0.7, dim=6):
  rng = np.random.default_rng(seed)
  return rng.normal(size=(n_real, dim)), rng.normal(shift, 0.8, size=(n_fake, dim))


@pytest.mark.parametrize('seed, k', [(0, 3), (1, 1), (2, 5)])
def test_precision_and_recall_equal_eqs_1_to_3_written_out(seed, k):
  real, fake = _sets(seed)
  expected = {'precision': np.mean([_in_manifold(y, real, k) for y in fake]),
              'recall': np.mean([_in_manifold(x, fake, k) for x in real])}
  got = precision_recall.precision_recall(real, fake, k)
  assert got == pytest.approx(expected, abs=1e-12)
  assert 0 < got['precision'] < 1 and 0 < got['recall'] < 1  # Not a degenerate case.


@pytest.mark.parametrize('seed, k', [(0, 5), (3, 2)])
def test_density_and_coverage_equal_eqs_3_and_4_written_out(seed, k):
  real, fake = _sets(seed)
  radii = [_radius(real, i, k) for i in range(len(real))]
  inside = [[np.linalg.norm(y - real[i]) < radii[i] for y in fake] for i in range(len(real))]
  expected = {'density': sum(map(sum, inside)) / (k * len(fake)),
              'coverage': np.mean([any(row) for row in inside])}
  assert density_coverage.density_coverage(real, fake, k) == pytest.approx(expected, abs=1e-12)


def test_the_rim_of_a_ball_is_inside_for_precision_and_outside_for_density():
  # Real points 0, 1, 3 on a line: with k = 1 their radii are 1, 1, 2. A sample at 5 lies on the
  # rim of 3's ball: inside for Kynkäänniemi's <=, outside for Naeem's <.
  real = np.array([[0.0], [1.0], [3.0]])
  fake = np.array([[5.0], [5.0]])
  assert precision_recall.precision_recall(real, fake, 1)['precision'] == 1.0
  assert density_coverage.density_coverage(real, fake, 1) == {'density': 0.0, 'coverage': 0.0}


def test_identical_sets_and_far_sets():
  real, _ = _sets(4)
  same = precision_recall.precision_recall(real, real.copy(), 3)
  assert same == {'precision': 1.0, 'recall': 1.0}
  far = real + 100.0
  assert precision_recall.precision_recall(real, far, 3) == {'precision': 0.0, 'recall': 0.0}
  assert density_coverage.density_coverage(real, far, 5) == {'density': 0.0, 'coverage': 0.0}
  # A copy: ball i holds its own centre and the k - 1 points nearer than its k-th neighbour (the
  # k-th is on the rim: outside), so k samples a ball and the density is exactly 1.
  assert density_coverage.density_coverage(real, real.copy(), 5) == {'density': 1.0,
                                                                      'coverage': 1.0}


def test_blocks_do_not_change_the_distances_or_radii():
  real, fake = _sets(5, n_real=70, n_fake=50)
  whole = np.linalg.norm(real[:, None] - fake[None], axis=-1)
  for rows, block in nearest_neighbours.distance_blocks(real, fake, block=16):
    np.testing.assert_allclose(block, whole[rows], rtol=1e-12, atol=1e-12)
  radii = nearest_neighbours.kth_neighbour_radii(real, 3)
  np.testing.assert_allclose(radii, [_radius(real, i, 3) for i in range(len(real))], rtol=1e-12)
  with pytest.raises(ValueError, match='1 <= k < 70'):
    nearest_neighbours.kth_neighbour_radii(real, 70)


def test_too_few_vectors_for_k_is_one_line_naming_the_key():
  from conftest import small_config  # pylint: disable=g-import-not-at-top
  from gan_jax import errors  # pylint: disable=g-import-not-at-top

  class _Context:
    def space(self, name):
      return name

  config = small_config()
  config.eval.pr_space = config.eval.dc_space = 'classifier'
  rng = np.random.default_rng(6)
  for metric, key in ((precision_recall.PrecisionRecall, 'pr_k=3'),
                      (density_coverage.DensityCoverage, 'dc_k=5')):
    with pytest.raises(errors.ConfigError) as info:
      metric(config, _Context()).compare(rng.normal(size=(3, 4)), rng.normal(size=(50, 4)))
    assert f'config.eval.{key} needs more than' in str(info.value)
    assert 'there are 3 samples and 50 test rows' in str(info.value)
    result = metric(config, _Context()).compare(rng.normal(size=(20, 4)), rng.normal(size=(50, 4)))
    assert result['rows'] == 20  # The smaller set's size.
