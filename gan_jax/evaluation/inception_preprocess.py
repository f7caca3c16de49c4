"""How images reach the FID InceptionV3 (config.eval.inception_preprocessing): float samples in
[0, 1] of any size -> [N, 299, 299, 3] in [-1, 1].

'tf1': as the published Inception scores were computed: samples quantised to uint8, fed to the
  TF 2015-12-05 graph, which resizes to 299 with TF1's legacy bilinear (no half-pixel centres)
  and maps with (x - 128) / 128.
'pytorch_fid': pytorch-fid's: float images, F.interpolate(bilinear, align_corners=False)
  (half-pixel centres, no antialiasing), then 2x - 1.
"""
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import errors

INPUT_SIZE = 299
PREPROCESSING = ('tf1', 'pytorch_fid')
_PRECISION = jax.lax.Precision.HIGHEST  # Full float32 on GPU / TPU, as the references compute.


def legacy_bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
  """[size_out, size_in]: TF1's ResizeBilinear with align_corners=False, half_pixel_centers=False
  along one axis: output i samples input position i * size_in / size_out, interpolating between
  floor and floor + 1 (clamped to the last row)."""
  position = np.arange(size_out) * (size_in / size_out)
  low = np.floor(position).astype(int)
  high = np.minimum(low + 1, size_in - 1)
  weight = position - low
  matrix = np.zeros((size_out, size_in))
  matrix[np.arange(size_out), low] += 1 - weight
  matrix[np.arange(size_out), high] += weight
  return matrix


def legacy_bilinear_resize(images: jax.Array, size: int) -> jax.Array:
  """[N, H, W, C] -> [N, size, size, C] by TF1's legacy bilinear resize (separable: rows, then
  columns, each a fixed matrix)."""
  rows = jnp.asarray(legacy_bilinear_matrix(images.shape[1], size), jnp.float32)
  columns = jnp.asarray(legacy_bilinear_matrix(images.shape[2], size), jnp.float32)
  return jnp.einsum('ih,nhwc,jw->nijc', rows, images, columns, precision=_PRECISION)


def preprocess(images: jax.Array, preprocessing: str = 'tf1') -> jax.Array:
  """Images float in [0, 1] [N, H, W, 1 or 3] -> [N, 299, 299, 3] in [-1, 1].

  Grayscale is tiled to RGB (as pytorch-fid's loader and the TF scoring code's callers do).
  'tf1' (the published scores): round(255 x) to uint8 values, the legacy bilinear resize, then
  (x - 128) / 128. 'pytorch_fid': F.interpolate(mode='bilinear', align_corners=False), half-pixel
  centres, edges clamped, no antialiasing (jax's resize antialiases unless told not to), then
  2x - 1.
  """
  images = jnp.asarray(images, jnp.float32)
  if images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise ValueError(f'need images [N, H, W, 1 or 3], got shape {images.shape}')
  if images.shape[-1] == 1:
    images = jnp.broadcast_to(images, (*images.shape[:3], 3))
  if preprocessing == 'tf1':
    pixels = jnp.round(jnp.clip(images, 0.0, 1.0) * 255.0)  # The uint8 image, as float.
    if pixels.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
      pixels = legacy_bilinear_resize(pixels, INPUT_SIZE)
    return (pixels - 128.0) / 128.0
  if preprocessing != 'pytorch_fid':
    raise errors.ConfigError(f'config.eval.inception_preprocessing={preprocessing!r} is unknown; '
                             f'use one of {list(PREPROCESSING)}')
  if images.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
    images = jax.image.resize(images, (len(images), INPUT_SIZE, INPUT_SIZE, 3), 'bilinear',
                              antialias=False)
  return 2 * images - 1
