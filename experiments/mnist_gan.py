"""MNIST, Table 1 row "Adversarial nets": the authors' released setup (goodfeli/adversarial
mnist.yaml), exactly.

G: z ~ U(-√3, √3)^100, ReLU 1200-1200, sigmoid 784 with bias from the pixel means, U(±0.05).
D: maxout 240 units x 5 pieces, two layers, sigmoid output, U(±0.005); dropout keep 0.8 on the
input and 0.5 on hidden layers, also in G's gradient. D and G updated simultaneously from one
minibatch of 100 (k = 1); D minimises 0.5 (BCE real + BCE fake), G the non-saturating loss.
SGD: lr 0.1 divided by 1.000004 every step (floor 1e-6), momentum 0.5 -> 0.7 over epochs 1-250.

Data: the original MNIST IDX files (`python -m launch.fetch_data mnist` puts them in
~/.cache/gan_jax/mnist; --config.data.path=DIR for another copy), read in file order as
pylearn2 did: train rows 0-50k, validation rows 50k-60k, the 10k test images as test.
`--config.data.source=tfds` reads tfds's prepared `mnist` instead (same rows, tfds's order).

Length: the released yaml has no termination criterion (it is commented out), so pylearn2 trains
until stopped, saving every epoch. The one schedule with an end is the momentum ramp, which
saturates at epoch 250: 125k steps here, with a checkpoint every 5 epochs kept for model
selection on validation LL. num_train_steps may be raised (or lowered) on resume.
"""
from experiments import common
from gan_jax import data
from gan_jax.data import idx
from launch import grid


def get_config(arg=None):
  config = common.base_config()
  config.data = data.default_config('idx', path=idx.MNIST_DIR, alternatives=('tfds',),
                                    name='mnist')
  config.update_rule = 'simultaneous'
  config.discriminator_loss_scale = 0.5
  config.num_train_steps = 125_000  # 250 epochs of 500 steps: momentum has saturated.
  config.checkpoint_every_steps = 2500  # Every 5 epochs (the released code saved each epoch).
  config.keep_checkpoints = 50  # All of them: the checkpoint is chosen on validation LL.
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config


def sweep():
  """The released rule (simultaneous updates) against Algorithm 1's alternating one, then the
  minimax loss of eq. 1 taken literally; three seeds each."""
  return grid.chain(
      grid.product(update_rule=('simultaneous', 'alternating'), seed=range(3)),
      grid.product(loss=('minimax',), seed=range(3)))
