"""config.eval.fid_reference_stats: FID against published statistics (mu, sigma in an .npz, read
without pickles), checked against the Fréchet distance written out with scipy's sqrtm."""
import numpy as np
import pytest
from scipy import linalg

from gan_jax import errors
from gan_jax.evaluation import inception
from gan_jax.evaluation import reference_stats
from gan_jax.evaluation.metrics import base
from gan_jax.evaluation.metrics import context as context_lib
from gan_jax.evaluation.metrics import feature_scores

from conftest import small_config

DIM = 16  # Stands for pool3's 2048 (inception.POOL3_DIM, patched).


class _Images(base.Samples):
  key = 'images'

  def __init__(self, images):
    super().__init__()
    self.images = images

  def _draw(self, num, stream):
    return self.images[:num]


class _Context:
  """One feature space whose 'network' is a fixed projection of the flattened images."""

  def __init__(self, test_images):
    projection = np.random.default_rng(7).normal(size=(test_images[0].size, DIM))
    forward = lambda images: (None, images.reshape(len(images), -1) @ projection)
    self.projection = projection
    self.feature_space = context_lib.FeatureSpace(forward, test_images, no_posteriors='no logits')

  def space(self, name):
    assert name == 'inception'
    return self.feature_space


def _config(path, num):
  config = small_config()
  config.eval.metrics = ('inception',)
  config.eval.inception_weights = 'unused.npz'
  config.eval.inception_samples = num
  config.eval.fid_reference_stats = str(path)
  return config


def test_fid_against_published_statistics_is_the_frechet_distance_to_them(tmp_path, monkeypatch):
  monkeypatch.setattr(inception, 'POOL3_DIM', DIM)
  rng = np.random.default_rng(0)
  mu = rng.normal(size=DIM)
  half = rng.normal(size=(DIM, DIM))
  sigma = half @ half.T / DIM + 0.1 * np.eye(DIM)
  path = tmp_path / 'fid_stats_toy_train.npz'
  np.savez(path, mu=mu, sigma=sigma)
  images = rng.uniform(size=(300, 4, 4, 2))
  context = _Context(images[:50])
  metric = feature_scores.Inception(_config(path, 300), context)
  result = metric(_Images(images))

  features = images.reshape(300, -1) @ context.projection
  mu_g, sigma_g = features.mean(0), np.cov(features, rowvar=False)
  expected = (np.sum((mu_g - mu) ** 2) + np.trace(sigma_g + sigma)
              - 2 * np.trace(linalg.sqrtm(sigma_g @ sigma).real))
  assert result['fid'] == pytest.approx(expected, rel=1e-8)
  assert result['fid_reference'] == 'fid_stats_toy_train.npz'
  # Not the FID against the test split (which the metric computes without the key).
  against_test = feature_scores.Inception(_config('', 300), context)(_Images(images))
  assert against_test['fid_reference'] == 'test split'
  assert abs(against_test['fid'] - result['fid']) > 1.0
  # The log line and the table cell say which reference.
  assert 'FID vs fid_stats_toy_train.npz' in feature_scores.Inception.describe(result)
  assert feature_scores.Inception.table_cell([result]).startswith(
      'inception FID vs fid_stats_toy_train.npz ')
  assert ' vs ' not in feature_scores.Inception.table_cell([against_test])


def _write(path, **arrays):
  np.savez(path, **arrays)
  return path


@pytest.mark.parametrize('make, fragment', [
    (lambda p: p / 'absent.npz', 'no such file'),
    (lambda p: _write(p / 'keys.npz', mean=np.zeros(2048)), "has no mu or sigma (its keys: ['mean'])"),
    (lambda p: _write(p / 'shape.npz', mu=np.zeros(64), sigma=np.eye(64)),
     'mu (64,) and sigma (64, 64) do not fit the 2048-d features'),
    (lambda p: _write(p / 'nan.npz', mu=np.full(2048, np.nan), sigma=np.eye(2048)), 'NaN'),
    (lambda p: _write(p / 'pickled.npz', mu=np.array([{'a': 1}], dtype=object),
                      sigma=np.eye(2)), 'cannot be read as an .npz without pickles'),
    (lambda p: (p / 'text.npz').write_text('mu, sigma') and p / 'text.npz',
     'cannot be read as an .npz without pickles'),
])
def test_bad_statistics_are_one_line_naming_the_key(tmp_path, make, fragment):
  with pytest.raises(errors.ConfigError) as info:
    reference_stats.load(str(make(tmp_path)), inception.POOL3_DIM)
  message = str(info.value)
  assert fragment in message and reference_stats.CONFIG_KEY in message and '\n' not in message
