"""A GAN on the 2-D ring of 8 Gaussians (radius 2, std 0.02): the standard test of mode coverage.

Fully connected G and maxout D as in the paper, sized for 2-D data, no dropout on a 2-D input;
Adam as commonly used on this benchmark. D and G are updated from the same parameters (the
released code's rule, and the one DFM needs), so toy_ring_dfm.py differs by the denoiser alone.
"""
from experiments import common
from gan_jax import data
from launch import grid


def get_config(arg=None):
  config = common.base_config()
  config.data = data.default_config('toy', name='ring')
  config.num_train_steps = 10_000
  config.batch_size = 256
  config.update_rule = 'simultaneous'
  config.noise.prior = 'normal'
  config.noise.dim = 16
  config.generator.hidden_dims = (128, 128)
  config.generator.output_activation = 'linear'
  config.init_output_bias_from_data = False
  config.discriminator.hidden_units = (128, 128)
  config.discriminator.num_pieces = 2
  config.discriminator.init_range = 0.05
  config.discriminator.input_keep = 1.0
  config.discriminator.hidden_keep = 1.0
  config.optimizer = common.adam(1e-3)
  config.log_every_steps = 500
  config.checkpoint_every_steps = 2000
  config.sample_every_steps = 2000
  config.num_samples = 2000
  config.eval.metrics = ('parzen', 'modes')  # Modes covered, the benchmark's metric.
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
    config.data.num_examples = 512
    config.data.num_eval_examples = 64
  return config


def sweep():
  """Five seeds: how many of the 8 modes a GAN covers varies from run to run."""
  return grid.product(seed=range(5))
