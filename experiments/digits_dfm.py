"""digits_gan.py with denoising feature matching on Φ, D's last maxout layer (n_h = 240)."""
from experiments import common
from experiments import digits_gan
from launch import grid


def get_config(arg=None):
  config = digits_gan.get_config(arg)
  config.dfm.enabled = True
  config.dfm.denoiser.num_layers = 1 if common.is_runlocal(arg) else 3
  return config


def sweep():
  """Five seeds, to compare with digits_gan.py's points at its released rate 0.1."""
  return grid.product(seed=range(5))
