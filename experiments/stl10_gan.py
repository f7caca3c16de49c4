"""STL-10, the GAN baseline of Warde-Farley & Bengio (2017), Table 2 (7.84 ± .07).

The 100,000 unlabelled images (tfds stl10 'unlabelled'), downsampled 96 -> 48 by 2x2 means;
the networks of cifar10_dcgan.py (Radford's, half width, z of 100) at 48x48: z is projected to
6x6 instead of 4x4, so Φ has n_h = 6·6·256 = 9,216 features.
"""
from experiments import cifar10_dcgan
from experiments import common
from gan_jax import data


def dcgan_48_config():
  config = cifar10_dcgan.dcgan_config()
  config.data = data.default_config('tfds', name='stl10', train_split='unlabelled',
                                    downsample=2, num_validation=0)
  config.eval.metrics = ('inception',)  # The unlabelled split has no classes to learn.
  return config


def get_config(arg=None):
  config = dcgan_48_config()
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config
