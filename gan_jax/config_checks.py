"""Value checks on a whole config, run before anything is built or written.

Unknown keys are already refused by the locked ConfigDict. Each part of the config is checked by
its owner: the run's own keys here; the noise by models/prior.py, the networks by the model
registry (models/__init__.py, each class its own fields), the optimizers by optim.py, the
adversarial loss by losses.py, the step (k, the update rule, DFM) by steps.py, the evaluation
by the metrics (evaluation/metrics). Each invalid value or contradiction raises a one-line
ConfigError naming the key and what it may be.
"""
from gan_jax import data
from gan_jax import early_stopping
from gan_jax import errors
from gan_jax import losses
from gan_jax import models
from gan_jax import optim
from gan_jax import parallel
from gan_jax import steps
from gan_jax.data import on_device
from gan_jax.evaluation import metrics
from gan_jax.models import prior


def validate(config, training: bool = True) -> None:
  """`training` False: for --mode=eval, which trains nothing (the stopping rule's needs are
  training's)."""
  try:
    _validate(config, training)
  except (AttributeError, KeyError) as e:  # A get_config that dropped a key the run needs.
    if not _raised_by_config_dict(e):
      raise
    key = str(e.args[0] if e.args else e).strip('"\'')
    raise errors.ConfigError(
        f'the config has no key {key!r}, which this run needs; build the experiment\'s '
        'get_config on experiments/common.py\'s base_config() and keep its keys') from e


def _raised_by_config_dict(error: BaseException) -> bool:
  frame = error.__traceback__
  while frame.tb_next is not None:
    frame = frame.tb_next
  return 'ml_collections' in frame.tb_frame.f_code.co_filename


def _validate(config, training: bool) -> None:
  for key in ('num_train_steps', 'batch_size', 'log_every_steps', 'checkpoint_every_steps',
              'sample_every_steps', 'keep_checkpoints', 'num_samples'):
    value = config[key]
    errors.require(isinstance(value, int) and value > 0,
                   f'config.{key}={value!r} must be a positive integer')
  keep_steps = config.get('keep_checkpoint_steps', ())
  errors.require(all(type(s) is int and s > 0 for s in keep_steps),  # (Not True, a bool.)
                 f'config.keep_checkpoint_steps={keep_steps!r} must be positive integers (steps '
                 'whose checkpoints are saved and kept), e.g. (500000, 1000000)')
  errors.require(isinstance(config.seed, int) and 0 <= config.seed < 2**32,
                 f'config.seed={config.seed!r} must be an integer in [0, 2**32)')
  errors.require(config.max_abs_loss >= 0, f'config.max_abs_loss={config.max_abs_loss} must be '
                 '>= 0 (0 turns the divergence guard off)')
  steps_per_call = config.get('steps_per_call', 0)
  errors.require(isinstance(steps_per_call, int) and steps_per_call >= 0,
                 f'config.steps_per_call={steps_per_call!r} must be an integer >= 0 (0: chosen '
                 'per platform)')
  parallel.call_form(config)
  data.validate(config.data)
  on_device.validate(config.data)
  prior.validate(config.noise)
  models.validate(config)
  optim.validate(config.optimizer, 'config.optimizer')
  optim.validate(config.dfm.optimizer, 'config.dfm.optimizer')
  for key in ('discriminator_max_col_norm', 'generator_max_col_norm'):
    errors.require(config[key] >= 0, f'config.{key}={config[key]} must be >= 0 (0 turns the '
                   'constraint off)')
  losses.get(config.loss)
  steps.validate(config)
  metrics.validate(config)
  early_stopping.validate(config, training)
