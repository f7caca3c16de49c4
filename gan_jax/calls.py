"""Many iterations of Algorithm 1 in one compiled call (config.steps_per_call).

A call runs n iterations of `steps.train_step` and returns the state after the
last one and each iteration's metrics stacked on a leading axis of n. Iteration t draws its
randomness from fold_in(rng, t) (steps.py), so n calls of one iteration and one call of n give
the same numbers. The host acts between calls only (gan_jax/periodic.py), which cut each call at
the next step where something is due.

Two forms (config.call_form): 'loop', the n iterations in one compiled loop (an
accelerator's form: one dispatch per call); 'steps', n dispatches of one compiled iteration
(XLA:CPU runs convolutions inside a loop body up to 34x slower, jax-ml/jax#12868: the
fashion_mnist_32 iteration took 10 s in a loop against 0.3 s outside one). Within a form, any n
gives the same bits.

The batches come either from the host ([n, k, batch, ...], the grain pipeline) or from the split
resident on the device, gathered inside the call (gan_jax/data/on_device.py).
"""
import functools
from typing import Tuple

import jax
import jax.numpy as jnp

from gan_jax import steps
from gan_jax.data import on_device
from gan_jax.state import GANState


def _iterate(iteration, carry, length: int, trip: jax.Array):
  """`trip` (= length) iterations of `iteration(carry, i) -> (carry, metrics)`, the metrics
  stacked [length, ...].

  The trip count is an argument of the compiled call, not a constant: XLA then compiles the body
  as a loop whatever the length, so a call of 1 iteration and a call of 37 run the same loop
  body and give bit-identical numbers (with a constant trip count of 1 it inlines the body and
  fuses it differently: last-bit differences in the parameters).
  """
  shapes = jax.eval_shape(lambda c: iteration(c, 0)[1], carry)
  stacked = jax.tree.map(lambda s: jnp.zeros((length, *s.shape), s.dtype), shapes)

  def body(i, loop_carry):
    carry, stacked = loop_carry
    carry, metrics = iteration(carry, i)
    return carry, jax.tree.map(lambda all_, one: all_.at[i].set(one), stacked, metrics)

  return jax.lax.fori_loop(0, trip, body, (carry, stacked))


def host_batches(state: GANState, batches: jax.Array, trip: jax.Array, rng: jax.Array, *,
                 spec: steps.StepSpec) -> Tuple[GANState, dict]:
  """Iterations on the host's batches [n, k, batch, ...], one per iteration (trip = n)."""
  def iteration(state, i):
    return steps.train_step(state, batches[i], rng, spec=spec)

  return _iterate(iteration, state, batches.shape[0], trip)


def device_iteration(state: GANState, order: on_device.Order, split: jax.Array,
                     data_key: jax.Array, rng: jax.Array, *, spec: steps.StepSpec,
                     layout: on_device.Layout, batch_sharding=None
                     ) -> Tuple[GANState, on_device.Order, dict]:
  """One iteration on the batches it gathers from the resident split (no loop: the 'steps'
  form, config.call_form)."""
  order, x = on_device.gather(split, order, data_key, state.step, layout)
  if batch_sharding is not None:
    x = jax.lax.with_sharding_constraint(x, batch_sharding)
  state, metrics = steps.train_step(state, x, rng, spec=spec)
  return state, order, metrics


def device_batches(state: GANState, order: on_device.Order, split: jax.Array, data_key: jax.Array,
                   trip: jax.Array, rng: jax.Array, *, spec: steps.StepSpec,
                   layout: on_device.Layout, length: int, batch_sharding=None
                   ) -> Tuple[GANState, on_device.Order, dict]:
  """`length` (= trip) iterations on batches gathered from the resident split by iteration
  number; `batch_sharding` spreads each gathered batch's rows over the devices."""
  def iteration(carry, _):
    state, order, metrics = device_iteration(*carry, split, data_key, rng, spec=spec,
                                             layout=layout, batch_sharding=batch_sharding)
    return (state, order), metrics

  (state, order), metrics = _iterate(iteration, (state, order), length, trip)
  return state, order, metrics


def population_batches(states: GANState, orders: on_device.Order, split: jax.Array,
                       data_keys: jax.Array, trip: jax.Array, rngs: jax.Array,
                       active: jax.Array, *, spec: steps.StepSpec, layout: on_device.Layout,
                       length: int, batch_sharding=None
                       ) -> Tuple[GANState, on_device.Order, dict]:
  """`device_batches` for seeds stacked on a leading axis (gan_jax/population.py): every
  iteration vmapped over the seeds, each with its own step, key and order; a seed whose `active`
  is False keeps its state (it has ended)."""
  train_step = jax.vmap(functools.partial(steps.train_step, spec=spec))

  def keep(new, old):
    return jnp.where(active.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)

  def iteration(carry, _):
    states, orders = carry
    orders, x = on_device.gather_population(split, orders, data_keys, states.step, layout)
    if batch_sharding is not None:
      x = jax.lax.with_sharding_constraint(x, batch_sharding)
    new_states, metrics = train_step(states, x, rngs)
    return (jax.tree.map(keep, new_states, states), orders), metrics

  (states, orders), metrics = _iterate(iteration, (states, orders), length, trip)
  # Stacked [length, seeds]: returned [seeds, length], a seed's metrics as a single run's.
  return states, orders, jax.tree.map(lambda m: jnp.swapaxes(m, 0, 1), metrics)
