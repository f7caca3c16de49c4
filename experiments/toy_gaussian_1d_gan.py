"""Fig. 1 of Goodfellow et al. (2014): a GAN on a 1-D Gaussian, N(4, 0.5²).

`--mode=eval --all_checkpoints` draws, at four of the kept checkpoints, p_data, G's density, D(x)
and the optimal D* = p_data / (p_data + p_g) (figures/fig1_toy_1d.png).
"""
from experiments import common
from experiments import toy_ring_gan
from gan_jax import data
from launch import grid


def get_config(arg=None):
  config = toy_ring_gan.get_config()
  config.data = data.default_config('toy', name='gaussian_1d', mean=4.0, std=0.5)
  config.noise.prior = 'uniform'
  config.discriminator_steps = 5  # D kept near D* for the current G, as in Fig. 1 (b)-(c).
  config.generator.init_range = 0.5
  config.discriminator.init_range = 0.5
  config.noise.dim = 1
  config.generator.hidden_dims = (32, 32)
  config.discriminator.hidden_units = (32, 32)
  config.optimizer.learning_rate = 1e-3
  config.num_train_steps = 3000
  config.checkpoint_every_steps = 250
  config.keep_checkpoints = 20  # Fig. 1 shows D and p_g at several points of training.
  config.sample_every_steps = 1000
  config.eval.metrics = ('parzen',)  # One mode: no mode coverage.
  config.eval.sigmas = (0.02, 0.05, 0.1, 0.2, 0.5)
  config.eval.num_validation = 1000
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
    config.data.num_examples = 512
    config.data.num_eval_examples = 64
  return config


def sweep():
  """k = 1 discriminator step (the paper's experiments) against k = 5 (Fig. 1's D near D*)."""
  return grid.product(discriminator_steps=(1, 5), seed=range(5))
