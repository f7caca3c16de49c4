"""train_and_evaluate(config, workdir): build, restore, run Algorithm 1, log, sample, checkpoint."""
import functools
import os
from typing import List

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import checkpointing
from gan_jax import config_checks
from gan_jax import data
from gan_jax import errors
from gan_jax import metrics_log
from gan_jax import models
from gan_jax import optim
from gan_jax import state as state_lib
from gan_jax import steps
from gan_jax import workdir as workdir_lib
from gan_jax.evaluation import figures
from gan_jax.models import mlp
from gan_jax.models import prior

_HYPERPARAMS = ('learning_rate', 'momentum')


def create_train_state(config, dataset: data.Dataset, spec: steps.StepSpec,
                       rng: jax.Array) -> state_lib.GANState:
  generator = models.build_generator(config.generator, dataset.example_shape)
  discriminator = models.build_discriminator(config.discriminator)
  # Schedules count each network's own updates: D makes k of them per iteration.
  g_tx = optim.make_optimizer(config.optimizer, dataset.steps_per_epoch)
  d_tx = optim.make_optimizer(config.optimizer, dataset.steps_per_epoch * spec.discriminator_steps,
                              max_col_norm=config.discriminator_max_col_norm)
  params_fn = None
  if config.init_output_bias_from_data:
    if config.generator.name != 'mlp' or config.generator.output_activation != 'sigmoid':
      raise errors.ConfigError('config.init_output_bias_from_data needs an mlp generator with a '
                               'sigmoid output; set it to False for this model')
    params_fn = functools.partial(mlp.init_output_bias_from_marginals,
                                  pixel_means=dataset.pixel_means())
  g_rng, d_rng, r_rng = jax.random.split(rng, 3)
  g = state_lib.create_model_state(generator, g_rng, jnp.zeros((1, config.noise.dim)), g_tx,
                                   params_fn)
  example = jnp.zeros((1, *dataset.example_shape))
  d = state_lib.create_model_state(discriminator, d_rng, example, d_tx)
  r = None
  if config.dfm.enabled:
    # n_h, the width of Φ, from the shapes of D's outputs (nothing is computed).
    _, features = jax.eval_shape(lambda v: discriminator.apply(v, example, train=False),
                                 {'params': d.params, 'batch_stats': d.batch_stats})
    n_h = features.shape[-1]
    width = config.dfm.denoiser.width
    if width and width < n_h:
      raise errors.ConfigError(f'config.dfm.denoiser.width={width} is below n_h={n_h}, the width '
                               'of Φ; the paper uses widths >= n_h (0 means n_h)')
    denoiser = models.Denoiser(feature_dim=n_h, num_layers=config.dfm.denoiser.num_layers,
                               width=width)
    r = state_lib.create_model_state(denoiser, r_rng, jnp.zeros((1, n_h)),
                                     optim.make_optimizer(config.dfm.optimizer,
                                                          dataset.steps_per_epoch))
  return state_lib.create_gan_state(g, d, r)


def _check_finite(history: List[dict], first_step: int, checkpointer) -> None:
  for offset, metrics in enumerate(history):
    for key, value in metrics.items():
      if not np.isfinite(value):
        last_good = checkpointer.latest_step()
        kept = (f'the last good checkpoint (step {last_good}) is kept in {checkpointer.directory}'
                if last_good is not None else 'no checkpoint had been written')
        raise errors.NonFiniteLossError(
            f'{key} became {value} at step {first_step + offset} (steps {first_step}-'
            f'{first_step + len(history) - 1} were checked); training stopped and {kept}; lower '
            'config.optimizer.learning_rate or change the model')


def _summarise(history: List[dict]) -> dict:
  """Means over the logging interval; hyperparameters at its last step."""
  return {k: history[-1][k] if k in _HYPERPARAMS else float(np.mean([m[k] for m in history]))
          for k in history[-1]}


def _write_samples(workdir, step, samples, log) -> None:
  image = figures.samples_figure(np.asarray(samples))
  figures.write_png(os.path.join(workdir, 'samples', f'step_{step:06d}.png'), image,
                    scale=max(1, 512 // image.shape[1]))
  log.write_image(step, 'samples', image)


def train_and_evaluate(config, workdir: str) -> state_lib.GANState:
  """Trains (resuming from workdir/checkpoints when there are any); returns the final state."""
  config_checks.validate(config)
  spec = steps.StepSpec.from_config(config)
  # Everything that can fail on bad input happens before the workdir is touched.
  dataset = data.get_dataset(config.data, 'train', batch_size=config.batch_size,
                             batches_per_step=spec.batches_per_step, seed=config.seed)
  init_rng, train_rng, sample_rng = jax.random.split(jax.random.PRNGKey(config.seed), 3)
  state = create_train_state(config, dataset, spec, init_rng)
  workdir_lib.prepare(workdir, config)
  logging.info('Training on %s; workdir %s', jax.devices(), workdir)

  checkpointer = checkpointing.Checkpointer(os.path.join(workdir, 'checkpoints'),
                                            keep=config.keep_checkpoints,
                                            save_interval_steps=config.checkpoint_every_steps)
  batches = iter(dataset.batches)
  restored = checkpointer.restore(state)
  if restored is not None:
    step, state, data_state = restored
    batches.set_state(data_state)
    logging.info('Resumed from the checkpoint at step %d.', step)
  start = int(state.step)
  if start >= config.num_train_steps:
    logging.info('Already trained for %d steps; nothing to do.', start)
    return state

  train_step = jax.jit(functools.partial(steps.train_step, spec=spec), donate_argnums=0)
  fixed_z = prior.sample_noise(sample_rng, config.num_samples, config.noise.dim,
                                     config.noise.prior)
  generate = jax.jit(lambda g, z: g.forward(g.params, z, train=False)[0])
  log = metrics_log.MetricsLog(workdir, config.num_train_steps, start)
  history = []
  try:
    for step in range(start + 1, config.num_train_steps + 1):
      state, metrics = train_step(state, next(batches), train_rng)
      history.append(metrics)
      last = step == config.num_train_steps
      checkpoint_now = last or step % config.checkpoint_every_steps == 0
      if last or checkpoint_now or step % config.log_every_steps == 0:
        # Fetching the metrics waits for the device: done once per interval, not per step.
        host = jax.device_get(history)
        _check_finite(host, step - len(host) + 1, checkpointer)
        log.write(step, _summarise(host))
        history = []
      if last or step % config.sample_every_steps == 0:
        _write_samples(workdir, step, generate(state.generator, fixed_z), log)
      if checkpoint_now:
        checkpointer.save(step, state, batches.get_state(), force=True)
  finally:
    checkpointer.wait()
    checkpointer.close()
    log.close()
  return state
