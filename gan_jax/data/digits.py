"""scikit-learn's `load_digits`: 1,797 real 8x8 handwritten digits (UCI), installed with sklearn.

It has no official split; a fixed permutation (independent of the run's seed) makes one.
"""
import numpy as np

from gan_jax import errors
from gan_jax.data import splits

DEFAULTS = dict(num_validation=300, num_test=297)


def _paper_split(data_config, split: str, rows: np.ndarray) -> np.ndarray:
  splits.check_split(split)
  rows = rows[np.random.RandomState(0).permutation(len(rows))]
  num_test = data_config.num_test
  if not 0 < num_test < len(rows):
    raise errors.ConfigError(f'config.data.num_test={num_test} must be in (0, {len(rows)})')
  if split == 'test':
    return rows[len(rows) - num_test:]
  return splits.hold_out_validation(rows[:len(rows) - num_test], split, data_config.num_validation)


def load(data_config, split: str) -> np.ndarray:
  """Images [N, 8, 8, 1] float32 in [0, 1] (the raw values are counts 0..16)."""
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  images = datasets.load_digits().images.astype(np.float32) / 16.0
  return _paper_split(data_config, split, images[..., None])


def load_labels(data_config, split: str) -> np.ndarray:
  """The digit (0-9) of each row of `load`."""
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  return _paper_split(data_config, split, datasets.load_digits().target.astype(np.int64))
