"""ImageNet 32x32, the DCGAN baseline of Warde-Farley & Bengio (2017), Table 3 (8.83 ± .14).

tfds `imagenet_resized/32x32` (1,281,167 training images, read from disk as needed: they do not
fit the in-memory loader); its 50,000-image 'validation' split is the test split of FID. The
32x32 ImageNet DCGAN generator at full width (CIFAR-10 uses it at half width). The discriminator
is the half-width DCGAN one, so that Φ has n_h = 2048 features and the paper's 10 x 2048
denoiser (imagenet32_dfm.py) has the width n_h it asks for (>= n_h).
"""
from experiments import cifar10_dcgan
from experiments import common
from gan_jax import data


def imagenet32_config():
  config = cifar10_dcgan.dcgan_config()
  config.data = data.default_config('tfds', name='imagenet_resized/32x32', test_split='validation',
                                    in_memory=False, num_validation=0)
  config.generator.width = 1.0
  config.discriminator.width = 0.5
  config.num_train_steps = 300_000
  config.eval.metrics = ('inception',)  # A small CNN is no judge of 1,000 classes.
  return config


def get_config(arg=None):
  config = imagenet32_config()
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config
