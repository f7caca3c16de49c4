import numpy as np

from gan_jax.evaluation import figures


def test_image_grid_layout():
  images = np.stack([np.full((2, 3, 1), v / 10) for v in range(5)])
  grid = figures.image_grid(images, num_columns=3)
  assert grid.shape == (2 * 3 + 1, 3 * 4 + 1, 1) and grid.dtype == np.uint8
  # Image 4 sits in row 1, column 1; gaps are white.
  np.testing.assert_array_equal(grid[4:6, 5:8, 0], round(0.4 * 255))
  assert grid[0, 0, 0] == 255 and grid[3, 2, 0] == 255


def test_samples_with_nearest_puts_the_neighbour_last_in_each_row():
  samples = np.stack([np.full((1, 1, 1), v / 20) for v in range(6)])  # Two rows of three.
  nearest = np.stack([np.full((1, 1, 1), 0.9), np.full((1, 1, 1), 1.0)])
  grid = figures.samples_with_nearest(samples, nearest, columns=3)
  pixels = grid[1::2, 1::2, 0]  # One pixel per tile.
  np.testing.assert_array_equal(pixels, np.round(np.array(
      [[0, 0.05, 0.1, 0.9], [0.15, 0.2, 0.25, 1.0]]) * 255))


def test_interpolation_grid_rows_are_paths():
  images = np.linspace(0, 1, 6).reshape(2, 3, 1, 1, 1)
  pixels = figures.interpolation_grid(images)[1::2, 1::2, 0]
  np.testing.assert_array_equal(pixels, np.round(np.linspace(0, 1, 6).reshape(2, 3) * 255))
