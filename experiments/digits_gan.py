"""The offline default: the released MNIST algorithm (experiments/mnist_gan.py) on scikit-learn's
8x8 digits, 1,200 real training images shipped with scikit-learn.

Same training rule (simultaneous D/G updates, dropout, momentum SGD with the released schedules);
the generator is narrowed to 512-512 for 64-pixel images. About 90 s on two CPU cores, and the
digits in samples/ are recognisable.
"""
from experiments import common
from experiments import mnist_gan
from gan_jax import data
from launch import grid


def get_config(arg=None):
  config = mnist_gan.get_config()
  config.data = data.default_config('digits')
  config.num_train_steps = 8000
  config.generator.hidden_dims = (512, 512)
  config.log_every_steps = 200
  config.checkpoint_every_steps = 2000
  config.sample_every_steps = 1000
  # + offline IS / FID, KID, precision / recall and density / coverage in a digit
  # classifier's space.
  config.eval.metrics = ('parzen', 'classifier', 'kid', 'precision_recall', 'density_coverage')
  config.eval.kid_space = config.eval.pr_space = config.eval.dc_space = 'classifier'
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config


def sweep():
  """The released rate 0.1, halved and quartered, five seeds each."""
  return grid.product({'optimizer.learning_rate': (0.1, 0.05, 0.025)}, seed=range(5))
