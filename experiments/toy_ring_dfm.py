"""Denoising feature matching on the ring of 8 Gaussians: toy_ring_gan.py plus a denoiser on Φ,
the last maxout layer of D (n_h = 128): 3 hidden layers of width n_h, σ = 1, λ_denoise = 0.03/n_h.
"""
from experiments import common
from experiments import toy_ring_gan
from launch import grid


def get_config(arg=None):
  config = toy_ring_gan.get_config(arg)
  config.dfm.enabled = True
  config.dfm.denoiser.num_layers = 1 if common.is_runlocal(arg) else 3
  return config


def sweep():
  """λ_denoise·n_h of 0 (the denoiser trained but unused: the GAN on the same networks), the
  paper's 0.03 and 10x that; five seeds each."""
  return grid.product({'dfm.denoise_weight': (0.0, 0.03, 0.3)}, seed=range(5))
