"""CIFAR-10 with denoising feature matching (Warde-Farley & Bengio, 2017), Table 1: 7.72 ± .13.

cifar10_dcgan.py plus the denoiser on Φ, the flattened last feature map of D (n_h = 4,096 at
half width). The paper sizes the denoiser only for ImageNet (10 fully connected layers) and by
one rule, every hidden layer at least n_h wide: here 10 layers of width n_h and a linear output
(184,635,392 parameters). Corruption σ = 1, λ_adv = 1, λ_denoise = 0.03 / n_h.
"""
from experiments import cifar10_dcgan
from experiments import common
from launch import grid


def get_config(arg=None):
  config = cifar10_dcgan.dcgan_config()
  config.dfm.enabled = True
  config.dfm.denoiser.num_layers = 10
  config.dfm.denoiser.width = 0  # n_h
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config


def sweep():
  """λ_denoise·n_h around the paper's 0.03, and λ_adv = 0 (denoising alone), three seeds each."""
  return grid.chain(grid.product({'dfm.denoise_weight': (0.01, 0.03, 0.1)}, seed=range(3)),
                    grid.product({'dfm.lambda_adv': (0.0,)}, seed=range(3)))
