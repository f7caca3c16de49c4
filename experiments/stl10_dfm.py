"""STL-10 with denoising feature matching (Warde-Farley & Bengio, 2017), Table 2: 8.51 ± .13.

stl10_gan.py plus the denoiser on Φ (n_h = 6·6·128 = 4608 at half width): 10 layers of width n_h.
"""
from experiments import common
from experiments import stl10_gan
from launch import grid


def get_config(arg=None):
  config = stl10_gan.dcgan_48_config()
  config.dfm.enabled = True
  config.dfm.denoiser.num_layers = 10
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config


def sweep():
  """Three seeds: the paper reports one run per model."""
  return grid.product(seed=range(3))
