"""CIFAR-10 with fully connected networks (Fig. 2c): the released cifar10_fully_connected.yaml.

G: ReLU 8000, sigmoid 8000, then the 3072 output; D: maxout 1600 units x 5 pieces, two layers;
SGD lr 0.025 with the MNIST schedules; train rows 0-40k, validation 40k-50k. The released code fed
G's linear output to global-contrast-normalised data; our pixels are in [0, 1], so G's output is a
sigmoid whose bias starts at the pixel means.
"""
from experiments import common
from gan_jax import data
from launch import grid


def get_config(arg=None):
  config = common.base_config()
  config.data = data.default_config('tfds', name='cifar10', num_validation=10000)
  config.update_rule = 'simultaneous'
  config.discriminator_loss_scale = 0.5
  config.generator.hidden_dims = (8000, 8000)
  config.generator.hidden_activations = ('relu', 'sigmoid')
  config.discriminator.hidden_units = (1600, 1600)
  config.optimizer.learning_rate = 0.025
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config


def sweep():
  """The released rate 0.025, doubled and halved, three seeds each."""
  return grid.product({'optimizer.learning_rate': (0.025, 0.05, 0.0125)}, seed=range(3))
