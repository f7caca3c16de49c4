"""The released MNIST setup (experiments/mnist_gan.py) on Fashion-MNIST, read from local
MNIST-format IDX files (Debian package dataset-fashion-mnist by default)."""
from experiments import common
from experiments import mnist_gan
from gan_jax import data


def get_config(arg=None):
  config = mnist_gan.get_config()
  config.data = data.default_config('idx', path='/usr/share/datasets/fashion-mnist')
  config.eval.classifier_scores = True  # Offline IS / FID in a Fashion-MNIST classifier's space.
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config
