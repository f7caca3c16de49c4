"""Data parallelism: `steps.train_step` under `jax.jit` over a Mesh of every device, on one host
or many.

The global batch (config.batch_size rows per discriminator update) is sharded over the mesh's
`AXIS`; the state (and the resident training split, with placement 'device') is replicated. The
step is written for the whole batch (StepSpec.axis_name None): XLA partitions it, so batch norm's
statistics, the gradients and the metrics are those of the whole batch and z, dropout masks and
the denoiser's corruption are drawn for it, and 1 or N devices train the same numbers up to the
order of floating-point sums. Each process reads only its own rows of every batch
(data.batch_pipeline's `shard`) and `jax.make_array_from_process_local_data` joins them into the
global batch. Checkpoints hold one host copy. (pmap, the first form, is in maintenance since
JAX 0.8.)

Multi-process runs (TPU pods, several GPU hosts) call `jax.distributed.initialize` first: with
explicit flags, or from the environment of a TPU pod, an srun step or an Open MPI world.
"""
import atexit
import functools
import os
import sys
import threading
import time
from typing import Any, Optional

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import errors
from gan_jax import models
from gan_jax import calls
from gan_jax import cpu_kernels
from gan_jax import steps
from gan_jax.data import on_device

AXIS = 'batch'


def _cluster_processes() -> int:
  """How many processes the environment says this run has (1 when it says nothing): a TPU pod's
  workers, a SLURM step's tasks (launched with srun), an Open MPI world."""
  if os.environ.get('TPU_WORKER_HOSTNAMES'):
    return len(os.environ['TPU_WORKER_HOSTNAMES'].split(','))
  if os.environ.get('SLURM_STEP_NODELIST'):
    return int(os.environ.get('SLURM_STEP_NUM_TASKS', os.environ.get('SLURM_NTASKS', '1')))
  return int(os.environ.get('OMPI_COMM_WORLD_SIZE', '1'))


def multi_process(coordinator_address: str = '', num_processes: int = 0) -> bool:
  """Whether `initialize` with these arguments starts a multi-process run."""
  return bool(coordinator_address) or num_processes > 1 or _cluster_processes() > 1


def is_first_host(process_id: int = -1) -> bool:
  """Whether this host is the first of the run's (without jax.distributed: evaluation)."""
  for key in ('TPU_WORKER_ID', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
    if key in os.environ:
      return os.environ[key] == '0'
  return process_id <= 0


def initialize(coordinator_address: str = '', num_processes: int = 0,
               process_id: int = -1, heartbeat_timeout_seconds: int = 100) -> None:
  """jax.distributed.initialize when the run is multi-process; nothing for one process.

  Explicit arguments (the --coordinator_address/--num_processes/--process_id flags) win; else a
  TPU pod or a known cluster environment is detected and jax reads the rest from it.
  `heartbeat_timeout_seconds` (--heartbeat_timeout_seconds): the coordination service's; jax
  aborts the other processes (a C++ log, exit 134) when one is silent that long. Before that, at
  half of it, _watch_peers ends them in one line, exit 1 (a host gone without closing its
  connections, or frozen). A process that dies on a live host closes its connections, and the
  others end within seconds (lost_peer).
  """
  explicit = bool(coordinator_address) or num_processes > 1
  if not multi_process(coordinator_address, num_processes):
    return
  if explicit and not (coordinator_address and num_processes > 1 and process_id >= 0):
    raise errors.ConfigError('a multi-process run needs --coordinator_address=HOST:PORT, '
                             '--num_processes=N > 1 and --process_id in [0, N) together')
  if jax.config.jax_platforms in (None, '', 'cpu') and explicit:
    # Collectives between processes on CPU (tests, CPU clusters) go through gloo.
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  kwargs = (dict(coordinator_address=coordinator_address, num_processes=num_processes,
                 process_id=process_id) if explicit else {})
  kwargs['heartbeat_timeout_seconds'] = heartbeat_timeout_seconds
  jax.distributed.initialize(**kwargs)
  logging.info('Process %d of %d; %d local and %d global devices.', jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())
  threading.Thread(target=_watch_peers, args=(heartbeat_timeout_seconds / 2,), daemon=True,
                   name='gan_jax-peers').start()
  # A process that ends on its own says so first (before jax's shutdown barrier), so that the
  # others, still evaluating or writing, do not take it for lost.
  atexit.register(_say_done)


_DONE = 'done'


def _say_done() -> None:
  from jax._src import distributed  # pylint: disable=g-import-not-at-top
  try:
    distributed.global_state.client.key_value_set(f'gan_jax/alive/{jax.process_index()}', _DONE,
                                                  allow_overwrite=True)
  except Exception:  # pylint: disable=broad-except  (the service already gone: nothing to tell)
    pass


def _watch_peers(limit: float) -> None:
  """Ends this process in one line when another process of the run shows no sign of life for
  `limit` seconds (half the coordination service's heartbeat timeout, which would otherwise
  abort it with a C++ log): a host gone without closing its connections, or frozen. Each
  process raises its own counter in the service's key-value store about every limit / 5
  seconds; a counter that stops rising, or a store that cannot be reached, is a lost peer."""
  from jax._src import distributed  # pylint: disable=g-import-not-at-top  (the client jax made)
  client, me, count = distributed.global_state.client, jax.process_index(), jax.process_count()
  seen = {}  # peer -> (its last counter, when it last rose)
  beat = 0
  while True:
    now = time.monotonic()
    try:
      beat += 1
      client.key_value_set(f'gan_jax/alive/{me}', str(beat), allow_overwrite=True)
      for peer in range(count):
        if peer == me:
          continue
        value = client.key_value_try_get(f'gan_jax/alive/{peer}')
        if value == _DONE:
          continue
        if value != seen.get(peer, (None,))[0]:
          seen[peer] = (value, now)
        elif now - seen[peer][1] > limit:
          _lost(f'process {peer} showed no sign of life for {limit:.0f} s (its host is gone or '
                'frozen)')
    except Exception as e:  # pylint: disable=broad-except  (the service itself unreachable)
      if 'NOT_FOUND' not in str(e):  # (A peer that has not written yet.)
        _lost(f'the coordination service cannot be reached ({str(e).splitlines()[0][:160]})')
    time.sleep(limit / 5)


def _lost(why: str) -> None:
  print(f'gan_jax: error: {_lost_message(why)}', file=sys.stderr, flush=True)
  os._exit(1)  # pylint: disable=protected-access  (no shutdown barrier: a peer is gone)


def _lost_message(why: str) -> str:
  return (f'process {jax.process_index()} lost another process of the run ({why}); it stopped '
          'without a checkpoint of the steps since the last one: when every process can run '
          'again, start the same command on each to resume from the last checkpoint')


# What jax's runtime errors say when a collective or the coordination service lost a process
# (gloo's TCP pairs, the service's heartbeats and barriers).
_LOST_PEER_MARKERS = ('Gloo', 'heartbeat', 'Connection reset', 'Connection refused',
                      'UNAVAILABLE', 'Barrier failed', 'unhealthy')


def lost_peer(error: BaseException) -> Optional[errors.PeerLostError]:
  """The one-line error for `error` when it means another process of the run is gone, else None
  (one process; or another kind of failure, out of memory included)."""
  text = str(error)
  if (jax.process_count() == 1 or not isinstance(error, jax.errors.JaxRuntimeError)
      or 'RESOURCE_EXHAUSTED' in text or not any(m in text for m in _LOST_PEER_MARKERS)):
    return None
  first = next((line.strip() for line in text.splitlines() if line.strip()), '')[:200]
  return errors.PeerLostError(_lost_message(first))


def is_primary() -> bool:
  """Process 0 writes metrics, samples, evaluations and tables."""
  return jax.process_index() == 0


def check_batch_size(batch_size: int) -> None:
  if batch_size % jax.device_count():
    raise errors.ConfigError(
        f'config.batch_size={batch_size} must be divisible by the {jax.device_count()} devices '
        f'({jax.process_count()} process(es) x {jax.local_device_count()}) it is split over')


def step_spec(config) -> steps.StepSpec:
  """The step's spec: written for the global batch, which jit partitions over the mesh."""
  return steps.StepSpec.from_config(config)


def mesh() -> jax.sharding.Mesh:
  return jax.sharding.Mesh(np.array(jax.devices()), (AXIS,))


def _replicated() -> jax.sharding.NamedSharding:
  return jax.sharding.NamedSharding(mesh(), jax.sharding.PartitionSpec())


def batch_sharding(batch_axis: int) -> jax.sharding.NamedSharding:
  """The batch's rows (on `batch_axis`) split over the mesh."""
  return jax.sharding.NamedSharding(mesh(),
                                    jax.sharding.PartitionSpec(*([None] * batch_axis), AXIS))


def replicate(tree: Any) -> Any:
  """A host tree as global arrays replicated on every device of every process (each process
  holds the same values: the state is created from the same seed everywhere)."""
  sharding = _replicated()
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)),
                      jax.device_get(tree))


def shard(local: np.ndarray, batch_axis: int) -> jax.Array:
  """This process's rows of the batch [..., b / processes, ...] -> the global batch, sharded."""
  shape = list(local.shape)
  shape[batch_axis] *= jax.process_count()
  return jax.make_array_from_process_local_data(batch_sharding(batch_axis), local, tuple(shape))


def unreplicate(tree: Any) -> Any:
  """One host copy (numpy) of a tree of global arrays, fetched in one transfer: of a replicated
  array its first local shard (multi-process: a global array is not all here, that shard is a
  whole copy); of one the compiler left sharded, the whole array gathered."""
  def local(x):
    if not isinstance(x, jax.Array) or x.is_fully_replicated:
      return x.addressable_shards[0].data if isinstance(x, jax.Array) else x
    if x.is_fully_addressable:
      return x
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    return multihost_utils.process_allgather(x, tiled=True)
  return jax.tree.map(np.asarray, jax.device_get(jax.tree.map(local, tree)))


CALL_FORMS = ('auto', 'loop', 'steps')


def call_form(config) -> str:
  """'loop' or 'steps' (gan_jax/calls.py) for config.call_form. 'auto' is 'loop' on an
  accelerator and, on a CPU, for fully connected networks (the MNIST MLP: 13.8 ms an iteration
  at 500 a call against 15.3 at 1, tests/benchmarks/steps_per_call.py), but 'steps' for
  convolutional ones: XLA:CPU runs convolutions inside a compiled loop up to 34x slower
  (jax-ml/jax#12868; fashion_mnist_32: 10 s an iteration against 0.3 s)."""
  form = config.get('call_form', 'auto')
  errors.require(form in CALL_FORMS, f'config.call_form={form!r} is unknown; use one of '
                 f'{list(CALL_FORMS)}')
  if form != 'auto':
    return form
  cpu = jax.devices()[0].platform == 'cpu'
  return 'steps' if cpu and models.convolutional(config) else 'loop'


class TrainCalls:
  """Calls of n iterations on every device: `run(state, rng, n) -> (state, metrics [n])`, the
  state replicated and donated, each metric stacked over the n iterations; `form` 'loop' (one
  compiled loop) or 'steps' (n dispatches of one iteration).

  With placement 'device' the split is uploaded once, replicated, and each batch is gathered
  inside the call (gan_jax/data/on_device.py), its rows then sharded over the mesh; with 'host'
  the grain pipeline's n batches are sharded and sent with the call. The calls compile with
  gan_jax/cpu_kernels.py's choice of XLA:CPU's kernels. `position` is what a
  checkpoint records of the data (get_state / set_state); `start(step)` readies the order for
  the step training resumes at.

  Each call is waited on before the next is dispatched: on fake CPU devices
  (--xla_force_host_platform_device_count) jit programs over several devices deadlock when
  dispatched ahead of each other. One wait per call of n iterations costs nothing measurable.
  """

  def __init__(self, spec: steps.StepSpec, dataset, placement: str, seed: int,
               form: str = 'loop'):
    self._spec, self._placement, self._loop, self._compiled = spec, placement, form == 'loop', {}
    if placement == 'device':
      self._layout = on_device.Layout(len(dataset.examples), dataset.batch_size,
                                      spec.batches_per_step)
      self._key = on_device.data_key(seed)
      self._split = replicate(np.asarray(dataset.examples))
      self.position = on_device.Position()
    else:
      self.position = iter(dataset.batches)

  def start(self, step: int) -> None:
    if self._placement == 'device':
      self.position.step = step
      self._order = replicate(on_device.initial_order(self._key, step, self._layout))

  def _call(self, n: int):
    """The compiled call of n iterations (n = 0: one iteration, no loop)."""
    if n not in self._compiled:  # One program per call length (a few: K and the remainders).
      if self._placement == 'device':
        fn = (functools.partial(calls.device_batches, length=n) if n else calls.device_iteration)
        fn = functools.partial(fn, spec=self._spec, layout=self._layout,
                               batch_sharding=batch_sharding(1))
        self._compiled[n] = cpu_kernels.jit(fn, donate_argnums=(0, 1))
      else:
        fn = calls.host_batches if n else steps.train_step
        self._compiled[n] = cpu_kernels.jit(functools.partial(fn, spec=self._spec),
                                            donate_argnums=(0,))
    return self._compiled[n]

  def _one(self, state, rng):
    if self._placement == 'device':
      state, self._order, metrics = self._call(0)(state, self._order, self._split, self._key,
                                                  rng)
      self.position.step += 1
      return state, metrics
    return self._call(0)(state, shard(next(self.position), batch_axis=1), rng)

  def run(self, state, rng, n: int):
    if not self._loop:
      each = []
      for _ in range(n):
        state, metrics = self._one(state, rng)
        each.append(metrics)
      metrics = jax.tree.map(lambda *m: jnp.stack(m), *each)
    elif self._placement == 'device':
      state, self._order, metrics = self._call(n)(state, self._order, self._split, self._key,
                                                  np.int32(n), rng)
      self.position.step += n
    else:
      batches = np.stack([next(self.position) for _ in range(n)])  # [n, k, b, ...]
      state, metrics = self._call(n)(state, shard(batches, batch_axis=2), np.int32(n), rng)
    return state, jax.block_until_ready(metrics)


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
