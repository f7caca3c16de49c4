"""MNIST-format IDX files read directly (LeCun et al.'s format, also used by Fashion-MNIST).

The Debian package dataset-fashion-mnist ships the real files recompressed, so tfds's checksums
reject them; reading the format ourselves works for any copy of MNIST-format files.
"""
import gzip
import os

import numpy as np

from gan_jax import errors
from gan_jax.data import splits

DEFAULTS = dict(path='/usr/share/datasets/fashion-mnist', num_validation=10000)

# The third byte of the magic number gives the element type; only unsigned bytes are used.
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0D: np.float32}
_FILES = {('images', 'train'): 'train-images-idx3-ubyte',
          ('images', 'test'): 't10k-images-idx3-ubyte',
          ('labels', 'train'): 'train-labels-idx1-ubyte',
          ('labels', 'test'): 't10k-labels-idx1-ubyte'}


def read_idx(path: str) -> np.ndarray:
  """Reads one IDX file (optionally gzip-compressed) into an array of its declared shape."""
  opener = gzip.open if path.endswith('.gz') else open
  with opener(path, 'rb') as f:
    data = f.read()
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
    raise errors.DatasetUnavailableError(f'{path} is not an IDX file (bad magic number)')
  ndim = data[3]
  header = 4 + 4 * ndim
  shape = tuple(int(d) for d in np.frombuffer(data[4:header], '>u4'))
  dtype = np.dtype(_IDX_DTYPES[data[2]]).newbyteorder('>')
  expected = header + int(np.prod(shape)) * dtype.itemsize
  if len(data) != expected:
    raise errors.DatasetUnavailableError(
        f'{path} holds {len(data)} bytes but its header {shape} needs {expected}; the file is '
        'truncated or corrupt')
  return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder('='))


def _find(directory: str, stem: str) -> str:
  for name in (stem + '.gz', stem):
    if os.path.exists(os.path.join(directory, name)):
      return os.path.join(directory, name)
  raise errors.DatasetUnavailableError(
      f'no {stem}[.gz] in {directory!r}; point config.data.path at a directory of MNIST-format '
      'IDX files (for Fashion-MNIST: apt-get install dataset-fashion-mnist)')


def _paper_split(data_config, split: str, what: str) -> np.ndarray:
  splits.check_split(split)
  source_split = 'test' if split == 'test' else 'train'
  rows = read_idx(_find(data_config.path, _FILES[(what, source_split)]))
  if split == 'test':
    return rows
  return splits.hold_out_validation(rows, split, data_config.num_validation)


def load(data_config, split: str) -> np.ndarray:
  """Images [N, 28, 28, 1] uint8 of the paper split `split`."""
  images = _paper_split(data_config, split, 'images')
  if images.ndim != 3:
    raise errors.DatasetUnavailableError(f'{data_config.path}: expected [N, H, W] images, got '
                                         f'shape {images.shape}')
  return images[..., None]


def load_labels(data_config, split: str) -> np.ndarray:
  """Class labels [N] (int64) of the same rows as `load`."""
  return _paper_split(data_config, split, 'labels').astype(np.int64)
