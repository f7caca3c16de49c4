"""Data parallelism: the same `steps.train_step` under pmap over every device, on one host or many.

The global batch (config.batch_size rows per discriminator update) is cut into one shard per
device of every process: each process reads only its own rows (data.batch_pipeline's
`shard`), and splits them over its local devices. Inside the step, gradients, batch statistics and
metrics are averaged with `lax.pmean` over `AXIS`, batch norm computes its statistics over the
whole batch, and z is drawn for the whole batch and sliced (steps.py), so 1 or N devices give the
same training. The state is replicated on the local devices; checkpoints hold one host copy.

Multi-process runs (TPU pods, several GPU hosts) call `jax.distributed.initialize` first: with
explicit flags, or from the environment of a TPU pod, an srun step or an Open MPI world.
"""
import functools
import os
from typing import Any, Optional

from absl import logging
import jax
import numpy as np

from gan_jax import errors
from gan_jax import steps

AXIS = 'batch'


def _cluster_processes() -> int:
  """How many processes the environment says this run has (1 when it says nothing): a TPU pod's
  workers, a SLURM step's tasks (launched with srun), an Open MPI world."""
  if os.environ.get('TPU_WORKER_HOSTNAMES'):
    return len(os.environ['TPU_WORKER_HOSTNAMES'].split(','))
  if os.environ.get('SLURM_STEP_NODELIST'):
    return int(os.environ.get('SLURM_STEP_NUM_TASKS', os.environ.get('SLURM_NTASKS', '1')))
  return int(os.environ.get('OMPI_COMM_WORLD_SIZE', '1'))


def is_first_host(process_id: int = -1) -> bool:
  """Whether this host is the first of the run's (without jax.distributed: evaluation)."""
  for key in ('TPU_WORKER_ID', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
    if key in os.environ:
      return os.environ[key] == '0'
  return process_id <= 0


def initialize(coordinator_address: str = '', num_processes: int = 0,
               process_id: int = -1) -> None:
  """jax.distributed.initialize when the run is multi-process; nothing for one process.

  Explicit arguments (the --coordinator_address/--num_processes/--process_id flags) win; else a
  TPU pod or a known cluster environment is detected and jax reads the rest from it.
  """
  explicit = bool(coordinator_address) or num_processes > 1
  if not explicit and _cluster_processes() <= 1:
    return
  if explicit and not (coordinator_address and num_processes > 1 and process_id >= 0):
    raise errors.ConfigError('a multi-process run needs --coordinator_address=HOST:PORT, '
                             '--num_processes=N > 1 and --process_id in [0, N) together')
  if jax.config.jax_platforms in (None, '', 'cpu') and explicit:
    # Collectives between processes on CPU (tests, CPU clusters) go through gloo.
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  kwargs = (dict(coordinator_address=coordinator_address, num_processes=num_processes,
                 process_id=process_id) if explicit else {})
  jax.distributed.initialize(**kwargs)
  logging.info('Process %d of %d; %d local and %d global devices.', jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())


def is_primary() -> bool:
  """Process 0 writes metrics, samples, evaluations and tables."""
  return jax.process_index() == 0


def check_batch_size(batch_size: int) -> None:
  if batch_size % jax.device_count():
    raise errors.ConfigError(
        f'config.batch_size={batch_size} must be divisible by the {jax.device_count()} devices '
        f'({jax.process_count()} process(es) x {jax.local_device_count()}) it is split over')


def step_spec(config) -> steps.StepSpec:
  """The step's spec for pmap over every device of every process."""
  return steps.StepSpec.from_config(config, axis_name=AXIS, num_shards=jax.device_count())


def shard(batches: np.ndarray) -> np.ndarray:
  """This process's batches [k, b, ...] -> [local devices, k, b / local devices, ...]."""
  n = jax.local_device_count()
  k, b = batches.shape[:2]
  split = batches.reshape(k, n, b // n, *batches.shape[2:])
  return np.swapaxes(split, 0, 1)


def replicate(tree: Any) -> Any:
  """One copy per local device, stacked on a leading axis (pmap's input layout)."""
  n = jax.local_device_count()
  return jax.tree.map(lambda x: np.broadcast_to(x, (n, *np.shape(x))), jax.device_get(tree))


def unreplicate(tree: Any) -> Any:
  """One host copy (numpy) of a replicated tree: this process's first device's, fetched in one
  transfer (multi-process: a global array is not all here, its first local shard is)."""
  first = jax.tree.map(lambda x: x.addressable_shards[0].data if isinstance(x, jax.Array) else x,
                       tree)
  return jax.tree.map(lambda x: np.asarray(x).reshape(np.shape(x)[1:]), jax.device_get(first))


def train_step(spec: steps.StepSpec):
  """pmapped (state, sharded batches, rng) -> (state, metrics); the state is donated."""
  return jax.pmap(functools.partial(steps.train_step, spec=spec), axis_name=AXIS,
                  in_axes=(0, 0, None), donate_argnums=(0,))


def data_shard() -> Optional[tuple]:
  """(index, count) of this process's part of each global batch; None for one process."""
  return (jax.process_index(), jax.process_count()) if jax.process_count() > 1 else None


def from_primary(value: float) -> float:
  """Process 0's `value` on every process: what only process 0 computes (the evaluations during
  training) but every process must act on alike (when to stop, which checkpoint is best)."""
  if jax.process_count() == 1:
    return value
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  return float(multihost_utils.broadcast_one_to_all(np.float64(value)))
