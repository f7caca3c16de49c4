"""Toronto Face Database, Table 1 row "Adversarial nets" (TFD): the released TFD hyperparameters
(goodfeli/adversarial tfd_pretrain/train.yaml).

D: maxout 1200 units x 5 pieces, two layers, every column norm capped at 1.9365; SGD lr 0.05 with
the MNIST schedules. G: z ~ N(0, I)^100 (the released Generator's default noise; only MNIST's
yaml asks for uniform), one ReLU layer of 8000 then a sigmoid 48x48 output, G's column norms
capped at 1.9365 too (the released generator's first layer; its pretrained decoder is not
reproduced). Trained on the unlabelled set;
Parzen evaluation uses each fold's validation and test sets. TFD is not redistributable: give
your TFD_48x48.mat with --config.data.path.
"""
from experiments import common
from gan_jax import data
from launch import grid


def get_config(arg=None):
  config = common.base_config()
  config.data = data.default_config('tfd', fold=0, train_sets=('unlabeled',))
  config.update_rule = 'simultaneous'
  config.discriminator_loss_scale = 0.5
  config.num_train_steps = 22 * 1000  # The released run stopped after 22 epochs.
  config.generator.hidden_dims = (8000,)
  config.discriminator.hidden_units = (1200, 1200)
  config.noise.prior = 'normal'
  config.discriminator_max_col_norm = 1.9365
  config.generator_max_col_norm = 1.9365
  config.optimizer.learning_rate = 0.05
  config.eval.protocol = 'tfd_folds'  # σ per fold on its validation set; s.e. across folds.
  config.eval.num_validation = 0  # Each fold's whole validation set.
  if common.is_runlocal(arg):
    common.shrink_for_runlocal(config)
  return config


def sweep():
  """The released max-norm constraint on G's and D's columns, and without it; three seeds each."""
  return grid.product(
      grid.zip_(discriminator_max_col_norm=(1.9365, 0.0), generator_max_col_norm=(1.9365, 0.0)),
      seed=range(3))
