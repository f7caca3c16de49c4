"""Stand-in data in the real formats, for runs that check the pipeline rather than the result
(`launch.reproduce --runlocal` where a dataset is absent, and the tests): tfds's own
`mock_data` for tfds datasets, random images in a TFD_48x48.mat or in MNIST IDX files.
"""
import contextlib
import gzip
import os

import numpy as np

from gan_jax import errors


def write_idx(path: str, array: np.ndarray) -> None:
  """An MNIST-format IDX file (gzip-compressed when path ends in .gz) holding uint8 `array`."""
  header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, '>u4').tobytes()
  opener = gzip.open if path.endswith('.gz') else open
  with opener(path, 'wb') as f:
    f.write(header + array.astype(np.uint8).tobytes())


def write_tfd_mat(path: str, num: int = 60, seed: int = 0):
  """A file with the layout of TFD_48x48.mat: images [N, 48, 48], folds [N, 5] in {0, 1, 2, 3}."""
  from scipy import io  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  images = rng.integers(0, 256, (num, 48, 48)).astype(np.uint8)
  folds = rng.integers(0, 4, (num, 5)).astype(np.uint8)
  io.savemat(path, {'images': images, 'folds': folds})
  return images, folds


@contextlib.contextmanager
def mock_data(data_config, directory: str, num_examples: int = 64):
  """Within the block, `data_config` reads random stand-in data (edited in place where the
  source reads files: they are written into `directory`)."""
  source = data_config.source
  if source == 'tfds':
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    data_config.num_validation = min(data_config.num_validation, num_examples // 4)
    with tfds.testing.mock_data(num_examples=num_examples):
      yield
    return
  os.makedirs(directory, exist_ok=True)
  rng = np.random.default_rng(0)
  if source == 'idx':  # Images and labels (the classifier-space scores need labels).
    for prefix, num in (('train', num_examples), ('t10k', num_examples // 4)):
      write_idx(os.path.join(directory, f'{prefix}-images-idx3-ubyte.gz'),
                rng.integers(0, 256, (num, 28, 28)))
      write_idx(os.path.join(directory, f'{prefix}-labels-idx1-ubyte.gz'),
                np.arange(num) % 10)
    data_config.path = directory
    data_config.num_validation = min(data_config.num_validation, num_examples // 4)
  elif source == 'tfd':
    data_config.path = os.path.join(directory, 'TFD_48x48.mat')
    write_tfd_mat(data_config.path, num=2 * num_examples)
  elif source not in ('digits', 'toy'):  # Those two need no files.
    raise errors.ConfigError(f'no stand-in data for config.data.source={source!r}')
  yield
