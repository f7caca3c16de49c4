import gzip
import os
import subprocess
import sys
import tempfile

import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from gan_jax import data
from gan_jax import errors
from gan_jax.data import idx
from gan_jax.data import toy

from conftest import write_idx, write_tfd_mat, ROOT


def test_idx_roundtrip_gz_and_raw(tmp_path):
  array = np.random.default_rng(0).integers(0, 256, (5, 3, 4)).astype(np.uint8)
  for name in ('a.gz', 'b'):
    write_idx(str(tmp_path / name), array)
    np.testing.assert_array_equal(idx.read_idx(str(tmp_path / name)), array)


def test_idx_rejects_bad_magic_and_truncation(tmp_path):
  (tmp_path / 'bad').write_bytes(b'\x01\x02\x03\x04' + bytes(10))
  with pytest.raises(errors.DatasetUnavailableError, match='bad magic'):
    idx.read_idx(str(tmp_path / 'bad'))
  array = np.zeros((5, 3, 4), np.uint8)
  write_idx(str(tmp_path / 'full'), array)
  (tmp_path / 'short').write_bytes((tmp_path / 'full').read_bytes()[:-7])
  with pytest.raises(errors.DatasetUnavailableError, match='truncated'):
    idx.read_idx(str(tmp_path / 'short'))


def test_idx_paper_split(idx_dir):
  config = data.default_config('idx', path=idx_dir, num_validation=20)
  with gzip.open(os.path.join(idx_dir, 'train-images-idx3-ubyte.gz')) as f:
    all_train = np.frombuffer(f.read(), np.uint8, offset=16).reshape(120, 28, 28, 1)
  train, valid = data.load_split(config, 'train'), data.load_split(config, 'validation')
  np.testing.assert_array_equal(train, all_train[:100])  # Rows 0 .. N-20.
  np.testing.assert_array_equal(valid, all_train[100:])  # The last 20 rows.
  assert data.load_split(config, 'test').shape == (30, 28, 28, 1)


def test_idx_missing_directory_says_how_to_fix(tmp_path):
  config = data.default_config('idx', path=str(tmp_path / 'nowhere'))
  with pytest.raises(errors.DatasetUnavailableError, match='config.data.path.*dataset-fashion-mnist'):
    data.load_split(config, 'train')


def test_digits_splits_are_disjoint_and_scaled():
  config = data.default_config('digits')
  parts = {s: data.load_split(config, s) for s in data.SPLITS}
  assert [len(parts[s]) for s in data.SPLITS] == [1200, 300, 297]
  for p in parts.values():
    assert p.shape[1:] == (8, 8, 1) and p.dtype == np.float32 and 0 <= p.min() and p.max() <= 1
  rows = {s: {p.tobytes() for p in parts[s]} for s in data.SPLITS}
  assert not rows['train'] & rows['test'] and not rows['validation'] & rows['test']
  from sklearn.datasets import load_digits
  assert sum(len(p) for p in parts.values()) == len(load_digits().images)


def test_toy_ring_and_grid():
  ring = data.default_config('toy', name='ring', num_examples=4000)
  centres = toy.centres(ring)
  np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2.0)
  x = data.load_split(ring, 'train')
  nearest = np.min(np.linalg.norm(x[:, None] - centres[None], axis=2), axis=1)
  assert nearest.max() < 6 * 0.02  # Every draw lies within 6 std of a centre.
  counts = np.bincount(np.argmin(np.linalg.norm(x[:, None] - centres[None], axis=2), axis=1))
  np.testing.assert_allclose(counts / len(x), 1 / 8, atol=0.02)  # Equal weights.
  assert not np.allclose(x[:100], data.load_split(ring, 'validation')[:100])
  grid = data.default_config('toy', name='grid')
  assert toy.centres(grid).shape == (25, 2) and set(np.unique(toy.centres(grid))) == {-4, -2, 0, 2, 4}


def test_tfd_folds(tmp_path):
  path = str(tmp_path / 'TFD_48x48.mat')
  images, folds = write_tfd_mat(path)
  for fold in range(5):
    config = data.default_config('tfd', path=path, fold=fold, train_sets=('unlabeled', 'train'))
    train = data.load_split(config, 'train')
    np.testing.assert_array_equal(train[..., 0], images[np.isin(folds[:, fold], [0, 1])])
    np.testing.assert_array_equal(data.load_split(config, 'validation')[..., 0],
                                  images[folds[:, fold] == 2])
    np.testing.assert_array_equal(data.load_split(config, 'test')[..., 0], images[folds[:, fold] == 3])


def test_tfd_bad_inputs(tmp_path):
  with pytest.raises(errors.DatasetUnavailableError, match='config.data.path'):
    data.load_split(data.default_config('tfd', path=str(tmp_path / 'missing.mat')), 'train')
  from scipy import io
  io.savemat(str(tmp_path / 'wrong.mat'), {'images': np.zeros((3, 48, 48))})
  with pytest.raises(errors.DatasetUnavailableError, match='folds'):
    data.load_split(data.default_config('tfd', path=str(tmp_path / 'wrong.mat')), 'train')
  path = str(tmp_path / 'ok.mat')
  write_tfd_mat(path)
  with pytest.raises(errors.ConfigError, match='fold'):
    data.load_split(data.default_config('tfd', path=path, fold=5), 'train')


def test_tfds_paper_split_on_mock_data():
  with tfds.testing.mock_data(num_examples=50):
    config = data.default_config('tfds', name='mnist', num_validation=10)
    train, valid = data.load_split(config, 'train'), data.load_split(config, 'validation')
    test = data.load_split(config, 'test')
  assert train.shape == (40, 28, 28, 1) and valid.shape == (10, 28, 28, 1) and len(test) == 50
  assert train.dtype == np.uint8


def test_tfds_unprepared_dataset_says_how_to_provide_it(tmp_path, monkeypatch):
  config = data.default_config('tfds', name='mnist', data_dir=str(tmp_path / 'data'))
  scratch = tmp_path / 'tmp'
  scratch.mkdir()
  monkeypatch.setattr(tempfile, 'tempdir', str(scratch))
  with pytest.raises(errors.DatasetUnavailableError) as info:
    data.load_split(config, 'train')
  message = str(info.value)
  assert '\n' not in message
  for hint in ('tfds build mnist', 'array_record', 'config.data.manual_dir', 'source=idx'):
    assert hint in message
  assert not list(scratch.iterdir())  # tfds's temporary directory for GCS metadata is removed.


def test_tfds_is_read_without_tensorflow():
  code = ('import sys, tensorflow_datasets as tfds\n'
          'from gan_jax import data\n'
          'with tfds.testing.mock_data(num_examples=20):\n'
          '  ds = data.get_dataset(data.default_config("tfds", name="cifar10", num_validation=5),\n'
          '                        "train", batch_size=5, seed=0)\n'
          '  next(iter(ds.batches))\n'
          'assert "tensorflow" not in sys.modules, "tensorflow was imported"\n'
          'print("ok", ds.example_shape)\n')
  out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True,
                       check=False)
  assert out.returncode == 0, out.stderr[-2000:]
  assert 'ok (32, 32, 3)' in out.stdout


def _batches(iterator, n):
  return [next(iterator) for _ in range(n)]


def test_pipeline_is_deterministic_epochwise_and_resumable():
  examples = np.arange(40, dtype=np.float32).reshape(40, 1)
  make = lambda seed: data.batch_pipeline(examples, batch_size=4, batches_per_step=2, seed=seed)
  first = _batches(iter(make(0)), 15)
  np.testing.assert_array_equal(np.stack(first), np.stack(_batches(iter(make(0)), 15)))
  assert first[0].shape == (2, 4, 1) and first[0].dtype == np.float32
  # Each epoch (5 steps of 8 examples) visits every example once, in a new order.
  epochs = [np.concatenate([b.reshape(-1) for b in first[i:i + 5]]) for i in (0, 5, 10)]
  for epoch in epochs:
    np.testing.assert_array_equal(np.sort(epoch), np.arange(40))
  assert not np.array_equal(epochs[0], epochs[1])
  assert not np.array_equal(np.stack(first), np.stack(_batches(iter(make(1)), 15)))
  # The iterator state restores the position exactly.
  iterator = iter(make(0))
  _batches(iterator, 7)
  saved = iterator.get_state()
  resumed = iter(make(0))
  resumed.set_state(saved)
  np.testing.assert_array_equal(np.stack(_batches(resumed, 8)), np.stack(first[7:]))


def test_uint8_pixels_become_unit_interval():
  batch = data.to_float(np.array([0, 51, 255], np.uint8))
  np.testing.assert_allclose(batch, [0.0, 0.2, 1.0], rtol=1e-6)


def test_batch_larger_than_split_is_a_config_error():
  with pytest.raises(errors.ConfigError, match='batch_size'):
    data.batch_pipeline(np.zeros((3, 2), np.float32), batch_size=4, batches_per_step=1, seed=0)


def test_unknown_source():
  with pytest.raises(errors.ConfigError, match='source'):
    data.load_split(ml_collections.ConfigDict({'source': 'lmdb'}), 'train')


def test_labels_follow_the_rows_of_each_split(idx_dir, tmp_path):
  from sklearn.datasets import load_digits
  digits = load_digits()
  config = data.default_config('digits')
  for split in data.SPLITS:
    images, labels = data.load_split(config, split), data.load_labels(config, split)
    assert len(images) == len(labels)
    # Each image's label is the one sklearn gives that image.
    lookup = {img.tobytes(): t for img, t in zip((digits.images / 16.0).astype(np.float32),
                                                 digits.target)}
    assert all(lookup[i[..., 0].tobytes()] == l for i, l in zip(images, labels))
  rng = np.random.default_rng(0)
  write_idx(os.path.join(idx_dir, 'train-labels-idx1-ubyte.gz'), rng.integers(0, 10, 120))
  write_idx(os.path.join(idx_dir, 't10k-labels-idx1-ubyte.gz'), rng.integers(0, 10, 30))
  idx_config = data.default_config('idx', path=idx_dir, num_validation=20)
  assert [len(data.load_labels(idx_config, s)) for s in data.SPLITS] == [100, 20, 30]
  with pytest.raises(errors.DatasetUnavailableError, match='no class labels'):
    data.load_labels(data.default_config('toy'), 'train')
  with tfds.testing.mock_data(num_examples=30):
    labels = data.load_labels(data.default_config('tfds', name='mnist', num_validation=10), 'train')
  assert labels.shape == (20,) and labels.dtype == np.int64


def test_downsample_is_the_mean_of_each_block():
  from gan_jax.data import tfds_source
  image = np.arange(4 * 4 * 1, dtype=np.uint8).reshape(4, 4, 1)
  np.testing.assert_array_equal(tfds_source.downsample(image, 2)[..., 0],
                                np.round([[2.5, 4.5], [10.5, 12.5]]))
  with pytest.raises(errors.ConfigError, match='downsample=3'):
    tfds_source.downsample(image, 3)


def test_stl10_trains_on_the_unlabelled_split_at_48(tmp_path, monkeypatch):
  monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))  # Where tfds.builder leaves its own.
  with tfds.testing.mock_data(num_examples=12):
    config = data.default_config('tfds', name='stl10', train_split='unlabelled', downsample=2,
                                 num_validation=0)
    train = data.load_split(config, 'train')
    raw = tfds.builder('stl10', file_format='array_record').as_data_source('unlabelled')
    expected = raw[0]['image'].reshape(48, 2, 48, 2, 3).mean(axis=(1, 3))
  assert train.shape == (12, 48, 48, 3) and train.dtype == np.uint8
  np.testing.assert_allclose(train[0], expected, atol=0.5)


def test_lazy_split_reads_the_same_rows_and_batches_as_the_in_memory_one():
  """ImageNet 32x32 is read from disk on demand: the same rows, slices and training batches."""
  from gan_jax.data import tfds_source
  with tfds.testing.mock_data(num_examples=30):
    eager_config = data.default_config('tfds', name='imagenet_resized/32x32',
                                       test_split='validation', num_validation=6)
    lazy_config = data.default_config('tfds', name='imagenet_resized/32x32',
                                      test_split='validation', num_validation=6, in_memory=False)
    lazy = {s: data.load_split(lazy_config, s) for s in data.SPLITS}
    eager = {s: data.load_split(eager_config, s) for s in data.SPLITS}
    for split in data.SPLITS:
      assert isinstance(lazy[split], tfds_source.LazyRows)
      assert lazy[split].shape == eager[split].shape and lazy[split].dtype == np.uint8
      np.testing.assert_array_equal(np.asarray(lazy[split]), eager[split])
    rows = np.array([5, 0, 17, 5])
    np.testing.assert_array_equal(lazy['train'][rows], eager['train'][rows])
    np.testing.assert_array_equal(lazy['train'][3:9][1], eager['train'][4])
    np.testing.assert_array_equal(data.to_float(lazy['test'][:4]), data.to_float(eager['test'][:4]))
    lazy_batches = iter(data.get_dataset(lazy_config, 'train', batch_size=4, seed=3).batches)
    eager_batches = iter(data.get_dataset(eager_config, 'train', batch_size=4, seed=3).batches)
    for _ in range(8):  # Across an epoch boundary (24 rows = 6 batches).
      np.testing.assert_array_equal(next(lazy_batches), next(eager_batches))


def test_idx_padding_adds_a_zero_border_and_keeps_the_rows(idx_dir):
  plain = data.default_config('idx', path=idx_dir, num_validation=20)
  padded = data.default_config('idx', path=idx_dir, num_validation=20, pad=2)
  for split in ('train', 'validation', 'test'):
    a, b = data.load_split(plain, split), data.load_split(padded, split)
    assert b.shape == (a.shape[0], 32, 32, 1) and b.dtype == np.uint8
    np.testing.assert_array_equal(b[:, 2:30, 2:30], a)
    assert not b[:, :2].any() and not b[:, -2:].any() and not b[:, :, :2].any()
  padded.pad = -1
  with pytest.raises(errors.ConfigError, match='config.data.pad=-1'):
    data.load_split(padded, 'train')


def test_central_crop_cuts_the_middle_square_and_box_resizes_it():
  from gan_jax.data import tfds_source
  rng = np.random.default_rng(0)
  blocks = rng.integers(0, 256, (48, 32, 3))  # Each value fills a 2x2 block: exact averages.
  tall = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1).astype(np.uint8)  # 96 x 64
  crop = tfds_source.central_crop(tall, 32)
  np.testing.assert_array_equal(crop, blocks[8:40])  # Rows 16..79 of 96, every column.
  wide = np.ascontiguousarray(tall.transpose(1, 0, 2))  # 64 x 96: the middle columns.
  np.testing.assert_array_equal(tfds_source.central_crop(wide, 32), blocks[8:40].transpose(1, 0, 2))
  # A factor of 1.5 (48 -> 32): each output pixel the area-weighted mean of the input's.
  image = rng.integers(0, 256, (48, 60, 3)).astype(np.uint8)
  square = image[:, 6:54].astype(np.float64)
  weights = np.zeros((32, 48))
  for o in range(32):
    for i in range(48):  # Overlap of [1.5 o, 1.5 (o + 1)) with [i, i + 1).
      weights[o, i] = max(0.0, min(1.5 * (o + 1), i + 1) - max(1.5 * o, i)) / 1.5
  expected = np.einsum('oi,ij,pj->op', weights, square[..., 0], weights)
  got = tfds_source.central_crop(image, 32)
  assert got.shape == (32, 32, 3) and got.dtype == np.uint8
  np.testing.assert_allclose(got[..., 0], expected, atol=0.5 + 1e-9)  # Rounded to uint8.


@pytest.mark.parametrize('in_memory', [True, False])
def test_imagenet2012_central_crops_on_mock_data(in_memory, tmp_path, monkeypatch):
  """The paper's ImageNet 32x32 from full-size tfds imagenet2012 records (mock ones here, of
  varied sizes), in memory and read on demand, through the training pipeline."""
  from gan_jax.data import tfds_source
  monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))  # Where tfds.builder leaves its own.
  with tfds.testing.mock_data(num_examples=12):
    config = data.default_config('tfds', name='imagenet2012', test_split='validation',
                                 num_validation=2, preprocessing='central_crop',
                                 in_memory=in_memory)
    train = data.load_split(config, 'train')
    raw = tfds.builder('imagenet2012').as_data_source('train')
    shapes = {np.asarray(raw[i]['image']).shape for i in range(10)}
    expected = np.stack([tfds_source.central_crop(np.asarray(raw[i]['image']), 32)
                         for i in range(10)])
    batch = next(iter(data.get_dataset(config, 'train', batch_size=5, seed=0).batches))
  assert len(shapes) > 1  # The records really are of several sizes.
  assert train.shape == (10, 32, 32, 3) and train.dtype == np.uint8
  np.testing.assert_array_equal(np.asarray(train), expected)
  assert batch.shape == (1, 5, 32, 32, 3)
  assert tfds_source.describe(config) == ('tfds imagenet2012, central crops box-resized to '
                                          '32x32')


@pytest.mark.parametrize('change, fragment', [
    ({'preprocessing': 'crop'}, "config.data.preprocessing='crop' is unknown"),
    ({'preprocessing': 'central_crop', 'downsample': 2}, 'leave config.data.downsample at 1'),
])
def test_bad_preprocessing_is_one_line(change, fragment):
  config = data.default_config('tfds', name='imagenet2012', **change)
  with pytest.raises(errors.ConfigError, match=fragment.replace('(', r'\(')):
    data.load_split(config, 'train')
