"""Whether a config's train state fits the machine, checked from shapes before anything is
allocated (a mistyped size such as noise.dim=10000000000 is one line, not an out-of-memory crash).
"""
import os
from typing import Any, Optional

import flax
import jax
import numpy as np

from gan_jax import errors

_HEADROOM = 0.8  # The state may use this share of the memory; activations need the rest.


def device_memory_bytes() -> Optional[int]:
  """Memory one local device can hold: the accelerator's limit, or the host's available RAM
  shared by the local CPU devices. None when it cannot be told."""
  device = jax.local_devices()[0]
  if device.platform != 'cpu':
    stats = device.memory_stats() or {}
    return stats.get('bytes_limit')
  try:
    with open('/proc/meminfo', encoding='utf-8') as f:
      fields = dict(line.split(':', 1) for line in f)
    available = int(fields['MemAvailable'].split()[0]) * 1024
  except (OSError, KeyError, ValueError):
    try:
      available = os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    except (ValueError, OSError):
      return None
  return available // jax.local_device_count()  # The replicated state: a copy per device.


def check_fits(abstract_state: Any, limit: Optional[int] = None) -> None:
  """Raises ConfigError when the state (shapes from jax.eval_shape) exceeds the memory."""
  limit = device_memory_bytes() if limit is None else limit
  leaves = {k: v for k, v in flax.traverse_util.flatten_dict(
      flax.serialization.to_state_dict(abstract_state)).items() if hasattr(v, 'shape')}
  sizes = {k: int(np.prod(v.shape, dtype=np.float64)) * np.dtype(v.dtype).itemsize
           for k, v in leaves.items()}
  total = sum(sizes.values())
  if limit is None or total <= _HEADROOM * limit:
    return
  params = sum(int(np.prod(v.shape, dtype=np.float64)) for k, v in leaves.items()
               if 'params' in k and 'opt_state' not in k)
  largest = max(sizes, key=sizes.get)
  raise errors.ConfigError(
      f'this config needs {total / 2**30:,.1f} GiB for the train state alone ({params:,.0f} '
      f'parameters with their optimizer state), more than {_HEADROOM:.0%} of the '
      f'{limit / 2**30:,.1f} GiB of memory per device here; the largest array is '
      f'{"/".join(map(str, largest))} of shape {tuple(leaves[largest].shape)}: shrink the '
      'sizes that set it')
