"""The disk cache of feature-network outputs on real images (gan_jax/evaluation/feature_cache.py)."""
import os

import numpy as np
import pytest

from gan_jax.evaluation import feature_cache


class _Network:
  """A stand-in feature network that counts its passes: features = 2x, posteriors = softmax."""

  def __init__(self, posteriors=True):
    self.calls, self.posteriors = 0, posteriors

  def __call__(self, images):
    self.calls += 1
    flat = images.reshape(len(images), -1).astype(np.float64)
    probs = np.exp(flat) / np.exp(flat).sum(1, keepdims=True) if self.posteriors else None
    return probs, 2 * flat


@pytest.fixture
def images():
  return np.random.default_rng(0).random((5, 4, 4, 1)).astype(np.float32)


def test_the_same_network_and_images_are_served_from_disk(images, tmp_path):
  network = _Network()
  first = feature_cache.cached(network, images, 'net|a', str(tmp_path))
  second = feature_cache.cached(network, images.copy(), 'net|a', str(tmp_path))
  assert network.calls == 1 and len(os.listdir(tmp_path)) == 1
  for a, b in zip(first, second):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(second[1], 2 * images.reshape(5, -1))


@pytest.mark.parametrize('change', ['network', 'pixel', 'shape'])
def test_any_change_of_network_or_images_misses(images, tmp_path, change):
  network = _Network()
  feature_cache.cached(network, images, 'net|a', str(tmp_path))
  other = images.copy()
  if change == 'pixel':
    other[3, 1, 2, 0] += 1e-6
  elif change == 'shape':
    other = other.reshape(5, 2, 8, 1)
  _, features = feature_cache.cached(network, other, 'net|b' if change == 'network' else 'net|a',
                                     str(tmp_path))
  assert network.calls == 2 and len(os.listdir(tmp_path)) == 2
  np.testing.assert_array_equal(features, 2 * other.reshape(5, -1))


def test_features_without_posteriors_round_trip(images, tmp_path):
  network = _Network(posteriors=False)
  feature_cache.cached(network, images, 'pool3', str(tmp_path))
  probs, features = feature_cache.cached(network, images, 'pool3', str(tmp_path))
  assert probs is None and network.calls == 1 and features.shape == (5, 16)


@pytest.mark.parametrize('damage', ['garbage', 'truncated', 'pickled', 'other_rows',
                                    'other_width', 'nan'])
def test_a_damaged_entry_is_computed_again_and_replaced(images, tmp_path, damage):
  # 'other_width' and 'nan' were read as they were: a traceback in FID's matrix product, or a
  # NaN FID printed as a number.
  network = _Network()
  cached = lambda: feature_cache.cached(network, images, 'net', str(tmp_path), width=16)
  cached()
  (entry,) = [tmp_path / n for n in os.listdir(tmp_path)]
  if damage == 'garbage':
    entry.write_bytes(b'not an npz')
  elif damage == 'truncated':
    entry.write_bytes(entry.read_bytes()[:100])
  elif damage == 'pickled':
    np.savez(entry, features=np.array([{'a': 1}], dtype=object))
  elif damage == 'other_rows':
    np.savez(entry, features=np.zeros((3, 16)))
  elif damage == 'other_width':
    np.savez(entry, features=np.zeros((5, 100)))
  else:
    np.savez(entry, features=np.full((5, 16), np.nan))
  _, features = cached()
  assert network.calls == 2
  np.testing.assert_array_equal(features, 2 * images.reshape(5, -1))
  _, again = cached()  # Replaced: a hit.
  assert network.calls == 2
  np.testing.assert_array_equal(again, features)


def test_an_unwritable_cache_costs_the_cache_not_the_result(images, tmp_path):
  blocked = tmp_path / 'file'
  blocked.write_text('a file where the cache directory would be')
  network = _Network()
  _, features = feature_cache.cached(network, images, 'net', str(blocked / 'cache'))
  np.testing.assert_array_equal(features, 2 * images.reshape(5, -1))
  assert os.listdir(tmp_path) == ['file']
