"""MNIST-format IDX files read directly (LeCun et al.'s format, also used by Fashion-MNIST).

The rows come in file order, as pylearn2 read them for the 2014 paper: 'train' is the first
N - num_validation rows of the training file, 'validation' the rest (MNIST: 0-50k and 50k-60k).
Files may be gzip-compressed (name ending in .gz) or not. The real MNIST files are fetched with
`python -m launch.fetch_data mnist --dir=DIR` (checksummed); the Debian package
dataset-fashion-mnist ships Fashion-MNIST's, recompressed, so tfds's checksums reject them.
"""
import gzip
import hashlib
import json
import os
import zlib

from absl import logging
import numpy as np

from gan_jax import errors
from gan_jax import records
from gan_jax.data import splits

FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'  # apt-get install dataset-fashion-mnist
MNIST_DIR = '~/.cache/gan_jax/mnist'  # Where `python -m launch.fetch_data mnist` puts MNIST.
# '~' is expanded when read. pad: zero pixels added on every side (2: 28x28 -> 32x32, a side the
# DCGANs' stride-2 stacks divide).
# verify: the files read are checked once against the known sums of the dataset config.data.name
# names (KNOWN_MD5; cached by size and modification time): 'warn' (a mismatch is a warning naming
# the file), 'strict' (an error) or 'off'.
DEFAULTS = dict(path=FASHION_MNIST_DIR, num_validation=10000, pad=0, verify='warn')
VERIFY = ('warn', 'strict', 'off')

# md5 of each file's uncompressed bytes. MNIST: the published sums (LeCun et al.'s files, as
# launch.fetch_data fetches them). Fashion-MNIST: those of the files the Debian package
# dataset-fashion-mnist (0.0~git20200523) ships, Zalando's, recompressed (the bytes inside
# unchanged).
KNOWN_MD5 = {
    'mnist': {'train-images-idx3-ubyte': '6bbc9ace898e44ae57da46a324031adb',
              'train-labels-idx1-ubyte': 'a25bea736e30d166cdddb491f175f624',
              't10k-images-idx3-ubyte': '2646ac647ad5339dbf082846283269ea',
              't10k-labels-idx1-ubyte': '27ae3e4e09519cfbb04c329615203637'},
    'fashion_mnist': {'train-images-idx3-ubyte': '8181f5470baa50b63fa0f6fddb340f0a',
                      'train-labels-idx1-ubyte': '15d484375f8d13e6eb1aabb0c3f46965',
                      't10k-images-idx3-ubyte': 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
                      't10k-labels-idx1-ubyte': '9018921c3c673c538a1fc5bad174d6f9'},
}
_VERIFIED_CACHE = os.path.join('~', '.cache', 'gan_jax', 'verified_files.json')

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
    if 'not a gzipped file' not in str(e).lower():  # A gzip file whose check failed.
      raise errors.DatasetUnavailableError(
          f'{path} is a corrupt gzip file ({e}); fetch it again') from e
    raise errors.DatasetUnavailableError(
        f'{path} is not a gzip file ({e}); name it without .gz if it is uncompressed, or fetch it '
        'again') from e
  except zlib.error as e:  # Damaged in the middle of the compressed stream.
    raise errors.DatasetUnavailableError(f'{path} is a corrupt gzip file ({e}); fetch it '
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


def md5_of(path: str) -> str:
  """md5 of the file's uncompressed bytes (a name ending in .gz is read through gzip)."""
  digest = hashlib.md5()
  try:
    with (gzip.open if path.endswith('.gz') else open)(path, 'rb') as f:
      for block in iter(lambda: f.read(1 << 20), b''):
        digest.update(block)
  except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError.
    return f'unreadable ({type(e).__name__})'
  return digest.hexdigest()


def _cached_md5(path: str) -> str:
  """md5_of(path), computed once per file version (its size and modification time)."""
  cache_path = os.path.expanduser(_VERIFIED_CACHE)
  stat = os.stat(path)
  key, version = os.path.abspath(path), [stat.st_size, stat.st_mtime_ns]
  try:
    with open(cache_path, encoding='utf-8') as f:
      cache = json.load(f)
    cache = cache if isinstance(cache, dict) else {}
  except (OSError, ValueError):
    cache = {}
  entry = cache.get(key)
  if isinstance(entry, list) and entry[:2] == version and len(entry) == 3:
    return entry[2]
  digest = md5_of(path)
  cache[key] = [*version, digest]
  try:
    records.write(cache_path, cache)
  except OSError:  # An unwritable cache costs a recomputation next time, nothing else.
    pass
  return digest


def _verify(path: str, stem: str, data_config) -> None:
  """Checks `path` against the known sum of `stem` in the dataset config.data.name names."""
  mode = data_config.get('verify', 'warn')
  errors.require(mode in VERIFY, f'config.data.verify={mode!r} is unknown; use one of '
                 f'{list(VERIFY)}')
  expected = KNOWN_MD5.get(data_config.get('name'), {}).get(stem)
  if mode == 'off' or expected is None:
    return
  digest = _cached_md5(path)
  if digest == expected:
    return
  same = [f"{name}'s {file}" for name, sums in KNOWN_MD5.items() for file, s in sums.items()
          if s == digest]
  what = f'it holds {same[0]}' if same else f'its md5 is {digest}, expected {expected}'
  message = (f'{path} is not {data_config.name}\'s {stem}: {what}; put the right file there '
             '(config.data.verify=off skips this check)')
  if mode == 'strict':
    raise errors.DatasetUnavailableError(message)
  logging.warning('%s', message)


def find(directory: str, stem: str) -> str:
  """The path of `stem` in `directory`, compressed or not (one of the two, never both)."""
  directory = os.path.expanduser(directory)
  if not os.path.isdir(directory) and os.path.exists(directory):
    raise errors.DatasetUnavailableError(f'config.data.path={directory!r} is a file; point it at '
                                         'a directory of IDX files')
  if os.path.isdir(directory) and not os.access(directory, os.R_OK | os.X_OK):
    raise errors.DatasetUnavailableError(f'cannot read the directory {directory!r} (permission '
                                         'denied); make it readable or point config.data.path '
                                         'elsewhere')
  found = [os.path.join(directory, name) for name in (stem + '.gz', stem)
           if os.path.exists(os.path.join(directory, name))]
  if len(found) == 2:
    raise errors.DatasetUnavailableError(
        f'{directory!r} holds both {stem} and {stem}.gz, which of them is the data is unclear; '
        'keep one')
  if found:
    return found[0]
  raise errors.DatasetUnavailableError(
      f'no {stem}[.gz] in {directory!r}; point config.data.path at a directory of MNIST-format '
      f'IDX files (MNIST: python -m launch.fetch_data mnist --dir={directory}; Fashion-MNIST: '
      'apt-get install dataset-fashion-mnist)')


def _paper_split(data_config, split: str, what: str) -> np.ndarray:
  splits.check_split(split)
  source_split = 'test' if split == 'test' else 'train'
  stem = _FILES[(what, source_split)]
  path = find(data_config.path, stem)
  _verify(path, stem, data_config)
  rows = read_idx(path)
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
