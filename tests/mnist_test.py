"""The real MNIST IDX files (launch.fetch_data mnist; .ci/run fetches them): what the loader
returns against the facts known about the files. Skipped, saying why, when they are absent."""
import os

import numpy as np
import pytest

from gan_jax import data
from gan_jax.data import idx
from launch import fetch_data

_DIR = os.path.expanduser(os.environ.get('GAN_JAX_MNIST_DIR', idx.MNIST_DIR))
_STATUS = fetch_data.check(fetch_data.DATASETS['mnist'], _DIR)
pytestmark = pytest.mark.skipif(
    any(_STATUS.values()),
    reason=f'the real MNIST files are not in {_DIR} ({_STATUS}); run '
           f'`python -m launch.fetch_data mnist --dir={_DIR}` (or set GAN_JAX_MNIST_DIR)')

# Published counts of each digit in the 60,000 training labels.
_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(scope='module')
def mnist():
  config = data.default_config('idx', path=_DIR)  # num_validation=10000: mnist_gan's split.
  return config, {s: data.load_split(config, s) for s in data.SPLITS}


def test_sizes_labels_and_pixel_mean(mnist):
  config, images = mnist
  assert [images[s].shape for s in data.SPLITS] == [(50000, 28, 28, 1), (10000, 28, 28, 1),
                                                    (10000, 28, 28, 1)]
  assert all(images[s].dtype == np.uint8 for s in data.SPLITS)
  train_labels = np.concatenate([data.load_labels(config, 'train'),
                                 data.load_labels(config, 'validation')])
  assert np.bincount(train_labels, minlength=10).tolist() == _TRAIN_COUNTS
  assert len(data.load_labels(config, 'test')) == 10000
  all_train = np.concatenate([images['train'], images['validation']])
  assert abs(data.to_float(all_train).mean() - 33.318 / 255) < 5e-4 / 255  # 0.13066


def test_train_and_validation_are_the_file_rows_in_order(mnist):
  _, images = mnist
  raw = idx.read_idx(idx.find(_DIR, 'train-images-idx3-ubyte'))  # .gz or not.
  np.testing.assert_array_equal(images['train'][..., 0], raw[:50000])  # pylearn2: start 0, stop 50000
  np.testing.assert_array_equal(images['validation'][..., 0], raw[50000:])  # start 50000, stop 60000
  # The first training label of the file is a 5, the first test label a 7 (LeCun's files).
  config, _ = mnist
  assert data.load_labels(config, 'train')[0] == 5 and data.load_labels(config, 'test')[0] == 7


def test_mnist_gan_reads_these_files():
  from experiments import mnist_gan  # pylint: disable=g-import-not-at-top
  config = mnist_gan.get_config()
  config.data.path = _DIR
  dataset = data.get_dataset(config.data, 'train', batch_size=100)
  assert dataset.steps_per_epoch == 500
  np.testing.assert_allclose(dataset.pixel_means().mean(), 33.318 / 255, atol=2e-3)
