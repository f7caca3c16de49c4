"""Toy densities: a ring of 8 and a 5x5 grid of 2-D Gaussians, and a 1-D Gaussian (Fig 1).

Examples are drawn from a generator seeded by the split, so train, validation and test are
independent draws and the same on every run.
"""
import numpy as np

from gan_jax import errors
from gan_jax.data import splits

MIXTURES = ('ring', 'grid', 'gaussian_1d')
DEFAULTS = dict(name='ring', num_examples=100_000, num_eval_examples=10_000, std=0.02,
                radius=2.0, num_modes=8, grid_size=5, grid_spacing=2.0, mean=4.0)
_SPLIT_SEEDS = {'train': 1, 'validation': 2, 'test': 3}


def centres(data_config) -> np.ndarray:
  """The component means, [num_components, dim]."""
  name = data_config.name
  if name == 'ring':
    angles = 2 * np.pi * np.arange(data_config.num_modes) / data_config.num_modes
    return data_config.radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
  if name == 'grid':
    side = data_config.grid_spacing * (np.arange(data_config.grid_size)
                                       - (data_config.grid_size - 1) / 2)
    return np.stack(np.meshgrid(side, side, indexing='ij'), axis=-1).reshape(-1, 2)
  if name == 'gaussian_1d':
    return np.array([[data_config.mean]])
  raise errors.ConfigError(f'config.data.name={name!r} is not a toy density; use one of '
                           f'{list(MIXTURES)}')


def sample(data_config, num: int, seed: int) -> np.ndarray:
  """`num` draws from the equally weighted mixture, float32 [num, dim]."""
  means = centres(data_config)
  if data_config.std <= 0:
    raise errors.ConfigError(f'config.data.std={data_config.std} must be > 0')
  rng = np.random.default_rng(seed)
  which = rng.integers(len(means), size=num)
  return (means[which] + data_config.std * rng.standard_normal((num, means.shape[1]))).astype(
      np.float32)


def load(data_config, split: str) -> np.ndarray:
  splits.check_split(split)
  num = data_config.num_examples if split == 'train' else data_config.num_eval_examples
  return sample(data_config, num, _SPLIT_SEEDS[split])


def density(data_config, x: np.ndarray) -> np.ndarray:
  """p_data(x) of the mixture at points x [N, dim] (equal weights, isotropic components)."""
  means, std = centres(data_config), data_config.std
  sq = np.sum((x[:, None, :] - means[None]) ** 2, axis=2)
  dim = means.shape[1]
  return np.mean(np.exp(-sq / (2 * std**2)), axis=1) / (2 * np.pi * std**2) ** (dim / 2)
