"""The base config every experiment overrides: the released MNIST setup of Goodfellow et al. (2014).

Each experiment file defines `get_config(arg=None)`; `arg` is the text after ':' in
--config=experiments/NAME.py:ARG, where `runlocal` shrinks the run to a few seconds on a CPU.
"""
import ml_collections

from gan_jax import data
from gan_jax import early_stopping
from gan_jax import errors
from gan_jax import models
from gan_jax.models import radford
from gan_jax.evaluation import metrics


def released_momentum_sgd() -> ml_collections.ConfigDict:
  """The released code's SGD: lr 0.1 / 1.000004 per step (floor 1e-6), momentum 0.5 -> 0.7."""
  return ml_collections.ConfigDict(dict(
      name='momentum', learning_rate=0.1, lr_decay_factor=1.000004, min_learning_rate=1e-6,
      momentum=0.5, final_momentum=0.7, momentum_start_epoch=1, momentum_saturate_epoch=250,
      b1=0.5, b2=0.999))  # b1, b2: used when name='adam'.


def adam(learning_rate: float, b1: float = 0.5) -> ml_collections.ConfigDict:
  """Adam at a constant rate (the same fields, so any optimizer key can be overridden)."""
  config = released_momentum_sgd()
  config.update(name='adam', learning_rate=learning_rate, lr_decay_factor=1.0,
                min_learning_rate=0.0, b1=b1)
  return config


def radford_networks(config: ml_collections.ConfigDict, width: float) -> None:
  """config.generator / config.discriminator: Radford et al.'s networks at `width`, as released
  (gan_jax/models/radford.py): tanh on [-1, 1], Theano's layout, batch-norm epsilon 1e-8. Every
  field is written out, so a workdir's config.json says which networks it trained."""
  release = dict(name='radford', width=width, layout='release',
                 batch_norm_epsilon=radford.RELEASE_EPSILON)
  config.generator = ml_collections.ConfigDict(dict(release, output_activation='tanh'))
  config.discriminator = ml_collections.ConfigDict(release)
  config.init_output_bias_from_data = False


def base_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.num_train_steps = 100_000
  config.batch_size = 100

  # Algorithm 1.
  config.discriminator_steps = 1  # k; the paper used k = 1.
  config.update_rule = 'alternating'  # or 'simultaneous' (the released code: D and G in one step).
  # The adversarial objective, a named pair of D and G losses (gan_jax/losses.py): 'minimax' (eq. 1
  # taken literally), 'non_saturating' (§3: G maximises log D(G(z))), 'hinge', 'least_squares'.
  config.loss = 'non_saturating'
  config.discriminator_loss_scale = 1.0  # The released code uses 0.5 * (BCE real + BCE fake).

  config.noise = ml_collections.ConfigDict(dict(prior='uniform', dim=100))  # U(-√3, √3)^100.
  config.generator = ml_collections.ConfigDict(dict(
      name='mlp', hidden_dims=(1200, 1200), init_range=0.05, output_activation='sigmoid'))
  config.init_output_bias_from_data = True  # G's sigmoid bias = logit(mean pixel).
  config.discriminator = ml_collections.ConfigDict(dict(
      name='maxout', hidden_units=(240, 240), num_pieces=5, init_range=0.005, input_keep=0.8,
      hidden_keep=0.5))
  config.discriminator_max_col_norm = 0.0  # pylearn2 max_col_norm; 0 = off (TFD: 1.9365).
  config.generator_max_col_norm = 0.0  # The same on G's weight matrices (TFD: 1.9365).

  config.optimizer = released_momentum_sgd()

  # Denoising feature matching (Warde-Farley & Bengio, 2017); off for the 2014 GAN.
  config.dfm = ml_collections.ConfigDict(dict(
      enabled=False,
      lambda_adv=1.0,
      denoise_weight=0.03,  # λ_denoise = denoise_weight / n_h, n_h = the width of Φ.
      noise_std=1.0,  # σ of the Gaussian corruption of Φ(x) seen by the denoiser.
      denoiser=ml_collections.ConfigDict(dict(num_layers=2, width=0)),  # width 0: n_h.
      # The denoiser's own optimizer: Adam lr 1e-4, β1 0.5 (§4), whatever G and D use.
      optimizer=adam(1e-4),
  ))

  config.data = data.default_config('tfds', name='mnist')

  # Divergence guard: training stops when a logged loss's magnitude exceeds this (NaN and Inf
  # always stop it). GAN losses are O(1)-O(10); 0 turns the guard off.
  config.max_abs_loss = 1e6

  # Iterations of Algorithm 1 per call between the host's actions (gan_jax/calls.py), and the
  # call's form: 'loop' (one compiled loop), 'steps' (one dispatch an iteration) or 'auto'
  # ('steps' for convolutional networks on a CPU, 'loop' otherwise; gan_jax/parallel.py says
  # why). steps_per_call 0: 500 in the loop form, 1 in the steps form. Within a form any value
  # trains the same numbers.
  config.steps_per_call = 0
  config.call_form = 'auto'
  # A table row's seeds as one program (gan_jax/population.py): '' trains config.seed alone;
  # '0,1,2' trains those seeds together, each in <workdir>/seed=N. The form: 'auto' (a loop over
  # the seeds on a CPU, vmap elsewhere), 'loop' or 'vmap'.
  config.seeds = ''
  config.population_form = 'auto'
  config.log_every_steps = 500
  config.checkpoint_every_steps = 5000
  config.sample_every_steps = 5000
  config.keep_checkpoints = 3  # The newest ones; plus the best by the selection metric.
  # Steps at which a checkpoint is saved and kept, as long as the run's config lists them (a
  # long run's milestones; resumed without them, they are deleted like any other).
  config.keep_checkpoint_steps = ()
  # Training ends early when the selection metric, evaluated every eval.every_steps, stops
  # improving (gan_jax/early_stopping.py); patience 0: train for num_train_steps.
  config.early_stopping = early_stopping.default_config()
  config.num_samples = 100  # Images in each samples/step_NNNNNN.png grid (fixed z).

  # Evaluation (--mode=eval, and during training every eval.every_steps): the metrics named in
  # eval.metrics, each with its own keys (gan_jax/evaluation/metrics). The 2014 metric: the
  # Parzen window on the MNIST protocol of the released code.
  config.eval = metrics.default_config()
  config.eval.metrics = ('parzen',)
  return config


ARGS = ('runlocal',)  # What may follow ':' in --config=experiments/NAME.py:ARG (comma-separated).


def is_runlocal(arg) -> bool:
  """Whether `arg` asks for runlocal; an unknown argument is refused, not ignored."""
  given = [a for a in str(arg).split(',') if a] if arg is not None else []
  unknown = [a for a in given if a not in ARGS]
  if unknown:
    raise errors.ConfigError(f'experiment argument {unknown[0]!r} is unknown; the valid ones are '
                             f'{", ".join(ARGS)} (as in --config=experiments/NAME.py:runlocal)')
  return 'runlocal' in given


def shrink_for_runlocal(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A few seconds on a CPU: tiny networks, two steps, everything written at every step."""
  config.num_train_steps = 2
  config.batch_size = 8
  config.noise.dim = 8
  models.shrink_for_runlocal(config)  # Each network as its model class shrinks it.
  config.log_every_steps = 1
  config.checkpoint_every_steps = 1
  config.sample_every_steps = 2
  config.num_samples = 4
  config.eval.num_samples = 64
  config.eval.num_validation = 16
  config.eval.num_test = 16
  config.eval.num_reference = 64
  config.eval.classifier_steps = 20
  config.eval.num_splits = 2
  config.eval.inception_samples = 8
  config.eval.kid_subsets = 2
  config.eval.kid_subset_size = 8
  return config
