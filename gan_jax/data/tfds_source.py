"""TensorFlow Datasets by name (mnist, fashion_mnist, cifar10, ...), read without TensorFlow.

Training reads prepared array_record files through `builder.as_data_source`, which needs no
TensorFlow. Preparing a stock dataset does need TensorFlow and internet: do it once with
`tfds build NAME --file_format=array_record --data_dir=DIR`, or set config.data.download=True.
"""
import numpy as np

from gan_jax import errors
from gan_jax.data import splits

DEFAULTS = dict(name='mnist', data_dir='', manual_dir='', download=False, num_validation=10000,
                image_key='image', label_key='label')


def _builder(data_config):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  try:
    return tfds.builder(data_config.name, data_dir=data_config.data_dir or None,
                        file_format='array_record')
  except tfds.core.registered.DatasetNotFoundError as e:
    raise errors.ConfigError(
        f'config.data.name={data_config.name!r} is not a tfds dataset ({e})'.splitlines()[0]) from e


def _prepare(builder, data_config) -> None:
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  where = data_config.data_dir or 'the default tfds data_dir (~/tensorflow_datasets)'
  how = (f'prepare it on a machine with internet (`tfds build {data_config.name} '
         f'--file_format=array_record --data_dir=DIR`, or --config.data.download=True) and set '
         'config.data.data_dir, or give the downloaded archives in config.data.manual_dir')
  if data_config.name in ('mnist', 'fashion_mnist'):
    how += ', or read MNIST-format IDX files with --config.data.source=idx --config.data.path=DIR'
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


def _read(source, key: str) -> np.ndarray:
  """Reads every record of a random-access source; all our tfds sets fit in memory as uint8."""
  if len(source) == 0:
    raise errors.DatasetUnavailableError('the tfds split is empty')
  return np.stack([source[i][key] for i in range(len(source))])


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


def _paper_split(data_config, split: str, key: str) -> np.ndarray:
  splits.check_split(split)
  builder = _builder(data_config)
  source = _data_source(builder, data_config, 'test' if split == 'test' else 'train')
  rows = _read(source, key)
  if split == 'test':
    return rows
  return splits.hold_out_validation(rows, split, data_config.num_validation)


def load(data_config, split: str) -> np.ndarray:
  """Images [N, H, W, C] uint8 of the paper split: validation = last rows of tfds 'train'."""
  return _paper_split(data_config, split, data_config.image_key)


def load_labels(data_config, split: str) -> np.ndarray:
  """Class labels [N] of the same rows as `load`."""
  return _paper_split(data_config, split, data_config.label_key).astype(np.int64)
