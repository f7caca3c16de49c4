"""Figures written as PNG: sample grids (and, for 2-D toy data, a density picture of samples)."""
import math
import os

import numpy as np
from PIL import Image

from gan_jax import records


def image_grid(images: np.ndarray, num_columns: int = 0, padding: int = 1) -> np.ndarray:
  """Tiles images [N, H, W, C] in [0, 1] into one uint8 image, row-major, 1-pixel white gaps."""
  n, h, w, c = images.shape
  cols = num_columns or math.ceil(math.sqrt(n))
  rows = math.ceil(n / cols)
  grid = np.ones((rows * (h + padding) + padding, cols * (w + padding) + padding, c), np.float32)
  for i, image in enumerate(images):
    r, col = divmod(i, cols)
    top, left = padding + r * (h + padding), padding + col * (w + padding)
    grid[top:top + h, left:left + w] = image
  return (np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8)


def scatter_image(points: np.ndarray, extent: float, size: int = 256) -> np.ndarray:
  """A 2-D histogram of points in [-extent, extent]^2 as a uint8 image (dark = dense)."""
  counts, _, _ = np.histogram2d(points[:, 1], points[:, 0], bins=size,
                                range=[[-extent, extent], [-extent, extent]])
  density = np.log1p(counts[::-1]) / max(np.log1p(counts).max(), 1e-12)
  return ((1 - density) * 255 + 0.5).astype(np.uint8)[..., None]


def write_png(path: str, image: np.ndarray, scale: int = 1) -> None:
  """Writes a uint8 image [H, W, C]; `scale` > 1 enlarges it with nearest-neighbour pixels."""
  if scale > 1:
    image = image.repeat(scale, axis=0).repeat(scale, axis=1)
  with records.atomic(path) as tmp:  # (A kill mid-write leaves the old figure or none.)
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(tmp)


def samples_figure(samples: np.ndarray) -> np.ndarray:
  """The picture of a batch of G's samples: an image grid, or a density image for 2-D points."""
  if samples.ndim == 4:
    return image_grid(samples)
  if samples.ndim == 2 and samples.shape[1] == 2:
    return scatter_image(samples, extent=max(float(np.abs(samples).max()) * 1.1, 1.0))
  if samples.ndim == 2 and samples.shape[1] == 1:
    return scatter_image(np.concatenate([samples, np.zeros_like(samples)], 1),
                         extent=max(float(np.abs(samples).max()) * 1.1, 1.0))
  raise ValueError(f'cannot draw samples of shape {samples.shape}')


def samples_with_nearest(samples: np.ndarray, nearest: np.ndarray, columns: int) -> np.ndarray:
  """Fig. 2: rows of `columns` samples, and in the rightmost column the training example
  nearest to the sample beside it (the memorisation check). nearest: [rows, ...]."""
  rows = len(nearest)
  tiles = np.concatenate([samples[:rows * columns].reshape(rows, columns, *samples.shape[1:]),
                          nearest[:, None]], axis=1)
  return image_grid(tiles.reshape(-1, *samples.shape[1:]), num_columns=columns + 1)


def interpolation_grid(images: np.ndarray) -> np.ndarray:
  """Fig. 3: images [rows, steps, H, W, C], one row per linear path in z."""
  return image_grid(images.reshape(-1, *images.shape[2:]), num_columns=images.shape[1])


def write_toy_1d_figure(path: str, panels) -> None:
  """Fig. 1: per panel (dict with step, x, p_data, p_g, d, d_star), the data density, G's
  density, the discriminator D(x) and the optimal D* = p_data / (p_data + p_g)."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2), sharey=True,
                           squeeze=False)
  for ax, panel in zip(axes[0], panels):
    ax.plot(panel['x'], panel['p_data'], 'k:', label='p_data')
    ax.plot(panel['x'], panel['p_g'], 'g-', label='p_g')
    ax.plot(panel['x'], panel['d'], 'b--', label='D(x)')
    ax.plot(panel['x'], panel['d_star'], 'r-', alpha=0.5, label='D* = p_data/(p_data+p_g)')
    ax.set_title(f'step {panel["step"]}')
    ax.set_xlabel('x')
  axes[0][0].legend(loc='upper left', fontsize=7)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)
