"""The paper's splits: validation rows are held out of the end of the source's training split
(MNIST: train rows 0-50k, validation 50k-60k, the 10k test images as test)."""
import numpy as np

from gan_jax import errors

SPLITS = ('train', 'validation', 'test')


def check_split(split: str) -> None:
  if split not in SPLITS:
    raise errors.ConfigError(f'split {split!r} is unknown; use one of {list(SPLITS)}')


def hold_out_validation(train_rows: np.ndarray, split: str, num_validation: int) -> np.ndarray:
  """'train' -> rows [0, N - num_validation); 'validation' -> the last num_validation rows."""
  n = len(train_rows)
  if not 0 <= num_validation < n:
    raise errors.ConfigError(
        f'config.data.num_validation={num_validation} must be in [0, {n}) for a training split '
        f'of {n} examples')
  return train_rows[:n - num_validation] if split == 'train' else train_rows[n - num_validation:]
