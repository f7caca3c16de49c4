"""STL-10 with denoising feature matching (Warde-Farley & Bengio, 2017), Table 2: 8.51 ± .13.

stl10_gan.py plus the denoiser on Φ (n_h = 6·6·256 = 9,216 at half width), sized by the paper's
rule as for CIFAR-10 (cifar10_dfm.py): 10 layers of width n_h (934,474,752 parameters: an
accelerator's job).
"""
from experiments import common
from experiments import stl10_gan
from launch import grid


def get_config(arg=None):
  config = stl10_gan.dcgan_48_config()
  config.dfm.enabled = True
  config.dfm.denoiser.num_layers = 10
  config.dfm.denoiser.width = 0  # n_h
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config


def sweep():
  """Three seeds: the paper reports one run per model."""
  return grid.product(seed=range(3))
