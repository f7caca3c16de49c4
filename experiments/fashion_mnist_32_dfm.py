"""fashion_mnist_32_gan.py plus denoising feature matching (Warde-Farley & Bengio, 2017) on Φ, the
flattened last feature map of D (n_h = 2,048): a denoiser of width n_h (the paper's rule: widths
>= n_h), 2 hidden layers to fit a CPU (the paper's ImageNet one has 10), σ = 1, λ_adv = 1,
λ_denoise = 0.03 / n_h."""
from experiments import common
from experiments import fashion_mnist_32_gan
from launch import grid


def get_config(arg=None):
  config = fashion_mnist_32_gan.get_config(arg)
  config.dfm.enabled = True
  config.dfm.denoiser.num_layers = 1 if common.is_runlocal(arg) else 2
  config.dfm.denoiser.width = 0  # n_h
  return config


def sweep():
  """Three seeds."""
  return grid.product(seed=range(3))
