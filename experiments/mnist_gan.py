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
until stopped, saving every epoch; its schedules assume a long run (the learning rate halves after
~347 epochs; momentum saturates in epoch 250). Here the run ends when the Parzen validation LL,
evaluated every 10 epochs, has not improved by more than 1 nat for 10 evaluations (100 epochs),
or at the cap of 2,000 epochs (gan_jax/early_stopping.py):
- every 10 epochs: one evaluation (10k samples against 1k validation rows) costs about as much as
  a tenth of an epoch of training, and the LL moves by about 1 nat per 10 epochs past epoch 300;
- patience 100 epochs: past epoch 100 the curve's evaluation-to-evaluation noise is 2-4 nats, so
  a shorter window stops on noise while the trend still rises (seed 0 gained 15 nats in epochs
  200-380);
- min_delta 1 nat: half the published ±2 (the s.e. of the mean); a gain smaller than that over
  100 epochs could not change Table 1's comparison;
- cap 2,000 epochs: twice the 1,000 at which the learning rate has decayed to 0.0135 (0.1 /
  1.000004^t), where training has all but stopped moving G.
Each evaluation is a checkpoint; the best by validation LL, the newest 3 and those at epochs 1,000,
1,500 and 2,000 (where the reproduction reports the row) are kept.
num_train_steps, keep_checkpoint_steps and early_stopping.* may be changed on resume.
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
  config.num_train_steps = 1_000_000  # The cap: 2,000 epochs of 500 steps.
  config.eval.every_steps = 5000  # The Parzen validation (and test) LL every 10 epochs.
  config.early_stopping.patience = 10  # Evaluations: 100 epochs without a gain ...
  config.early_stopping.min_delta = 1.0  # ... of more than 1 nat. Why: the docstring.
  config.checkpoint_every_steps = 5000  # With each evaluation.
  config.keep_checkpoints = 3  # The newest 3, and the best by validation LL ...
  config.keep_checkpoint_steps = (500_000, 750_000, 1_000_000)  # ... and epochs 1,000-2,000.
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config


def sweep():
  """The released rule (simultaneous updates) against Algorithm 1's alternating one, then the
  minimax loss of eq. 1 taken literally; three seeds each."""
  return grid.chain(
      grid.product(update_rule=('simultaneous', 'alternating'), seed=range(3)),
      grid.product(loss=('minimax',), seed=range(3)))
