"""ImageNet 32x32, the DCGAN baseline of Warde-Farley & Bengio (2017), Table 3 (8.83 ± .14).

tfds `imagenet_resized/32x32` (1,281,167 training images, read from disk as needed: they do not
fit the in-memory loader); its 50,000-image 'validation' split is the test split of FID. The
networks are "identical to that used for the same dataset in Radford" (§4): the released 32x32
ImageNet DCGAN (gan_jax/models/radford.py) at full width, z of 256: G 6,690,688 and D 4,586,112
parameters, Φ of n_h = 4·4·512 = 8,192.

imagenet_resized holds whole images box-resized to 32x32; the paper trained on "rescaled central
crops following Krizhevsky et al. (2012)". Those are made from the full ImageNet (tfds
imagenet2012, its archives downloaded by hand into a manual_dir) with
  --config.data.name=imagenet2012 --config.data.preprocessing=central_crop
  --config.data.manual_dir=DIR [--config.data.download=True, once, to prepare it]
(gan_jax/data/tfds_source.py); the tables name which images a row was trained on.
"""
from experiments import cifar10_dcgan
from experiments import common
from gan_jax import data


def imagenet32_config():
  config = cifar10_dcgan.dcgan_config(width=1.0)
  config.data = data.default_config('tfds', name='imagenet_resized/32x32', test_split='validation',
                                    in_memory=False, num_validation=0)
  config.noise.dim = 256  # The release's z.
  config.num_train_steps = 300_000
  config.eval.metrics = ('inception',)  # A small CNN is no judge of 1,000 classes.
  return config


def get_config(arg=None):
  config = imagenet32_config()
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config
