"""Shared test fixtures: tiny configs and generated data files in the real formats."""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from gan_jax.data.mock import write_idx, write_tfd_mat  # pylint: disable=g-import-not-at-top,unused-import


@pytest.fixture
def idx_dir(tmp_path):
  """A directory of MNIST-format files: 120 train and 30 test images of 28x28."""
  rng = np.random.default_rng(0)
  write_idx(str(tmp_path / 'train-images-idx3-ubyte.gz'), rng.integers(0, 256, (120, 28, 28)))
  write_idx(str(tmp_path / 't10k-images-idx3-ubyte'), rng.integers(0, 256, (30, 28, 28)))
  return str(tmp_path)


@pytest.fixture
def tfd_file(tmp_path):
  path = str(tmp_path / 'TFD_48x48.mat')
  write_tfd_mat(path)
  return path
