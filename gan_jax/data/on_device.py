"""The training split resident on the device (config.data.placement), its order drawn there.

With placement 'device' the split is uploaded once as it is stored (uint8 images stay uint8) and
every batch is gathered inside the compiled training call, so the host hands the device nothing
per step. The order of the rows is defined here, and only here:

  the rows of epoch e are jax.random.permutation(fold_in(fold_in(PRNGKey(seed), DATA_STREAM), e), N)
  cut into N // batch_size batches; iteration t takes the k = batches_per_step batches
  t·k, ..., t·k + k - 1 of the endless sequence of epochs (Algorithm 1's k minibatches).

A resume therefore needs only the step. 'host' is the grain pipeline of gan_jax/data/__init__.py
(its own numpy order, its position saved with each checkpoint): for splits read lazily from disk
and for every run trained before placement existed (their config.json has no data.placement).
"""
import dataclasses
import os
from typing import Optional, Tuple

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import errors

PLACEMENTS = ('auto', 'device', 'host')
# The data order's own stream of the run's key (the init/train/sample keys are its split(3)).
DATA_STREAM = 0xDA7A
# 'auto' places the split on the device when it takes at most this share of the device's memory
# (the rest holds the networks, their optimizer states and the activations).
DEVICE_SHARE = 0.25


def validate(data_config) -> None:
  placement = data_config.get('placement', 'auto')
  errors.require(placement in PLACEMENTS, f'config.data.placement={placement!r} is unknown; use '
                 f'one of {list(PLACEMENTS)}')


def device_memory_bytes(device: Optional[jax.Device] = None) -> int:
  """The memory of one device: its allocator's limit on a GPU/TPU, the machine's RAM on a CPU."""
  device = device or jax.local_devices()[0]
  stats = device.memory_stats() if hasattr(device, 'memory_stats') else None
  if stats and stats.get('bytes_limit'):
    return int(stats['bytes_limit'])
  return int(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES'))


def resolve(placement: str, examples, saved: Optional[str] = None,
            memory_bytes: Optional[int] = None) -> Tuple[str, str]:
  """(placement, why): 'device' or 'host' for a config's 'auto', 'device' or 'host'.

  `saved` is the placement in the workdir's config.json when it has one ('host' for a run made
  before the key existed): a resumed run keeps it, whatever 'auto' would choose now.
  """
  if placement == 'auto' and saved in ('device', 'host'):
    return saved, 'the placement this workdir was trained with'
  if not isinstance(examples, np.ndarray):  # A split read lazily from disk (tfds LazyRows).
    if placement == 'device':
      raise errors.ConfigError('config.data.placement=device: this split is read from disk on '
                               'demand (it is not held in memory); use placement=host or auto')
    return 'host', 'the split is read from disk on demand'
  if placement != 'auto':
    return placement, 'config.data.placement'
  memory_bytes = memory_bytes or device_memory_bytes()
  fits = examples.nbytes <= DEVICE_SHARE * memory_bytes
  return ('device' if fits else 'host',
          f'the split is {examples.nbytes / 2**20:.1f} MiB, {"within" if fits else "over"} '
          f'{DEVICE_SHARE:.0%} of the device\'s {memory_bytes / 2**30:.1f} GiB')


@dataclasses.dataclass(frozen=True)
class Layout:
  """What the gather needs to know, bound before jit (hashable)."""
  num_rows: int
  batch_size: int  # Rows of one minibatch, all devices together.
  batches_per_step: int  # k.

  @property
  def batches_per_epoch(self) -> int:
    return self.num_rows // self.batch_size


def data_key(seed: int) -> jax.Array:
  return jax.random.fold_in(jax.random.PRNGKey(seed), DATA_STREAM)


def epoch_order(key: jax.Array, epoch, num_rows: int) -> jax.Array:
  """The rows of `epoch` in the order they are read (the definition in the docstring)."""
  return jax.random.permutation(jax.random.fold_in(key, epoch), num_rows)


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class Order:
  """The current epoch's order, carried from call to call so that it is drawn once an epoch."""
  rows: jax.Array  # int32 [N]
  epoch: jax.Array  # int32 []


def initial_order(key: jax.Array, step: int, layout: Layout) -> Order:
  epoch = (step * layout.batches_per_step) // layout.batches_per_epoch
  return Order(rows=epoch_order(key, epoch, layout.num_rows), epoch=jnp.int32(epoch))


def to_float(rows: jax.Array) -> jax.Array:
  """uint8 pixels -> float32 in [0, 1], the same arithmetic as gan_jax.data.to_float."""
  if rows.dtype == jnp.uint8:
    return rows.astype(jnp.float32) * jnp.float32(1 / 255)
  return rows.astype(jnp.float32)


def _epoch_and_position(step, j: int, layout: Layout):
  epoch, position = jnp.divmod(step * layout.batches_per_step + j, layout.batches_per_epoch)
  return epoch.astype(jnp.int32), position


def refreshed(order: Order, key: jax.Array, step, j: int, layout: Layout) -> Order:
  """The order minibatch j of iteration `step` reads: the carried one, or the next epoch's,
  drawn when the iteration reaches it (once an epoch)."""
  epoch, _ = _epoch_and_position(step, j, layout)
  return jax.lax.cond(epoch == order.epoch, lambda o: o,
                      lambda o: Order(epoch_order(key, epoch, layout.num_rows), epoch), order)


def take(split: jax.Array, order: Order, step, j: int, layout: Layout) -> jax.Array:
  """Minibatch j of iteration `step` from `order` (already that minibatch's epoch), as floats."""
  _, position = _epoch_and_position(step, j, layout)
  rows = jax.lax.dynamic_slice_in_dim(order.rows, position * layout.batch_size,
                                      layout.batch_size)
  return to_float(jnp.take(split, rows, axis=0))


def gather(split: jax.Array, order: Order, key: jax.Array, step,
           layout: Layout) -> Tuple[Order, jax.Array]:
  """(order, float32 [k, batch, ...]): the minibatches of iteration `step`."""
  minibatches = []
  for j in range(layout.batches_per_step):
    order = refreshed(order, key, step, j, layout)
    minibatches.append(take(split, order, step, j, layout))
  return order, jnp.stack(minibatches)


def gather_population(split: jax.Array, orders: Order, keys: jax.Array, steps,
                      layout: Layout) -> Tuple[Order, jax.Array]:
  """`gather` for seeds stacked on a leading axis ([S] steps and keys): a new epoch's order is
  drawn only in the iterations where some seed reaches one (under vmap, `gather`'s cond would
  become a select that draws it every iteration)."""
  minibatches = []
  for j in range(layout.batches_per_step):
    epochs = jax.vmap(lambda s, j=j: _epoch_and_position(s, j, layout)[0])(steps)
    stale = epochs != orders.epoch

    def redraw(o, epochs=epochs, stale=stale):
      fresh = jax.vmap(lambda k, e: epoch_order(k, e, layout.num_rows))(keys, epochs)
      return Order(jnp.where(stale[:, None], fresh, o.rows), jnp.where(stale, epochs, o.epoch))

    orders = jax.lax.cond(jnp.any(stale), redraw, lambda o: o, orders)
    minibatches.append(jax.vmap(lambda o, s, j=j: take(split, o, s, j, layout))(orders, steps))
  return orders, jnp.stack(minibatches, axis=1)


class Position:
  """What a checkpoint records of the device order: nothing but the step (the data state the
  host pipeline's grain iterator would save)."""

  def __init__(self, step: int = 0):
    self.step = step

  def get_state(self) -> dict:
    return {'placement': 'device', 'step': self.step}

  def set_state(self, state: dict) -> None:
    if state.get('placement') != 'device':
      raise errors.WorkdirError('the checkpoint was written by a run whose data came from the host '
                                'pipeline; resume it with config.data.placement=host')
    self.step = int(state['step'])


def log_choice(placement: str, why: str) -> None:
  logging.info('Training data: %s (%s).', 'on the device, gathered inside each call'
               if placement == 'device' else 'from the host pipeline', why)
