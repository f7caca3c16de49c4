"""CIFAR-10 with denoising feature matching (Warde-Farley & Bengio, 2017), Table 1: 7.72 ± .13.

cifar10_dcgan.py plus the denoiser on Φ, the flattened last feature map of D (n_h = 2048 at half
width): 10 fully connected layers of width n_h as for ImageNet, corruption σ = 1, λ_adv = 1,
λ_denoise = 0.03 / n_h.
"""
from experiments import cifar10_dcgan
from experiments import common


def get_config(arg=None):
  config = cifar10_dcgan.dcgan_config()
  config.dfm.enabled = True
  config.dfm.denoiser.num_layers = 10
  config.dfm.denoiser.width = 0  # n_h
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config
