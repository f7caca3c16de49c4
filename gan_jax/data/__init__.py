"""One entry point for data: `get_dataset(config.data, split, ...)`.

config.data.source picks a loader (tfds, idx, digits, toy, tfd); each returns the whole split as
one array (uint8 images, or float32 in [0, 1]), or for a tfds split too large for memory a
`tfds_source.LazyRows` indexed the same way. Batches come from a grain pipeline whose position
(the iterator state) is saved with every checkpoint, so a resumed run reads the same batches.
"""
import dataclasses
import functools
from typing import Optional, Tuple

import grain
import ml_collections
import numpy as np

from gan_jax import errors
from gan_jax.data import digits, idx, splits, tfd, tfds_source, toy

SOURCES = {
    'tfds': tfds_source,
    'idx': idx,
    'digits': digits,
    'toy': toy,
    'tfd': tfd,
}
SPLITS = splits.SPLITS


def default_config(source: str, *, alternatives: Tuple[str, ...] = (),
                   **overrides) -> ml_collections.ConfigDict:
  """config.data for `source`: its fields with their defaults, then `overrides`.

  `alternatives` adds the fields of other sources that can serve the same dataset (MNIST: IDX
  files or tfds), so that `--config.data.source=tfds` switches on the command line with no
  unknown key; each loader reads only its own fields. Where two sources share a field name,
  `source`'s default is kept.
  """
  fields = {}
  for name in (*alternatives, source):
    if name not in SOURCES:
      raise errors.ConfigError(f'data source {name!r} is unknown; use one of {sorted(SOURCES)}')
    fields.update(SOURCES[name].DEFAULTS)
  fields['source'] = source
  # Where the training split lives while training (gan_jax/data/on_device.py): 'auto', 'device'
  # or 'host'.
  fields['placement'] = 'auto'
  unknown = sorted(set(overrides) - set(fields))
  if unknown:
    raise errors.ConfigError(f'data source {source!r} has no fields {unknown}')
  fields.update(overrides)
  return ml_collections.ConfigDict(dict(sorted(fields.items())))


def validate(data_config) -> None:
  """A field that transforms the rows of another source (its TRANSFORMS, as tfds's
  preprocessing), set away from its default, is read by nothing in this run: refused, not
  silently ignored and recorded."""
  source = data_config.get('source')
  if source not in SOURCES:
    raise errors.ConfigError(f'config.data.source={source!r} is unknown; use one of '
                             f'{sorted(SOURCES)}')
  for name, module in SOURCES.items():
    for key in getattr(module, 'TRANSFORMS', ()):
      if (name != source and key not in SOURCES[source].DEFAULTS and key in data_config
          and data_config[key] != module.DEFAULTS[key]):
        raise errors.ConfigError(
            f'config.data.{key}={data_config[key]!r} is read by the {name} source only; this run '
            f'reads config.data.source={source!r}, which ignores it: drop the flag or set '
            f'config.data.source={name}')


def load_split(data_config, split: str) -> np.ndarray:
  """The whole split as stored: uint8 images [N, H, W, C], or float32 in [0, 1] / on R^d."""
  if data_config.source not in SOURCES:
    raise errors.ConfigError(f'config.data.source={data_config.source!r} is unknown; use one of '
                             f'{sorted(SOURCES)}')
  return _checked(SOURCES[data_config.source].load(data_config, split), data_config, split)


def _where(data_config) -> str:
  return str(data_config.get('path') or data_config.get('name') or data_config.source)


def _checked(rows, data_config, split: str):
  """Rows every metric and network can take as they are: uint8 pixels, or finite floats (other
  integer types were read as floats in their own units: int8 pixels of -128..127)."""
  if not isinstance(rows, np.ndarray):  # A lazily read split (tfds_source.LazyRows): uint8.
    return rows
  if rows.dtype != np.uint8 and rows.dtype.kind != 'f':
    raise errors.DatasetUnavailableError(
        f'the {split} split of {_where(data_config)} holds {rows.dtype} values; store images as '
        'uint8 pixels (0-255) or as floats in [0, 1]')
  if rows.dtype.kind == 'f' and rows.size and not np.isfinite(rows).all():
    bad = int(np.sum(~np.isfinite(rows)))
    raise errors.DatasetUnavailableError(
        f'the {split} split of {_where(data_config)} holds {bad} NaN or infinite value(s); '
        'repair or replace the data')
  return rows


def check_like_training(rows, training, data_config, split: str) -> None:
  """A validation or test split whose examples are not shaped like the training split's (a
  test file of other images) is refused in one line, before anything is scored."""
  if tuple(rows.shape[1:]) != tuple(training.shape[1:]):
    raise errors.DatasetUnavailableError(
        f'the {split} split of {_where(data_config)} holds examples of shape '
        f'{tuple(rows.shape[1:])}, the training split {tuple(training.shape[1:])}; use the '
        'files of one dataset')


def load_labels(data_config, split: str) -> np.ndarray:
  """Class labels [N] of the rows `load_split` returns, for sources that have them."""
  source = SOURCES.get(data_config.source)
  if not hasattr(source, 'load_labels'):
    raise errors.DatasetUnavailableError(
        f'data source {data_config.source!r} has no class labels; classifier-based scores need '
        'a labelled source (digits, idx, tfds)')
  labels = source.load_labels(data_config, split)
  if labels.ndim != 1:
    raise errors.DatasetUnavailableError(
        f'the {split} labels of {_where(data_config)} have shape {labels.shape}, not one class '
        'per row; use the matching label file')
  return labels


def to_float(examples: np.ndarray) -> np.ndarray:
  """uint8 pixels -> float32 in [0, 1]; float data unchanged."""
  examples = np.asarray(examples)  # Also reads a lazily loaded split (tfds_source.LazyRows).
  if examples.dtype == np.uint8:
    return examples.astype(np.float32) * np.float32(1 / 255)
  return examples.astype(np.float32, copy=False)


@dataclasses.dataclass(frozen=True)
class Dataset:
  """A split (in memory, or a LazyRows) and an endless pipeline of training batches over it."""
  examples: np.ndarray
  batches: grain.IterDataset  # float32 [batches_per_step, batch_size, *example_shape]
  batch_size: int
  batches_per_step: int

  @property
  def example_shape(self) -> Tuple[int, ...]:
    return tuple(self.examples.shape[1:])

  @property
  def steps_per_epoch(self) -> int:
    return max((len(self.examples) // self.batch_size) // self.batches_per_step, 1)

  def pixel_means(self) -> np.ndarray:
    return to_float(self.examples).mean(axis=0)


def batch_pipeline(examples: np.ndarray, *, batch_size: int, batches_per_step: int, seed: int,
                   shard: Optional[Tuple[int, int]] = None,
                   num_threads: int = 0) -> grain.IterDataset:
  """Endless batches: each epoch a new permutation of the rows, cut into full batches, grouped
  `batches_per_step` per training step. Float32 [batches_per_step, batch_size, ...].

  `shard=(index, count)`: this process's rows of every batch only (multi-process data
  parallelism): [batches_per_step, batch_size / count, ...], the index-th equal part, so that the
  processes together read exactly the one-process batches.

  grain supplies the iterator, its checkpointable position and the mapping; the shuffle is done a
  whole epoch at a time with one numpy permutation, because grain's per-element shuffle costs
  ~6 us per example (0.6 ms per batch of 100, about 10 % of an MNIST epoch on two CPU cores).
  With jit's asynchronous dispatch the next batch is gathered while the device computes.
  """
  n = len(examples)
  if batch_size > n:
    raise errors.ConfigError(f'config.batch_size={batch_size} exceeds the {n} training examples')
  batches_per_epoch = n // batch_size

  @functools.lru_cache(maxsize=2)
  def permutation(epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)

  def gather(index: int, _) -> np.ndarray:
    epoch, position = divmod(index, batches_per_epoch)
    rows = permutation(epoch)[position * batch_size:(position + 1) * batch_size]
    if shard is not None:
      index, count = shard
      rows = rows[index * (batch_size // count):(index + 1) * (batch_size // count)]
    return to_float(examples[rows])

  # Practically endless; grain's unbounded repeat() overflows len() after map_with_index.
  ds = (grain.MapDataset.range(batches_per_epoch).repeat(2**31).map_with_index(gather)
        .batch(batches_per_step))
  return ds.to_iter_dataset(grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=0))


def get_dataset(data_config, split: str, *, batch_size: int, batches_per_step: int = 1,
                seed: int = 0, shard: Optional[Tuple[int, int]] = None) -> Dataset:
  return dataset_of(load_split(data_config, split), batch_size=batch_size,
                    batches_per_step=batches_per_step, seed=seed, shard=shard, split=split)


def dataset_of(examples, *, batch_size: int, batches_per_step: int = 1, seed: int = 0,
               shard: Optional[Tuple[int, int]] = None, split: str = 'train') -> Dataset:
  """A loaded split and its pipeline of batches in `seed`'s order."""
  if len(examples) == 0:
    raise errors.DatasetUnavailableError(f'the {split!r} split of config.data is empty')
  return Dataset(examples=examples, batch_size=batch_size, batches_per_step=batches_per_step,
                 batches=batch_pipeline(examples, batch_size=batch_size,
                                        batches_per_step=batches_per_step, seed=seed, shard=shard))
