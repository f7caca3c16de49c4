"""A disk cache of a feature network's outputs on real images (the test split FID compares with,
the reference rows), so that the runs of a sweep or a table pay for them once.

An entry is keyed by the network's identity (what it is, its weights' sha256, the preprocessing)
and by the images' own bytes (sha256 of shape, dtype and contents): whatever changes any of them
misses. Entries are .npz files written atomically and read with allow_pickle=False; one that
cannot be read, or holds the wrong rows, is computed again and replaced (a log line says so).
"""
import hashlib
import os
import zipfile
import zlib
from typing import Callable, Optional, Tuple

from absl import logging
import numpy as np

from gan_jax import records

Outputs = Tuple[Optional[np.ndarray], np.ndarray]  # (posteriors or None, features)


def file_digest(path: str, algorithm: str = 'sha256') -> str:
  """The hex digest of a file's bytes (a weights file's identity in the cache key)."""
  digest = hashlib.new(algorithm)
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def images_digest(images: np.ndarray) -> str:
  images = np.ascontiguousarray(images)
  digest = hashlib.sha256(f'{images.shape}{images.dtype}'.encode())
  digest.update(images.data)
  return digest.hexdigest()


def _read(path: str, rows: int, width: Optional[int]) -> Optional[Outputs]:
  try:
    with np.load(path, allow_pickle=False) as f:
      features = f['features']
      probs = f['probs'] if 'probs' in f.files else None
  except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
    logging.warning('feature cache: %s is unreadable (%s); computing it again', path,
                    type(e).__name__)
    return None
  if len(features) != rows or (probs is not None and len(probs) != rows):
    logging.warning('feature cache: %s holds %d rows, not %d; computing it again', path,
                    len(features), rows)
    return None
  if features.ndim != 2 or (width is not None and features.shape[1] != width):
    logging.warning('feature cache: %s holds features of shape %s, not [%d, %s]; computing it '
                    'again', path, features.shape, rows, width)
    return None
  if not (np.isfinite(features).all() and (probs is None or np.isfinite(probs).all())):
    logging.warning('feature cache: %s holds NaN or infinite values; computing it again', path)
    return None
  return probs, features


def cached(forward: Callable[[np.ndarray], Outputs], images: np.ndarray, network: str,
           directory: str, width: Optional[int] = None) -> Outputs:
  """forward(images), from `directory` when this network has seen these very images before;
  `width`: the network's feature width, which an entry must have (else it is computed again)."""
  directory = os.path.expanduser(directory)
  key = hashlib.sha256(f'{network}|{images_digest(images)}'.encode()).hexdigest()[:32]
  path = os.path.join(directory, f'{key}.npz')
  if os.path.exists(path):
    found = _read(path, len(images), width)
    if found is not None:
      return found
  probs, features = forward(images)
  try:
    with records.atomic(path) as tmp, open(tmp, 'wb') as f:
      np.savez(f, features=features, **({'probs': probs} if probs is not None else {}))
  except OSError as e:  # A full or read-only disk costs the cache, not the evaluation.
    logging.warning('feature cache: cannot write %s (%s); not cached', path, e)
  return probs, features
