"""The tiny run the tests train, as a config file (`--config=tests/tiny_config.py` in CLI tests).

The released algorithm of experiments/common.py (simultaneous D/G updates with the released
0.5 loss scale, dropout, momentum SGD) on scikit-learn's 8x8 digits (offline), with every network
shrunk as `:runlocal` shrinks it: 6 steps, a checkpoint every 2, Parzen evaluation on a few
hundred rows. It depends on no experiment file, so tuning an experiment never changes what the
tests check; tests/experiments_test.py checks the experiments themselves.
"""
from experiments import common
from gan_jax import data


def get_config(arg=None):
  del arg
  config = common.base_config()
  config.data = data.default_config('digits')
  config.update_rule = 'simultaneous'
  config.discriminator_loss_scale = 0.5
  common.shrink_for_runlocal(config)
  config.num_train_steps = 6
  config.checkpoint_every_steps = 2
  config.log_every_steps = 3
  config.sample_every_steps = 6
  return config
