"""The released MNIST setup (experiments/mnist_gan.py) on Fashion-MNIST, read from local
MNIST-format IDX files (Debian package dataset-fashion-mnist by default; tfds's
`fashion_mnist` with --config.data.source=tfds)."""
from experiments import common
from experiments import mnist_gan
from gan_jax import data
from gan_jax.data import idx
from launch import grid


def get_config(arg=None):
  config = mnist_gan.get_config()
  config.data = data.default_config('idx', path=idx.FASHION_MNIST_DIR, alternatives=('tfds',),
                                    name='fashion_mnist')
  # + offline IS / FID, KID, precision / recall and density / coverage in a Fashion-MNIST
  # classifier's space.
  config.eval.metrics = ('parzen', 'classifier', 'kid', 'precision_recall', 'density_coverage')
  config.eval.kid_space = config.eval.pr_space = config.eval.dc_space = 'classifier'
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config


def sweep():
  """Capacity: G and D widened together (half, the released, double width), three seeds each."""
  return grid.product(
      grid.zip_({'generator.hidden_dims': ((600, 600), (1200, 1200), (2400, 2400)),
                 'discriminator.hidden_units': ((120, 120), (240, 240), (480, 480))}),
      seed=range(3))
