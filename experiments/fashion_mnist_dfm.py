"""fashion_mnist_gan.py with denoising feature matching on Φ, D's last maxout layer (n_h = 240)."""
from experiments import common
from experiments import fashion_mnist_gan
from launch import grid


def get_config(arg=None):
  config = fashion_mnist_gan.get_config(arg)
  config.dfm.enabled = True
  config.dfm.denoiser.num_layers = 1 if common.is_runlocal(arg) else 3
  return config


def sweep():
  """λ_denoise·n_h of 0 (the denoiser unused), the paper's 0.03 and 10x; three seeds each."""
  return grid.product({'dfm.denoise_weight': (0.0, 0.03, 0.3)}, seed=range(3))
