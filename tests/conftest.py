"""Shared test fixtures: tiny configs and generated data files in the real formats."""
import gc
import os
import sys
import tempfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

# One persistent XLA compilation cache for the whole suite and the processes it starts (they
# inherit the environment): the same tiny models are compiled by dozens of tests. One for each
# pytest-xdist worker: JAX writes an entry in place, and a reader beside the writer would load a
# truncated one.
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR', os.path.join(
    tempfile.gettempdir(), 'gan_jax_tests_xla_cache' + os.environ.get('PYTEST_XDIST_WORKER', '')))
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES', '0')



def uncached_env(env=None):
  """`env` (default: this one) without the shared compilation cache, for a process that may be
  killed or that runs beside another: JAX writes cache entries in place, so a SIGKILL mid-write
  or a concurrent reader would leave or read a truncated entry (a segfault when loaded)."""
  env = dict(os.environ if env is None else env)
  env.pop('JAX_COMPILATION_CACHE_DIR', None)
  return env


def new_sessions_have_groups() -> bool:
  """Whether a process leading a new session shows a scheduling group (/proc/PID/autogroup), as
  the runs of cpu_seeds.sh and of the pool do. Asked of such a process, not of the test's own: a
  process of the kernel's first group (its session never new, as under a container's first
  process: the CI's) reads its file empty, while a new session's reads '/autogroup-N nice 0'
  (kernel/sched/autogroup.c)."""
  import subprocess  # pylint: disable=g-import-not-at-top
  from launch import priority  # pylint: disable=g-import-not-at-top
  shown = subprocess.run(['cat', '/proc/self/autogroup'], start_new_session=True,
                         capture_output=True, text=True, check=False)
  return priority.parse_group(shown.stdout) is not None


import jax  # pylint: disable=g-import-not-at-top
from gan_jax.data.mock import write_idx, write_tfd_mat  # pylint: disable=g-import-not-at-top,unused-import


@pytest.fixture(autouse=True, scope='module')
def _release_compiled_programs(request):
  """After a test file that ran slow tests (they compile the large programs: DCGANs, Inception,
  whole tables), JAX's in-memory caches of compiled programs are dropped. One process runs the
  whole suite; with every executable kept alive to its end, XLA crashed late in the run (a
  segfault compiling or loading a program, never when the same tests ran in smaller groups).
  The persistent cache makes the recompiles cheap; the fast subset needs none of this."""
  yield
  if any(item.module is request.module and item.get_closest_marker('slow')
         for item in request.session.items):
    jax.clear_caches()
    gc.collect()


def small_config(**overrides):
  """tests/tiny_config.py with top-level keys overridden (num_train_steps=3, ...)."""
  import tiny_config  # pylint: disable=g-import-not-at-top
  config = tiny_config.get_config()
  for key, value in overrides.items():
    config[key] = value
  return config


def assert_states_identical(a, b):
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b)
  for x, y in zip(leaves_a, leaves_b):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture
def idx_dir(tmp_path):
  """A directory of MNIST-format files: 120 train and 30 test images of 28x28."""
  rng = np.random.default_rng(0)
  write_idx(str(tmp_path / 'train-images-idx3-ubyte.gz'), rng.integers(0, 256, (120, 28, 28)))
  write_idx(str(tmp_path / 't10k-images-idx3-ubyte'), rng.integers(0, 256, (30, 28, 28)))
  return str(tmp_path)


@pytest.fixture
def tfd_file(tmp_path):
  path = str(tmp_path / 'TFD_48x48.mat')
  write_tfd_mat(path)
  return path
