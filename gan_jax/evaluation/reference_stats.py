"""Published FID reference statistics: the Gaussian (mean `mu`, covariance `sigma`) of a dataset's
Inception pool3 features, as the TTUR release ships them (`fid_stats_cifar10_train.npz`, ...),
which is what most papers' FIDs are computed against. Read as an .npz without pickles."""
import os
from typing import Tuple

import numpy as np

from gan_jax import errors

CONFIG_KEY = 'config.eval.fid_reference_stats'


def _floats(array: np.ndarray, what: str) -> np.ndarray:
  """The array as float64, refusing what holds no plain numbers (a structured or string dtype)."""
  if array.dtype.kind not in 'biuf':
    raise errors.ConfigError(f'{what} holds {array.dtype} values, not numbers; store mu and '
                             'sigma as float arrays')
  return np.asarray(array, np.float64)


def load(path: str, dim: int) -> Tuple[np.ndarray, np.ndarray]:
  """(mu [dim], sigma [dim, dim]) float64 of the .npz at `path`; one-line errors for a missing
  or unreadable file, missing keys, a shape other than the features' and non-finite values."""
  path = os.path.expanduser(path)
  where = f'{CONFIG_KEY}={path}'
  if not os.path.isfile(path):
    raise errors.ConfigError(f'{where}: no such file; give the .npz of published statistics '
                             '(keys mu and sigma, e.g. TTUR\'s fid_stats_cifar10_train.npz)')
  try:
    loaded = np.load(path, allow_pickle=False)
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # A .npy: one array, no keys.
      raise errors.ConfigError(f'{where} is a single array (.npy), not an .npz archive; save '
                               'mu and sigma together with np.savez(path, mu=..., sigma=...)')
    with loaded as f:
      missing = [k for k in ('mu', 'sigma') if k not in f.files]
      if missing:
        raise errors.ConfigError(f'{where} has no {" or ".join(missing)} (its keys: '
                                 f'{sorted(f.files)}); it needs mu and sigma, as TTUR\'s files')
      mu, sigma = (_floats(f[k], f'{where}: {k}') for k in ('mu', 'sigma'))
  except errors.ConfigError:
    raise
  except (ValueError, OSError, EOFError) as e:  # Not an .npz, truncated, or holds pickles.
    raise errors.ConfigError(f'{where} cannot be read as an .npz without pickles '
                             f'({errors.brief(e)})')
  if mu.shape != (dim,) or sigma.shape != (dim, dim):
    raise errors.ConfigError(f'{where}: mu {mu.shape} and sigma {sigma.shape} do not fit the '
                             f'{dim}-d features of the configured Inception weights (expected '
                             f'({dim},) and ({dim}, {dim}))')
  if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
    raise errors.ConfigError(f'{where}: mu or sigma holds NaN or infinity')
  return mu, sigma
