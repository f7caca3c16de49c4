r"""Entry point: python -m gan_jax.main --config=experiments/NAME.py --workdir=DIR [--config.a.b=v].

The config is locked: an unknown key on the command line is an error. Any `GanJaxError` (bad
value, missing dataset, foreign workdir, NaN in training) ends the run with one line and exit 1.
"""
import logging as python_logging
import sys

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from gan_jax import errors
from gan_jax import train

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Experiment config file (experiments/*.py).',
                                lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, metrics and samples.')
flags.DEFINE_enum('mode', 'train', ['train'], 'What to do with the workdir.')
flags.mark_flags_as_required(['config', 'workdir'])


class _QuietLibraries(python_logging.Filter):
  """Keeps orbax's per-save INFO chatter out of the log; its warnings and errors still show."""

  def filter(self, record):
    return record.levelno >= python_logging.WARNING or '/orbax/' not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  logging.get_absl_handler().addFilter(_QuietLibraries())
  logging.info('JAX devices: %s', jax.devices())
  try:
    train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except errors.GanJaxError as e:
    print(f'gan_jax: error: {e}', file=sys.stderr)
    sys.exit(1)


if __name__ == '__main__':
  app.run(main)
