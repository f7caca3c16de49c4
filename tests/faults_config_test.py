"""Config values that passed validation and failed later (some after the workdir was written),
and config files that are not configs: each now one line, before anything is written."""
import os

import pytest

from gan_jax import errors
from gan_jax import train

import faults
from conftest import small_config


def _set(config, dotted, value):
  *parents, key = dotted.split('.')
  node = config
  for parent in parents:
    node = node[parent]
  node[key] = value


@pytest.mark.parametrize('key, value, message', [
    ('seed', -1, 'config.seed=-1 must be an integer in [0, 2**32)'),
    ('seed', 2**32, 'config.seed=4294967296 must be an integer in [0, 2**32)'),
    ('generator.hidden_dims', (0, 16), 'config.generator.hidden_dims=(0, 16): sizes must be'),
    ('discriminator.hidden_units', (-3, 8), 'config.discriminator.hidden_units=(-3, 8): sizes'),
    ('discriminator.num_pieces', 0, 'config.discriminator.num_pieces=0: sizes must be'),
    ('optimizer.learning_rate', float('inf'), 'config.optimizer.learning_rate=inf must be a '
     'finite number that float32 holds'),
    ('optimizer.learning_rate', 1e39, 'config.optimizer.learning_rate=1e+39 must be a finite'),
    ('generator.init_range', float('nan'), 'config.generator.init_range=nan must be a finite '
     'number > 0'),
    ('early_stopping.min_delta', float('inf'), 'config.early_stopping.min_delta=inf must be'),
])
def test_a_value_that_would_fail_later_is_refused_before_the_workdir_exists(tmp_path, key,
                                                                           value, message):
  config = small_config()
  _set(config, key, value)
  workdir = tmp_path / 'run'
  with pytest.raises(errors.ConfigError) as info:
    train.train_and_evaluate(config, str(workdir))
  assert str(info.value).startswith(message) and '\n' not in str(info.value)
  assert not workdir.exists()


def test_after_a_refused_rate_the_advised_lower_one_trains_in_that_workdir(tmp_path):
  workdir = str(tmp_path / 'run')
  config = small_config(num_train_steps=2)
  config.optimizer.learning_rate = 1e39
  with pytest.raises(errors.ConfigError):
    train.train_and_evaluate(config, workdir)
  config.optimizer.learning_rate = 0.05
  assert int(train.train_and_evaluate(config, workdir).step) == 2


@pytest.mark.parametrize('body, expected', [
    ('def get_config(arg=None):\n  return {"seed": 0}\n',
     'get_config returned a dict, not an ml_collections.ConfigDict'),
    ('import sys\ndef get_config(arg=None):\n  sys.exit(0)\n',
     'its get_config called sys.exit(0); it must return an ml_collections.ConfigDict'),
    # The file's own error, not absl's 'Error whilst parsing config file:'.
    ('def get_config(arg=None):\n  raise ValueError("no such dataset size")\n',
     'bad_config.py: ValueError: no such dataset size'),
    ('x = 1\n', 'it defines no get_config(arg=None)'),
    # A key the run reads, dropped (was a traceback from the first check that read it).
    ('from experiments import common\ndef get_config(arg=None):\n  c = common.base_config()\n'
     '  del c["noise"]\n  return c\n', "the config has no key 'noise', which this run needs"),
])
def test_a_config_file_that_is_not_a_config_is_one_line(tmp_path, body, expected):
  path = tmp_path / 'bad_config.py'
  path.write_text(body)
  result = faults.run(f'--config={path}', f'--workdir={tmp_path / "run"}')
  assert expected in faults.one_line(result)
  assert not os.path.exists(tmp_path / 'run')
