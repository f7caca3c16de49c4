"""TensorFlow Datasets by name (mnist, fashion_mnist, cifar10, ...), read without TensorFlow.

Training reads prepared array_record files through `builder.as_data_source`, which needs no
TensorFlow. Preparing a stock dataset does need TensorFlow and internet: do it once with
`tfds build NAME --file_format=array_record --data_dir=DIR`, or set config.data.download=True.

A split is read into memory whole, or with config.data.in_memory=False (ImageNet 32x32: 1.28M
images) kept on disk as a `LazyRows`, which grain's pipeline reads a batch of records at a time.

Each image is preprocessed as it is read (`preprocess`): config.data.downsample (mean-pooling),
or config.data.preprocessing='central_crop', the ImageNet 32x32 of Warde-Farley & Bengio (2017):
"rescaled central crops following Krizhevsky et al. (2012)", who rescaled the shorter side to 256
and cut the central square; here the central square of side min(H, W) is cut and box-resized to
config.data.image_size (each pixel the area average of what it covers). Use it on
full-size images: tfds `imagenet2012` (manual download, config.data.manual_dir).
"""
import tempfile
from typing import Callable, Optional, Tuple
from unittest import mock

import numpy as np

from gan_jax import errors
from gan_jax.data import splits

DEFAULTS = dict(name='mnist', data_dir='', manual_dir='', download=False, num_validation=10000,
                image_key='image', label_key='label',
                train_split='train',  # The tfds split behind 'train'/'validation' (STL-10: unlabelled).
                test_split='test',  # The tfds split behind 'test' (ImageNet 32x32: validation).
                in_memory=True,  # False: read records on demand (splits too large for memory).
                downsample=1,  # Integer factor of mean-pooling per side (STL-10: 96 -> 48 is 2).
                preprocessing='none',  # or 'central_crop' (ImageNet 32x32 as the paper made it).
                image_size=32)  # The side of the central crops.
# Fields that change the rows read; another source ignores them (data.validate refuses them there).
TRANSFORMS = ('preprocessing', 'image_size')
PREPROCESSING = ('none', 'central_crop')


def describe(data_config) -> str:
  """What the images are, for a table: the dataset and its preprocessing."""
  if data_config.preprocessing == 'central_crop':
    return (f'tfds {data_config.name}, central crops box-resized to {data_config.image_size}x'
            f'{data_config.image_size}')
  return f'tfds {data_config.name}, images as stored'


def check(data_config) -> None:
  """One-line errors for preprocessing keys that cannot work."""
  preprocessing = data_config.preprocessing
  if preprocessing not in PREPROCESSING:
    raise errors.ConfigError(f'config.data.preprocessing={preprocessing!r} is unknown; use one of '
                             f'{list(PREPROCESSING)}')
  if preprocessing == 'central_crop' and data_config.downsample != 1:
    raise errors.ConfigError('config.data.preprocessing=central_crop resizes the images itself; '
                             'leave config.data.downsample at 1')


def _builder(data_config):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  try:
    # For a dataset not prepared in data_dir, tfds (4.9.10, DatasetInfo.initialize_from_bucket)
    # makes a temporary directory for metadata from GCS and never removes it, one per builder
    # (GCS is off: it stays empty). Made inside a directory of ours, it goes with it.
    with tempfile.TemporaryDirectory(prefix='gan_jax_tfds_') as scratch, \
        mock.patch.object(tempfile, 'tempdir', scratch):
      return tfds.builder(data_config.name, data_dir=data_config.data_dir or None,
                          file_format='array_record')
  except tfds.core.registered.DatasetNotFoundError as e:
    raise errors.ConfigError(
        f'config.data.name={data_config.name!r} is not a tfds dataset ({e})'.splitlines()[0]) from e
  except Exception as e:  # pylint: disable=broad-except  (e.g. a corrupt dataset_info.json:
    # protobuf's ParseError; any failure to read the prepared files means the same thing)
    where = data_config.data_dir or '~/tensorflow_datasets'
    detail = str(e).splitlines()[0] if str(e) else type(e).__name__
    raise errors.DatasetUnavailableError(
        f'the prepared tfds dataset {data_config.name!r} in {where} cannot be read ({detail}); '
        f'delete its directory there and prepare it again') from e


def _prepare(builder, data_config) -> None:
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  where = data_config.data_dir or 'the default tfds data_dir (~/tensorflow_datasets)'
  how = (f'prepare it on a machine with internet (`tfds build {data_config.name} '
         f'--file_format=array_record --data_dir=DIR`, or --config.data.download=True) and set '
         'config.data.data_dir, or give the downloaded archives in config.data.manual_dir')
  if data_config.name in ('mnist', 'fashion_mnist'):
    how += (', or read MNIST-format IDX files with --config.data.source=idx --config.data.path=DIR'
            + (' (the original MNIST files: python -m launch.fetch_data mnist --dir=DIR)'
               if data_config.name == 'mnist' else ''))
  if not data_config.download:
    raise errors.DatasetUnavailableError(
        f'tfds dataset {data_config.name!r} is not prepared in {where}; {how}')
  config = tfds.download.DownloadConfig(manual_dir=data_config.manual_dir or None)
  try:
    builder.download_and_prepare(download_config=config)
  except Exception as e:  # Any failure to fetch or build means the same thing to the user.
    raise errors.DatasetUnavailableError(
        f'could not prepare tfds dataset {data_config.name!r} ({type(e).__name__}: '
        f'{str(e).splitlines()[0] if str(e) else ""}); {how}') from e


def downsample(image: np.ndarray, factor: int) -> np.ndarray:
  """Mean of each factor x factor block of an [H, W, C] image, rounded back to its dtype."""
  if factor == 1:
    return image
  h, w, c = image.shape
  if h % factor or w % factor:
    raise errors.ConfigError(f'config.data.downsample={factor} does not divide the {h}x{w} images')
  pooled = image.reshape(h // factor, factor, w // factor, factor, c).mean(axis=(1, 3))
  return np.round(pooled).astype(image.dtype) if image.dtype == np.uint8 else pooled


def central_crop(image: np.ndarray, size: int) -> np.ndarray:
  """The central min(H, W) square of an [H, W, C] uint8 image, box-resized to [size, size, C]."""
  h, w, _ = image.shape
  side = min(h, w)
  top, left = (h - side) // 2, (w - side) // 2
  square = image[top:top + side, left:left + side]
  if side == size:
    return np.ascontiguousarray(square)
  # Area weights: output pixel o covers [o, o + 1) * side / size of the input, each input pixel
  # counted by its overlap with that interval (PIL's BOX samples pixel centres instead).
  scale = side / size
  low, high = np.arange(size)[:, None] * scale, (np.arange(size)[:, None] + 1) * scale
  pixels = np.arange(side)[None]
  weights = np.clip(np.minimum(high, pixels + 1) - np.maximum(low, pixels), 0, None) / scale
  resized = np.einsum('oi,ijc,pj->opc', weights, square.astype(np.float64), weights)
  return np.clip(np.round(resized), 0, 255).astype(image.dtype)


def preprocess(data_config) -> Callable[[np.ndarray], np.ndarray]:
  """The per-image transform of config.data (identity when there is none)."""
  if data_config.preprocessing == 'central_crop':
    size = data_config.image_size
    return lambda image: central_crop(np.asarray(image), size)
  factor = data_config.downsample
  return lambda image: downsample(np.asarray(image), factor)


class LazyRows:
  """Rows of a tfds data source read on demand, indexed like the uint8 array `_read` returns:
  len, shape, dtype, ndim; an int gives one example, a slice a narrower view, an integer array
  the stacked examples. Only the records asked for are read (and preprocessed by `transform`)."""

  def __init__(self, source, key: str, transform: Callable = np.asarray,
               rows: Optional[np.ndarray] = None,
               example: Optional[Tuple[Tuple[int, ...], np.dtype]] = None):
    self._source, self._key, self._transform = source, key, transform
    self._rows = np.arange(len(source)) if rows is None else rows
    if example is None:  # (shape, dtype) of one example, from the first record.
      first = self._decode(source[int(self._rows[0])])
      example = (first.shape, first.dtype)
    self._example = example
    self.shape, self.dtype = (len(self._rows), *example[0]), example[1]
    self.ndim = len(self.shape)

  def _decode(self, record) -> np.ndarray:
    return self._transform(record[self._key])

  def __len__(self) -> int:
    return len(self._rows)

  def __getitem__(self, index):
    if isinstance(index, slice):
      return LazyRows(self._source, self._key, self._transform, self._rows[index], self._example)
    if np.ndim(index) == 0:
      return self._decode(self._source[int(self._rows[index])])
    records = [int(i) for i in self._rows[np.asarray(index)]]
    try:  # One batched read of the array_record files.
      fetched = self._source.__getitems__(records)
    except (AttributeError, TypeError):  # tfds.testing.mock_data's sources lack a working one.
      fetched = [self._source[i] for i in records]
    return np.stack([self._decode(r) for r in fetched]) if records else np.zeros(
        (0, *self.shape[1:]), self.dtype)

  def __array__(self, dtype=None, copy=None):
    del copy  # Always a new array.
    return self[np.arange(len(self))].astype(dtype or self.dtype)


def _read(source, key: str, transform: Callable = np.asarray) -> np.ndarray:
  """Reads every record of a random-access source, images preprocessed one at a time so that
  only the preprocessed copy of the split is ever held in memory."""
  return np.stack([transform(source[i][key]) for i in range(len(source))])


def _data_source(builder, data_config, split: str):
  try:
    return builder.as_data_source(split)
  except KeyError:  # tfds: "`splits` is empty" when the dataset was never prepared.
    if builder.is_prepared():
      raise
    _prepare(builder, data_config)
    return builder.as_data_source(split)
  except NotImplementedError as e:  # Prepared, but as tfrecord: not random-access.
    raise errors.DatasetUnavailableError(
        f'tfds dataset {data_config.name!r} is prepared as tfrecord, which cannot be read without '
        f'TensorFlow; rebuild it with `tfds build {data_config.name} --file_format=array_record`'
    ) from e


def _paper_split(data_config, split: str, key: str, transform: Callable = np.asarray,
                 lazy: bool = False):
  splits.check_split(split)
  builder = _builder(data_config)
  source = _data_source(builder, data_config,
                        data_config.test_split if split == 'test' else data_config.train_split)
  if len(source) == 0:
    raise errors.DatasetUnavailableError(f'the tfds split behind {split!r} of '
                                         f'{data_config.name!r} is empty')
  rows = LazyRows(source, key, transform) if lazy else _read(source, key, transform)
  if split == 'test':
    return rows
  return splits.hold_out_validation(rows, split, data_config.num_validation)


def load(data_config, split: str):
  """Images [N, H, W, C] uint8 of the paper split: validation = last rows of tfds 'train'.

  A numpy array, or a `LazyRows` with config.data.in_memory=False."""
  check(data_config)
  return _paper_split(data_config, split, data_config.image_key, preprocess(data_config),
                      lazy=not data_config.in_memory)


def load_labels(data_config, split: str) -> np.ndarray:
  """Class labels [N] of the same rows as `load`."""
  return _paper_split(data_config, split, data_config.label_key).astype(np.int64)
