"""The training state: one flax TrainState per network, bundled as GANState.

create_train_state builds it from a config: each network from the model registry
(gan_jax/models), each optimizer with its schedule (gan_jax/optim.py), and DFM's denoiser sized
to D's features.

GANState.step counts iterations of Algorithm 1 (one generator update each); each network's own
TrainState.step counts its optimizer updates (k per iteration for D). Randomness is not stored:
every step derives its key from (seed, GANState.step), so a restored state draws the same numbers.
"""
from typing import Any, Optional

import flax
from flax import struct
from flax.training import train_state
import jax
import jax.numpy as jnp
import optax

from gan_jax import models
from gan_jax import optim


class ModelState(train_state.TrainState):
  """A network's parameters, optimizer state and (when the model has batch norm) batch_stats."""
  batch_stats: Any = flax.core.FrozenDict()

  def forward(self, params, *inputs, train: bool, rngs=None):
    """Applies the model; returns (outputs, batch_stats after this call).

    Batch statistics are updated only in training mode and only for models that have them.
    """
    variables = {'params': params}
    if not self.batch_stats:
      return self.apply_fn(variables, *inputs, train=train, rngs=rngs), self.batch_stats
    variables['batch_stats'] = self.batch_stats
    if not train:
      return self.apply_fn(variables, *inputs, train=False, rngs=rngs), self.batch_stats
    out, updates = self.apply_fn(variables, *inputs, train=True, rngs=rngs, mutable=['batch_stats'])
    return out, updates['batch_stats']


@struct.dataclass
class GANState:
  step: jax.Array
  generator: ModelState
  discriminator: ModelState
  denoiser: Optional[ModelState] = None  # Denoising feature matching (Warde-Farley & Bengio, 2017).


def create_model_state(module, rng: jax.Array, example_input: jax.Array,
                       tx: optax.GradientTransformation, params_fn=None) -> ModelState:
  """Initialises `module` on `example_input`; `params_fn` may edit the initial parameters."""
  variables = module.init({'params': rng, 'dropout': rng}, example_input, train=False)
  params = variables['params']
  if params_fn is not None:
    params = params_fn(params)
  return ModelState.create(
      apply_fn=module.apply, params=params, tx=tx,
      batch_stats=variables.get('batch_stats', flax.core.FrozenDict()))


def create_gan_state(generator: ModelState, discriminator: ModelState,
                     denoiser: Optional[ModelState] = None) -> GANState:
  return GANState(step=jnp.zeros((), jnp.int32), generator=generator,
                  discriminator=discriminator, denoiser=denoiser)


def create_train_state(config, dataset, spec, rng: jax.Array) -> GANState:
  """The initial GANState of `config` for `dataset` (gan_jax.data.Dataset: its example shape,
  steps per epoch and pixel means) under `spec` (gan_jax.steps.StepSpec: k and the
  data-parallel axis)."""
  generator = models.build_generator(config.generator, dataset.example_shape, spec.axis_name)
  discriminator = models.build_discriminator(config.discriminator, spec.axis_name,
                                             config.generator)
  # Schedules count each network's own updates: D makes k of them per iteration.
  g_tx = optim.make_optimizer(config.optimizer, dataset.steps_per_epoch,
                              max_col_norm=config.generator_max_col_norm)
  d_tx = optim.make_optimizer(config.optimizer, dataset.steps_per_epoch * spec.discriminator_steps,
                              max_col_norm=config.discriminator_max_col_norm)
  g_rng, d_rng, r_rng = jax.random.split(rng, 3)
  g = create_model_state(generator, g_rng, jnp.zeros((1, config.noise.dim)), g_tx,
                         models.generator_params_fn(config, dataset.pixel_means))
  example = jnp.zeros((1, *dataset.example_shape))
  d = create_model_state(discriminator, d_rng, example, d_tx)
  r = None
  if config.dfm.enabled:
    n_h = models.feature_dim(discriminator, {'params': d.params, 'batch_stats': d.batch_stats},
                             example)
    r = create_model_state(models.build_denoiser(config.dfm.denoiser, n_h, spec.axis_name), r_rng,
                           jnp.zeros((1, n_h)),
                           optim.make_optimizer(config.dfm.optimizer, dataset.steps_per_epoch))
  return create_gan_state(g, d, r)
