"""scikit-learn's `load_digits`: 1,797 real 8x8 handwritten digits (UCI), installed with sklearn.

It has no official split; a fixed permutation (independent of the run's seed) makes one.
"""
import numpy as np

from gan_jax import errors
from gan_jax.data import splits

DEFAULTS = dict(num_validation=300, num_test=297)


def load(data_config, split: str) -> np.ndarray:
  """Images [N, 8, 8, 1] float32 in [0, 1] (the raw values are counts 0..16)."""
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  splits.check_split(split)
  images = datasets.load_digits().images.astype(np.float32) / 16.0
  images = images[np.random.RandomState(0).permutation(len(images))][..., None]
  num_test = data_config.num_test
  if not 0 < num_test < len(images):
    raise errors.ConfigError(f'config.data.num_test={num_test} must be in (0, {len(images)})')
  if split == 'test':
    return images[len(images) - num_test:]
  return splits.hold_out_validation(images[:len(images) - num_test], split,
                                    data_config.num_validation)
