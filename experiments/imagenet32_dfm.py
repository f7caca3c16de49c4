"""ImageNet 32x32 with denoising feature matching (Warde-Farley & Bengio, 2017), Table 3: 9.18 ± .13.

imagenet32_dcgan.py plus the paper's ImageNet denoiser: 10 fully connected layers of width 2048
(= n_h of the half-width discriminator), σ = 1, λ_adv = 1, λ_denoise = 0.03 / n_h.
"""
from experiments import common
from experiments import imagenet32_dcgan
from launch import grid


def get_config(arg=None):
  config = imagenet32_dcgan.imagenet32_config()
  config.dfm.enabled = True
  config.dfm.denoiser.num_layers = 10
  config.dfm.denoiser.width = 2048
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
    config.dfm.denoiser.width = 0  # n_h of the shrunken discriminator.
  return config


def sweep():
  """Three seeds: the paper reports one run per model."""
  return grid.product(seed=range(3))
