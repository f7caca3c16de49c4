"""Optimizers from config.optimizer, with the released code's schedules as optax schedules.

The released MNIST setup (pylearn2 SGD): learning rate 0.1 divided by 1.000004 after every update
with a floor of 1e-6 (`ExponentialDecay`), and momentum raised linearly from 0.5 to 0.7 between
epochs 1 and 250 (`MomentumAdjustor`). Hyperparameters go through `optax.inject_hyperparams`, so the
current values live in the optimizer state (and are logged from there).
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax import errors

OPTIMIZERS = ('momentum', 'adam')


def learning_rate_schedule(opt_config) -> optax.Schedule:
  """lr_t = max(lr_0 / decay_factor^t, min_lr); decay_factor = 1 keeps it constant.

  Written as lr_0 exp(-t log decay_factor) with the logarithm taken in float64: the float32 power
  inside `optax.exponential_decay` rounds 1/1.000004 and drifts by 0.16% after 250k steps.
  """
  if opt_config.lr_decay_factor == 1:
    return optax.constant_schedule(opt_config.learning_rate)
  log_decay = math.log(opt_config.lr_decay_factor)
  lr_0, floor = opt_config.learning_rate, opt_config.min_learning_rate
  return lambda count: jnp.maximum(lr_0 * jnp.exp(-log_decay * count), floor)


def momentum_schedule(opt_config, steps_per_epoch: int) -> optax.Schedule:
  """pylearn2's MomentumAdjustor(final_momentum, start, saturate), held for each epoch.

  The adjustor runs at every monitor call, and pylearn2 monitors once before the first epoch, so
  during (1-based) epoch E its count is E and the momentum is
  m_0 (1 - α) + α m_final with α = clip((E - start) / (saturate - start), 0, 1)
  (with saturate = start: m_final from epoch `start` on). The released 0.5 -> 0.7 over epochs
  1-250 uses 0.5 + 0.2 (E - 1) / 249 and reaches 0.7 in epoch 250.
  """
  m_0, m_final = opt_config.momentum, opt_config.final_momentum
  start, saturate = opt_config.momentum_start_epoch, opt_config.momentum_saturate_epoch

  def schedule(count):
    epoch = count // steps_per_epoch + 1  # The adjustor's count during this step's epoch.
    if saturate == start:
      alpha = jnp.where(epoch >= start, 1.0, 0.0)
    else:
      alpha = jnp.clip((epoch - start) / (saturate - start), 0.0, 1.0)
    return m_0 * (1 - alpha) + alpha * m_final

  return schedule


@optax.inject_hyperparams
def pylearn2_momentum(learning_rate, momentum) -> optax.GradientTransformation:
  """v <- momentum * v - learning_rate * g; θ <- θ + v (pylearn2's `Momentum` learning rule).

  The learning rate is applied before the velocity accumulates, unlike `optax.sgd`, so a decaying
  rate changes future steps exactly as in the released code.
  """
  return optax.chain(optax.scale_by_learning_rate(learning_rate), optax.trace(decay=momentum))


def max_column_norm(max_norm: float) -> optax.GradientTransformation:
  """Projects each weight matrix after the update so that no column's L2 norm exceeds `max_norm`.

  pylearn2's `max_col_norm` (the released TFD setup caps every layer of G and D at 1.9365): column j of a kernel [in, out] holds the incoming
  weights of unit j. Biases and other non-matrix parameters are left alone.
  """

  def update_fn(updates, state, params):
    def project(update, param):
      if param.ndim != 2:
        return update
      new = param + update
      norms = jnp.sqrt(jnp.sum(jnp.square(new), axis=0, keepdims=True))
      scale = jnp.minimum(1.0, max_norm / jnp.maximum(norms, 1e-12))
      return new * scale - param

    return jax.tree.map(project, updates, params), state

  return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


def validate(opt, where: str) -> None:
  """One optimizer's config (config.optimizer, config.dfm.optimizer), before it is built."""
  errors.require(opt.name in OPTIMIZERS,
           f'{where}.name={opt.name!r} is unknown; use one of {list(OPTIMIZERS)}')
  for key in ('learning_rate', 'min_learning_rate', 'lr_decay_factor'):
    with np.errstate(over='ignore'):  # 1e39 -> inf in float32 is what is checked here.
      fits = isinstance(opt[key], (int, float)) and np.isfinite(np.float32(opt[key]))
    errors.require(fits,
                   f'{where}.{key}={opt[key]!r} must be a finite number that float32 holds '
                   '(|x| < 3.4e38)')
  errors.require(opt.learning_rate > 0, f'{where}.learning_rate={opt.learning_rate} must be > 0')
  errors.require(opt.lr_decay_factor >= 1, f'{where}.lr_decay_factor={opt.lr_decay_factor} '
           'must be >= 1 (the rate is divided by it every step; 1 keeps it constant)')
  errors.require(0 <= opt.min_learning_rate <= opt.learning_rate,
           f'{where}.min_learning_rate={opt.min_learning_rate} must be in '
           f'[0, learning_rate={opt.learning_rate}]')
  for key in ('momentum', 'final_momentum', 'b1', 'b2'):
    errors.require(0 <= opt[key] < 1, f'{where}.{key}={opt[key]} must be in [0, 1)')
  errors.require(0 <= opt.momentum_start_epoch <= opt.momentum_saturate_epoch,
           f'{where}: need 0 <= momentum_start_epoch ({opt.momentum_start_epoch}) <= '
           f'momentum_saturate_epoch ({opt.momentum_saturate_epoch})')


def make_optimizer(opt_config, steps_per_epoch: int,
                   max_col_norm: float = 0.0) -> optax.GradientTransformation:
  if opt_config.name == 'momentum':
    tx = pylearn2_momentum(learning_rate=learning_rate_schedule(opt_config),
                           momentum=momentum_schedule(opt_config, steps_per_epoch))
  elif opt_config.name == 'adam':
    tx = optax.inject_hyperparams(optax.adam)(
        learning_rate=learning_rate_schedule(opt_config), b1=opt_config.b1, b2=opt_config.b2)
  else:
    raise errors.ConfigError(
        f'config.optimizer.name={opt_config.name!r} is unknown; use one of {list(OPTIMIZERS)}')
  if max_col_norm > 0:
    tx = optax.chain(tx, max_column_norm(max_col_norm))
  return tx


HYPERPARAMS = ('learning_rate', 'momentum')  # The scheduled ones, logged for every network.


def is_hyperparam(metric: str) -> bool:
  """Whether a logged metric is a network's scheduled hyperparameter (e.g. d_learning_rate)."""
  return metric.endswith(HYPERPARAMS)


def current_hyperparams(opt_state) -> dict:
  """The injected learning_rate and momentum at the optimizer's current count."""
  has_hyperparams = lambda node: hasattr(node, 'hyperparams')
  for node in jax.tree.leaves(opt_state, is_leaf=has_hyperparams):
    if has_hyperparams(node):
      return {k: node.hyperparams[k] for k in HYPERPARAMS if k in node.hyperparams}
  return {}
