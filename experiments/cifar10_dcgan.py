"""CIFAR-10, the DCGAN baseline of Warde-Farley & Bengio (2017), Table 1.

The paper's best CIFAR-10 generator: the 32x32 ImageNet DCGAN at half width; the DCGAN
discriminator. Adam lr 1e-4, β1 0.5; batch 64; D and G updated from the same parameters (§5), so
that cifar10_dfm.py differs from this file by the denoiser alone.
"""
import ml_collections

from experiments import common
from gan_jax import data


def dcgan_config():
  config = common.base_config()
  config.data = data.default_config('tfds', name='cifar10', num_validation=0)
  config.num_train_steps = 200_000
  config.batch_size = 64
  config.update_rule = 'simultaneous'
  config.noise.dim = 100
  config.generator = ml_collections.ConfigDict(dict(
      name='dcgan', base_channels=64, width=0.5, num_upsamples=3, output_activation='sigmoid'))
  config.init_output_bias_from_data = False
  config.discriminator = ml_collections.ConfigDict(dict(
      name='dcgan', base_channels=64, width=0.5, num_layers=3, negative_slope=0.2))
  config.optimizer = common.adam(1e-4, b1=0.5)  # §4: Adam lr 1e-4, β1 0.5 for every network.
  config.log_every_steps = 500
  config.checkpoint_every_steps = 5000
  config.sample_every_steps = 5000
  config.num_samples = 64
  # Scored by Inception score (the paper's Table 1) and FID, not Parzen windows; give the weights
  # with --config.eval.inception_weights=NPZ (gan_jax/evaluation/convert_inception_weights.py).
  # CIFAR-10 (labelled) adds offline scores in a small classifier's space.
  config.eval.metrics = ('inception', 'classifier') if config.data.name == 'cifar10' else (
      'inception',)
  return config


def get_config(arg=None):
  config = dcgan_config()
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config
