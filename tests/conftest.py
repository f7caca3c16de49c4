"""Shared test fixtures: tiny configs and generated data files in the real formats."""
import gzip
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)


def write_idx(path: str, array: np.ndarray) -> None:
  """Writes an MNIST-format IDX file (gzip-compressed when path ends in .gz)."""
  header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, '>u4').tobytes()
  opener = gzip.open if path.endswith('.gz') else open
  with opener(path, 'wb') as f:
    f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def idx_dir(tmp_path):
  """A directory of MNIST-format files: 120 train and 30 test images of 28x28."""
  rng = np.random.default_rng(0)
  write_idx(str(tmp_path / 'train-images-idx3-ubyte.gz'), rng.integers(0, 256, (120, 28, 28)))
  write_idx(str(tmp_path / 't10k-images-idx3-ubyte'), rng.integers(0, 256, (30, 28, 28)))
  return str(tmp_path)


def write_tfd_mat(path: str, num: int = 60, seed: int = 0):
  """A file with the layout of TFD_48x48.mat: images [N, 48, 48], folds [N, 5] in {0, 1, 2, 3}."""
  from scipy import io
  rng = np.random.default_rng(seed)
  images = rng.integers(0, 256, (num, 48, 48)).astype(np.uint8)
  folds = rng.integers(0, 4, (num, 5)).astype(np.uint8)
  io.savemat(path, {'images': images, 'folds': folds})
  return images, folds


@pytest.fixture
def tfd_file(tmp_path):
  path = str(tmp_path / 'TFD_48x48.mat')
  write_tfd_mat(path)
  return path
