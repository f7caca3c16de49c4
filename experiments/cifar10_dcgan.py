"""CIFAR-10, the DCGAN baseline of Warde-Farley & Bengio (2017), Table 1.

§4: "The best performing generator network consisted of the 32 × 32 ImageNet architecture from
Radford et al. (2015) with half the number of parameters at each layer, and less than 40% of the
parameters of the CIFAR-10 generator presented in Salimans et al. (2016)". So G is Radford's
released 32x32 ImageNet generator (gan_jax/models/radford.py) at half width (c = 64) with z of
100: 1,563,584 parameters, 32% of Salimans et al.'s ~4.9M. D is the same release's discriminator
at the same width (1,150,272 parameters; Φ of n_h = 4·4·256 = 4,096): the paper names no other.
`python -m gan_jax.summary --config=experiments/cifar10_dcgan.py` prints every layer.
Adam lr 1e-4, β1 0.5 for every network (§4); batch 64; D and G updated from the same parameters
(§5), so that cifar10_dfm.py differs from this file by the denoiser alone.
"""

from experiments import common
from gan_jax import data


def dcgan_config(width: float = 0.5):
  """Radford's networks at `width` on CIFAR-10 (the other DFM experiments start from here)."""
  config = common.base_config()
  config.data = data.default_config('tfds', name='cifar10', num_validation=0)
  config.num_train_steps = 200_000
  config.batch_size = 64
  config.update_rule = 'simultaneous'
  config.noise.dim = 100
  common.radford_networks(config, width)
  config.optimizer = common.adam(1e-4, b1=0.5)  # §4: Adam lr 1e-4, β1 0.5 for every network.
  config.log_every_steps = 500
  config.checkpoint_every_steps = 5000
  config.sample_every_steps = 5000
  config.num_samples = 64
  # Scored by Inception score (the paper's Table 1) and FID, not Parzen windows; give the weights
  # with --config.eval.inception_weights=NPZ (gan_jax/evaluation/convert_inception_weights.py).
  # CIFAR-10 (labelled) adds offline scores in a small classifier's space.
  config.eval.metrics = ('inception', 'classifier')
  return config


def get_config(arg=None):
  config = dcgan_config()
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config
