"""On a CPU, each step's temporary buffer reused from the heap instead of faulted in anew.

XLA:CPU gives every execution one block for its temporaries (241 MB for cifar10_dcgan's
iteration) and frees it when the execution ends. glibc serves a block that large with mmap and
returns it with munmap, so on the next step the kernel faults in and zeroes every page again:
59,500 page faults an iteration, about a tenth of the CPU's time spent in the kernel
(docs/performance.md, session 19). Two settings keep the block for the next step:

1. `inline_dispatch()`: JAX's CPU client runs single-device computations on the calling thread
   (`jax_cpu_enable_async_dispatch=False`; computations over several devices are still
   dispatched in parallel), so that the block comes from glibc's main arena. Blocks allocated on
   other threads come from arenas of at most 64 MB, which mmap anything larger whatever the
   settings. It must run before JAX's CPU backend exists.
2. `keep_freed_blocks()`: glibc's mallopt, M_MMAP_MAX = 0 (the main arena grows its heap
   instead of mapping large blocks) and M_TRIM_THRESHOLD = 1 GiB (freed memory at the heap's
   top stays for the next allocation instead of going back to the system).

The process then holds its peak memory until it exits, as a training process does anyway.
gan_jax.main applies both to training on a CPU (the first only in a single-process run).
Neither changes a number: only where memory comes from, and on which thread a step runs.
"""
import ctypes
import ctypes.util
from typing import Optional

import jax

# glibc's mallopt parameters (<malloc.h>).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
TRIM_THRESHOLD_BYTES = 1 << 30


def inline_dispatch() -> None:
  """Single-device CPU computations run on the calling thread. Before any JAX backend exists:
  afterwards it changes nothing until the next process."""
  jax.config.update('jax_cpu_enable_async_dispatch', False)


def _glibc() -> Optional[ctypes.CDLL]:
  try:
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    libc.gnu_get_libc_version  # pylint: disable=pointless-statement  (only glibc has it)
    return libc
  except (OSError, AttributeError):  # Not glibc (musl, macOS): its allocator is left alone.
    return None


def keep_freed_blocks() -> bool:
  """glibc keeps large freed blocks in the heap, where the default backend is a CPU. Returns
  whether the settings were taken."""
  if jax.default_backend() != 'cpu':
    return False
  libc = _glibc()
  if libc is None:
    return False
  return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD,
                                                                 TRIM_THRESHOLD_BYTES))
