"""Value checks on a whole config, run before anything is built or written.

Unknown keys are already refused by the locked ConfigDict; here each invalid value or
contradiction raises a one-line ConfigError naming the key and what it may be.
"""
from gan_jax import errors
from gan_jax import losses
from gan_jax import optim
from gan_jax import steps
from gan_jax.models import mlp
from gan_jax.models import prior


def _require(ok: bool, message: str) -> None:
  if not ok:
    raise errors.ConfigError(message)


def _positive_int(config, key: str) -> None:
  value = config[key]
  _require(isinstance(value, int) and value > 0, f'config.{key}={value!r} must be a positive integer')


def validate(config) -> None:
  for key in ('num_train_steps', 'batch_size', 'discriminator_steps', 'log_every_steps',
              'checkpoint_every_steps', 'sample_every_steps', 'keep_checkpoints', 'num_samples'):
    _positive_int(config, key)
  _require(config.generator_loss in losses.GENERATOR_LOSSES,
           f'config.generator_loss={config.generator_loss!r} is unknown; use one of '
           f'{sorted(losses.GENERATOR_LOSSES)}')
  _require(config.update_rule in steps.UPDATE_RULES,
           f'config.update_rule={config.update_rule!r} is unknown; use one of {list(steps.UPDATE_RULES)}')
  _require(config.max_abs_loss >= 0, f'config.max_abs_loss={config.max_abs_loss} must be >= 0 '
           '(0 turns the divergence guard off)')
  _validate_dfm(config)
  _require(config.discriminator_loss_scale > 0,
           f'config.discriminator_loss_scale={config.discriminator_loss_scale} must be > 0')
  _require(config.noise.prior in prior.PRIORS,
           f'config.noise.prior={config.noise.prior!r} is unknown; use one of {list(prior.PRIORS)}')
  _require(isinstance(config.noise.dim, int) and config.noise.dim > 0,
           f'config.noise.dim={config.noise.dim!r} must be a positive integer')
  for key in ('discriminator_max_col_norm', 'generator_max_col_norm'):
    _require(config[key] >= 0, f'config.{key}={config[key]} must be >= 0 (0 turns the constraint '
             'off)')
  for key in ('input_keep', 'hidden_keep'):
    if key in config.discriminator:
      value = config.discriminator[key]
      _require(0 < value <= 1, f'config.discriminator.{key}={value} is a keep probability: it '
               'must be in (0, 1]')
  _validate_generator(config.generator)
  _validate_optimizer(config.optimizer, 'config.optimizer')
  _validate_optimizer(config.dfm.optimizer, 'config.dfm.optimizer')
  _validate_eval(config.eval)
  if config.eval.parzen and config.eval.protocol == 'holdout':
    _require(config.data.get('num_validation', 1) != 0,
             'config.eval.parzen needs validation rows to choose σ, but config.data.num_validation=0;'
             ' hold some out or set config.eval.parzen=False (Inception/classifier scores need none)')


def _validate_eval(ev) -> None:
  from gan_jax.evaluation import protocols  # pylint: disable=g-import-not-at-top
  _require(ev.protocol in protocols.PROTOCOLS, f'config.eval.protocol={ev.protocol!r} is unknown; '
           f'use one of {list(protocols.PROTOCOLS)}')
  _require(isinstance(ev.num_samples, int) and ev.num_samples > 0,
           f'config.eval.num_samples={ev.num_samples!r} must be a positive integer')
  _require(len(ev.sigmas) > 0 and all(s > 0 for s in ev.sigmas),
           f'config.eval.sigmas={tuple(ev.sigmas)} must be a non-empty grid of widths > 0')
  for key in ('num_validation', 'num_test', 'num_reference'):
    _require(isinstance(ev[key], int) and ev[key] >= 0,
             f'config.eval.{key}={ev[key]!r} must be an integer >= 0 (0: the whole split)')
  for key in ('num_splits', 'inception_samples'):
    _require(isinstance(ev[key], int) and ev[key] > 0,
             f'config.eval.{key}={ev[key]!r} must be a positive integer')
  _require(ev.inception_samples >= ev.num_splits,
           f'config.eval.inception_samples={ev.inception_samples} must be at least '
           f'config.eval.num_splits={ev.num_splits} (one sample per split)')
  if ev.protocol == 'tfd_folds':
    _require(len(ev.folds) > 1 and all(0 <= f < 5 for f in ev.folds),
             f'config.eval.folds={tuple(ev.folds)} must name at least two TFD folds in 0..4')


def _validate_dfm(config) -> None:
  dfm = config.dfm
  if dfm.enabled:
    _require(config.update_rule == 'simultaneous',
             'config.dfm.enabled: denoising feature matching updates D, r and G at the same '
             'parameters (Warde-Farley & Bengio, 2017, §5); set config.update_rule=simultaneous')
  for key in ('lambda_adv', 'denoise_weight'):
    _require(dfm[key] >= 0, f'config.dfm.{key}={dfm[key]} must be >= 0')
  _require(dfm.noise_std > 0, f'config.dfm.noise_std={dfm.noise_std} must be > 0')
  _require(isinstance(dfm.denoiser.num_layers, int) and dfm.denoiser.num_layers >= 1,
           f'config.dfm.denoiser.num_layers={dfm.denoiser.num_layers!r} must be a positive integer')
  _require(isinstance(dfm.denoiser.width, int) and dfm.denoiser.width >= 0,
           f'config.dfm.denoiser.width={dfm.denoiser.width!r} must be >= 0 (0: n_h)')


def _validate_generator(generator) -> None:
  activations = tuple(generator.get('hidden_activations', ()))
  for name in activations + ((generator.output_activation,) if 'output_activation' in generator
                             else ()):
    _require(name in mlp.ACTIVATIONS, f'config.generator: activation {name!r} is unknown; use one '
             f'of {sorted(mlp.ACTIVATIONS)}')
  if activations and 'hidden_dims' in generator:
    _require(len(activations) == len(generator.hidden_dims),
             f'config.generator.hidden_activations has {len(activations)} entries for '
             f'{len(generator.hidden_dims)} hidden layers; give one per layer or none (all ReLU)')


def _validate_optimizer(opt, where: str) -> None:
  _require(opt.name in optim.OPTIMIZERS,
           f'{where}.name={opt.name!r} is unknown; use one of {list(optim.OPTIMIZERS)}')
  _require(opt.learning_rate > 0, f'{where}.learning_rate={opt.learning_rate} must be > 0')
  _require(opt.lr_decay_factor >= 1, f'{where}.lr_decay_factor={opt.lr_decay_factor} '
           'must be >= 1 (the rate is divided by it every step; 1 keeps it constant)')
  _require(0 <= opt.min_learning_rate <= opt.learning_rate,
           f'{where}.min_learning_rate={opt.min_learning_rate} must be in '
           f'[0, learning_rate={opt.learning_rate}]')
  for key in ('momentum', 'final_momentum', 'b1', 'b2'):
    _require(0 <= opt[key] < 1, f'{where}.{key}={opt[key]} must be in [0, 1)')
  _require(0 <= opt.momentum_start_epoch <= opt.momentum_saturate_epoch,
           f'{where}: need 0 <= momentum_start_epoch ({opt.momentum_start_epoch}) <= '
           f'momentum_saturate_epoch ({opt.momentum_saturate_epoch})')
