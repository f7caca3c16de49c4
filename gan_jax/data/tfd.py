"""The Toronto Face Database as distributed for the 2014 paper: a user-supplied `TFD_48x48.mat`.

The file holds `images` [N, 48, 48] (uint8) and `folds` [N, 5]: for fold f, folds[:, f] is
1 for train, 2 for validation, 3 for test, 0 for unlabelled examples. The released TFD
experiment trains on the unlabelled set; Parzen evaluation uses each fold's validation and test.
"""
import os

import numpy as np

from gan_jax import errors
from gan_jax.data import splits

DEFAULTS = dict(path='', fold=0, train_sets=('unlabeled',))
_SET_CODES = {'unlabeled': 0, 'train': 1, 'validation': 2, 'test': 3}
NUM_FOLDS = 5


def read_mat(path: str):
  """(images [N, 48, 48] uint8, folds [N, 5] int) from a MATLAB v5 file."""
  from scipy import io  # pylint: disable=g-import-not-at-top
  if not path or not os.path.exists(path):
    raise errors.DatasetUnavailableError(
        f'TFD file {path!r} not found; TFD is not redistributable: set config.data.path to your '
        'copy of TFD_48x48.mat')
  try:
    contents = io.loadmat(path)
  except (ValueError, OSError, TypeError) as e:
    raise errors.DatasetUnavailableError(f'{path} is not a readable MATLAB file ({e})') from e
  missing = [k for k in ('images', 'folds') if k not in contents]
  if missing:
    raise errors.DatasetUnavailableError(f'{path} lacks the variables {missing} of TFD_48x48.mat')
  images, folds = contents['images'], contents['folds']
  if images.ndim != 3 or folds.shape != (len(images), NUM_FOLDS):
    raise errors.DatasetUnavailableError(
        f'{path}: expected images [N, 48, 48] and folds [N, {NUM_FOLDS}], got {images.shape} and '
        f'{folds.shape}')
  return images.astype(np.uint8), folds.astype(np.int64)


def select(folds: np.ndarray, fold: int, sets) -> np.ndarray:
  """Row indices of `fold` whose set is one of `sets` ('unlabeled', 'train', 'validation', 'test')."""
  if not 0 <= fold < NUM_FOLDS:
    raise errors.ConfigError(f'config.data.fold={fold} must be in [0, {NUM_FOLDS})')
  unknown = [s for s in sets if s not in _SET_CODES]
  if unknown:
    raise errors.ConfigError(f'TFD sets {unknown} are unknown; use {list(_SET_CODES)}')
  return np.flatnonzero(np.isin(folds[:, fold], [_SET_CODES[s] for s in sets]))


def load(data_config, split: str) -> np.ndarray:
  """Images [N, 48, 48, 1] uint8; 'train' is `config.data.train_sets` of the chosen fold."""
  splits.check_split(split)
  images, folds = read_mat(data_config.path)
  sets = tuple(data_config.train_sets) if split == 'train' else (split,)
  return images[select(folds, data_config.fold, sets)][..., None]
