"""Euclidean distances between two sets of feature vectors and each vector's k-th nearest
neighbour in its own set: the k-NN balls on which precision and recall (Kynkäänniemi et al.,
2019) and density and coverage (Naeem et al., 2020) are built.

Float64 throughout, by blocks of rows so that 50,000 x 10,000 distances never sit in memory at
once: a sample on the rim of a ball is then inside or outside it as the formula says, not as a
float32 rounding decides.
"""
from typing import Callable, Iterator, Tuple

import numpy as np

_BLOCK = 1024  # Rows of x per block of distances.


def distance_blocks(x: np.ndarray, y: np.ndarray,
                    block: int = _BLOCK) -> Iterator[Tuple[slice, np.ndarray]]:
  """(rows, ||x[rows, None] - y[None]||) for consecutive blocks of x's rows."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  y_norms = np.einsum('ij,ij->i', y, y)
  for start in range(0, len(x), block):
    rows = slice(start, min(start + block, len(x)))
    x_block = x[rows]
    squared = np.einsum('ij,ij->i', x_block, x_block)[:, None] + y_norms[None] - 2 * x_block @ y.T
    yield rows, np.sqrt(np.maximum(squared, 0.0))


def kth_neighbour_radii(x: np.ndarray, k: int) -> np.ndarray:
  """For each row of x, its distance to its k-th nearest other row of x (itself excluded: its
  own distance, 0, is the first of its sorted distances)."""
  if not 1 <= k < len(x):
    raise ValueError(f'the k-th nearest neighbour needs 1 <= k < {len(x)} rows, got k = {k}')
  radii = np.empty(len(x))
  for rows, distances in distance_blocks(x, x):
    distances[np.arange(distances.shape[0]), np.arange(rows.start, rows.stop)] = 0.0  # Exact.
    radii[rows] = np.partition(distances, k, axis=1)[:, k]
  return radii


def reduce_balls(centres: np.ndarray, radii: np.ndarray, points: np.ndarray,
                 inside: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Tuple[np.ndarray,
                                                                                 np.ndarray]:
  """(for each point, how many balls hold it; for each ball, whether it holds any point), where
  `inside(distances, radii[:, None])` says which of a block of centres' balls hold each point
  (np.less or np.less_equal: the two papers' releases differ on the rim)."""
  counts = np.zeros(len(points), np.int64)
  holds_any = np.zeros(len(centres), bool)
  for rows, distances in distance_blocks(centres, points):
    held = inside(distances, radii[rows, None])
    counts += held.sum(axis=0)
    holds_any[rows] = held.any(axis=1)
  return counts, holds_any
