"""MNIST-format IDX files read directly (LeCun et al.'s format, also used by Fashion-MNIST).

The rows come in file order, as pylearn2 read them for the 2014 paper: 'train' is the first
N - num_validation rows of the training file, 'validation' the rest (MNIST: 0-50k and 50k-60k).
Files may be gzip-compressed (name ending in .gz) or not. The real MNIST files are fetched with
`python -m launch.fetch_data mnist --dir=DIR` (checksummed); the Debian package
dataset-fashion-mnist ships Fashion-MNIST's, recompressed, so tfds's checksums reject them.
"""
import gzip
import os

import numpy as np

from gan_jax import errors
from gan_jax.data import splits

FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'  # apt-get install dataset-fashion-mnist
MNIST_DIR = '~/.cache/gan_jax/mnist'  # Where `python -m launch.fetch_data mnist` puts MNIST.
# '~' is expanded when read. pad: zero pixels added on every side (2: 28x28 -> 32x32, a side the
# DCGANs' stride-2 stacks divide).
DEFAULTS = dict(path=FASHION_MNIST_DIR, num_validation=10000, pad=0)

# The third byte of the magic number gives the element type; only unsigned bytes are used.
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0D: np.float32}
_FILES = {('images', 'train'): 'train-images-idx3-ubyte',
          ('images', 'test'): 't10k-images-idx3-ubyte',
          ('labels', 'train'): 'train-labels-idx1-ubyte',
          ('labels', 'test'): 't10k-labels-idx1-ubyte'}


def read_idx(path: str) -> np.ndarray:
  """Reads one IDX file (optionally gzip-compressed) into an array of its declared shape."""
  opener = gzip.open if path.endswith('.gz') else open
  try:
    with opener(path, 'rb') as f:
      data = f.read()
  except gzip.BadGzipFile as e:
    raise errors.DatasetUnavailableError(
        f'{path} is not a gzip file ({e}); name it without .gz if it is uncompressed, or fetch it '
        'again') from e
  except EOFError as e:
    raise errors.DatasetUnavailableError(f'{path} is truncated (the gzip stream ends early); '
                                         'fetch it again') from e
  except OSError as e:
    raise errors.DatasetUnavailableError(f'cannot read {path} ({e.strerror or e})') from e
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
    raise errors.DatasetUnavailableError(f'{path} is not an IDX file (bad magic number)')
  ndim = data[3]
  header = 4 + 4 * ndim
  if len(data) < header:
    raise errors.DatasetUnavailableError(
        f'{path} holds {len(data)} bytes, fewer than the {header} of its header ({ndim} '
        'dimensions); the file is truncated or corrupt: fetch it again')
  shape = tuple(int(d) for d in np.frombuffer(data[4:header], '>u4'))
  dtype = np.dtype(_IDX_DTYPES[data[2]]).newbyteorder('>')
  expected = header + int(np.prod(shape)) * dtype.itemsize
  if len(data) != expected:
    raise errors.DatasetUnavailableError(
        f'{path} holds {len(data)} bytes but its header {shape} needs {expected}; the file is '
        'truncated or corrupt')
  return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder('='))


def _find(directory: str, stem: str) -> str:
  directory = os.path.expanduser(directory)
  for name in (stem + '.gz', stem):
    if os.path.exists(os.path.join(directory, name)):
      return os.path.join(directory, name)
  raise errors.DatasetUnavailableError(
      f'no {stem}[.gz] in {directory!r}; point config.data.path at a directory of MNIST-format '
      f'IDX files (MNIST: python -m launch.fetch_data mnist --dir={directory}; Fashion-MNIST: '
      'apt-get install dataset-fashion-mnist)')


def _paper_split(data_config, split: str, what: str) -> np.ndarray:
  splits.check_split(split)
  source_split = 'test' if split == 'test' else 'train'
  rows = read_idx(_find(data_config.path, _FILES[(what, source_split)]))
  if split == 'test':
    return rows
  return splits.hold_out_validation(rows, split, data_config.num_validation)


def load(data_config, split: str) -> np.ndarray:
  """Images [N, 28 + 2 pad, 28 + 2 pad, 1] uint8 of the paper split `split`."""
  images = _paper_split(data_config, split, 'images')
  if images.ndim != 3:
    raise errors.DatasetUnavailableError(f'{data_config.path}: expected [N, H, W] images, got '
                                         f'shape {images.shape}')
  if images.dtype.kind == 'f' and images.size and (images.min() < 0 or images.max() > 1):
    raise errors.DatasetUnavailableError(
        f'{data_config.path}: the float IDX images hold values in [{images.min():g}, '
        f'{images.max():g}], not the [0, 1] that float pixels mean here; store uint8 pixels '
        '(0-255) or divide by 255 first')
  pad = data_config.get('pad', 0)
  if not (isinstance(pad, int) and pad >= 0):
    raise errors.ConfigError(f'config.data.pad={pad!r} must be an integer >= 0')
  if pad:
    images = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
  return images[..., None]


def load_labels(data_config, split: str) -> np.ndarray:
  """Class labels [N] (int64) of the same rows as `load`."""
  return _paper_split(data_config, split, 'labels').astype(np.int64)
