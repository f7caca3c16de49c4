"""How images reach the FID InceptionV3 (gan_jax/evaluation/inception_preprocess.py): TF1's
legacy pipeline of the published scores, and pytorch-fid's, each against an independent
computation (and TensorFlow's / torch's own resize where they are installed)."""
import subprocess
import sys

import numpy as np
import pytest

from gan_jax.evaluation import inception_preprocess


def _bilinear_reference(images: np.ndarray, size: int) -> np.ndarray:
  """F.interpolate(mode='bilinear', align_corners=False), written out: the source coordinate of
  output pixel i is (i + 0.5) * in / out - 0.5 (in float32, as torch and jax compute it), clamped
  at 0; the upper neighbour clamped at in - 1. The weighted sums are float64."""

  def matrix(n_in):
    scale = np.float32(n_in) / np.float32(size)
    source = scale * (np.arange(size, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5)
    source = np.maximum(source, 0).astype(np.float64)
    low = np.minimum(np.floor(source).astype(int), n_in - 1)
    high = np.minimum(low + 1, n_in - 1)
    frac = source - low
    weights = np.zeros((size, n_in))
    np.add.at(weights, (np.arange(size), low), 1 - frac)
    np.add.at(weights, (np.arange(size), high), frac)
    return weights

  rows = np.einsum('oh,nhwc->nowc', matrix(images.shape[1]), images.astype(np.float64))
  return np.einsum('nowc,pw->nopc', rows, matrix(images.shape[2]))


@pytest.mark.parametrize('size', [32, 401])
def test_preprocess_is_torch_bilinear_then_scaled_to_plus_minus_one(size):
  images = np.random.default_rng(size).random((2, size, size + 3, 3)).astype(np.float32)
  expected = 2 * _bilinear_reference(images, 299) - 1
  np.testing.assert_allclose(inception_preprocess.preprocess(images, 'pytorch_fid'), expected, atol=1e-5)
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    return
  resized = torch.nn.functional.interpolate(torch.from_numpy(images).permute(0, 3, 1, 2),
                                            size=(299, 299), mode='bilinear', align_corners=False)
  np.testing.assert_allclose(inception_preprocess.preprocess(images, 'pytorch_fid'),
                             2 * resized.permute(0, 2, 3, 1).numpy() - 1, atol=1e-6)


def _legacy_bilinear_by_loops(pixels, size):
  """TF1's ResizeBilinear (align_corners=False, half_pixel_centers=False) pixel by pixel: output
  (i, j) reads input (i * H / size, j * W / size), weights from the fractional parts."""
  n, h, w, c = pixels.shape
  out = np.zeros((n, size, size, c))
  for i in range(size):
    y = i * h / size
    y0, dy = int(np.floor(y)), y - np.floor(y)
    y1 = min(y0 + 1, h - 1)
    for j in range(size):
      x = j * w / size
      x0, dx = int(np.floor(x)), x - np.floor(x)
      x1 = min(x0 + 1, w - 1)
      top = pixels[:, y0, x0] * (1 - dx) + pixels[:, y0, x1] * dx
      bottom = pixels[:, y1, x0] * (1 - dx) + pixels[:, y1, x1] * dx
      out[:, i, j] = top * (1 - dy) + bottom * dy
  return out


@pytest.mark.parametrize('shape, size', [((2, 5, 7, 3), 12), ((1, 32, 32, 3), 299),
                                         ((1, 9, 6, 1), 4)])
def test_legacy_bilinear_resize_is_tf1s_formula(shape, size):
  pixels = np.random.default_rng(size).integers(0, 256, shape).astype(np.float32)
  expected = _legacy_bilinear_by_loops(pixels, size)
  np.testing.assert_allclose(inception_preprocess.legacy_bilinear_resize(pixels, size), expected, atol=2e-3)
  # No half-pixel centres: the first output pixel is the first input pixel exactly.
  np.testing.assert_array_equal(np.asarray(inception_preprocess.legacy_bilinear_resize(pixels, size))[:, 0, 0],
                                pixels[:, 0, 0])


def test_tf1_preprocessing_quantises_resizes_then_maps_to_plus_minus_one():
  images = np.random.default_rng(3).random((2, 32, 32, 3)).astype(np.float32)
  pixels = np.round(images * 255)
  expected = (_legacy_bilinear_by_loops(pixels, 299) - 128) / 128
  np.testing.assert_allclose(inception_preprocess.preprocess(images, 'tf1'), expected, atol=2e-5)
  assert inception_preprocess.preprocess(images).shape == (2, 299, 299, 3)  # 'tf1' is the default.
  # It differs measurably from pytorch-fid's pipeline on the same images.
  difference = np.abs(np.asarray(inception_preprocess.preprocess(images, 'tf1'))
                      - np.asarray(inception_preprocess.preprocess(images, 'pytorch_fid')))
  assert difference.mean() > 1e-2


_TF_RESIZE = '''
import sys
import numpy as np
import tensorflow as tf
pixels = np.load(sys.argv[1], allow_pickle=False)
out = tf.compat.v1.image.resize_bilinear(pixels, (299, 299), align_corners=False,
                                         half_pixel_centers=False)
np.save(sys.argv[2], out.numpy())
'''


@pytest.mark.slow
def test_legacy_bilinear_resize_matches_tensorflow(tmp_path):
  """Against TensorFlow's tf.compat.v1.image.resize_bilinear, in its own process (TensorFlow must
  not load into a process that runs JAX)."""
  import importlib.util  # pylint: disable=g-import-not-at-top
  if importlib.util.find_spec('tensorflow') is None:
    pytest.skip('needs TensorFlow: pip install -r requirements-tfds.txt')
  pixels = np.random.default_rng(5).integers(0, 256, (2, 32, 24, 3)).astype(np.float32)
  np.save(tmp_path / 'in.npy', pixels)
  subprocess.run([sys.executable, '-c', _TF_RESIZE, str(tmp_path / 'in.npy'),
                  str(tmp_path / 'out.npy')], check=True, capture_output=True)
  np.testing.assert_allclose(inception_preprocess.legacy_bilinear_resize(pixels, 299),
                             np.load(tmp_path / 'out.npy', allow_pickle=False), atol=2e-3)


def test_preprocess_tiles_grayscale_and_keeps_299():
  gray = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
  np.testing.assert_array_equal(inception_preprocess.preprocess(gray),
                                inception_preprocess.preprocess(np.repeat(gray, 3, axis=-1)))
  full = np.random.default_rng(1).random((1, 299, 299, 3)).astype(np.float32)
  np.testing.assert_allclose(inception_preprocess.preprocess(full, 'pytorch_fid'), 2 * full - 1, atol=1e-7)
  np.testing.assert_allclose(inception_preprocess.preprocess(full, 'tf1'),
                             (np.round(full * 255) - 128) / 128, atol=1e-7)
  with pytest.raises(ValueError, match='1 or 3'):
    inception_preprocess.preprocess(np.zeros((1, 8, 8, 2)))
