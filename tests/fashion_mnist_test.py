"""Real data: the Fashion-MNIST IDX files of the Debian package dataset-fashion-mnist."""
import json
import os

import numpy as np
import pytest

from gan_jax import data
from gan_jax import train
from experiments import fashion_mnist_gan

PATH = '/usr/share/datasets/fashion-mnist'
pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(PATH, 'train-images-idx3-ubyte.gz')),
    reason=f'the real Fashion-MNIST files are not in {PATH}: `apt-get install '
           'dataset-fashion-mnist` provides them (.ci/run installs it)')


def test_real_files_give_the_paper_split_and_known_statistics():
  config = fashion_mnist_gan.get_config().data
  train_rows, valid_rows, test_rows = (data.load_split(config, s) for s in data.SPLITS)
  assert train_rows.shape == (50000, 28, 28, 1) and valid_rows.shape == (10000, 28, 28, 1)
  assert test_rows.shape == (10000, 28, 28, 1) and train_rows.dtype == np.uint8
  # The published normalisation constants of Fashion-MNIST's 60,000 training images.
  pixels = data.to_float(np.concatenate([train_rows, valid_rows]))
  np.testing.assert_allclose(pixels.mean(), 0.2860, atol=5e-4)
  np.testing.assert_allclose(pixels.std(), 0.3530, atol=5e-4)


def test_fashion_mnist_gan_trains_on_the_real_files(tmp_path):
  state = train.train_and_evaluate(fashion_mnist_gan.get_config('runlocal'), str(tmp_path))
  assert int(state.step) == 2
  with open(tmp_path / 'metrics.jsonl') as f:
    assert [json.loads(line)['step'] for line in f] == [1, 2]
