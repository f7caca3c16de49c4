r"""Entry point: python -m gan_jax.main --config=experiments/NAME.py --workdir=DIR [--config.a.b=v].

The config is locked: an unknown key on the command line is an error. Any `GanJaxError` (bad
value, missing dataset, foreign workdir, NaN in training), an OS error on a file and memory
exhaustion end the run with one line and exit 1; SIGTERM / SIGINT with 143 / 130.
"""
import logging as python_logging
import os
import signal
import sys
import threading

# TensorFlow, if anything imports it (tfds's builders): keep its C++ start-up chatter off stderr.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from gan_jax import errors
from gan_jax import evaluate
from gan_jax import parallel
from gan_jax import train

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Experiment config file (experiments/*.py).',
                                lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, metrics and samples.')
flags.DEFINE_enum('mode', 'train', ['train', 'eval'],
                  'train: train (resuming if possible); eval: Parzen evaluation and figures.')
flags.DEFINE_bool('all_checkpoints', False, 'With --mode=eval: evaluate every checkpoint kept, '
                  'not only the latest.')
flags.DEFINE_string('coordinator_address', '', 'Multi-process runs: HOST:PORT of process 0 '
                    '(TPU pods and SLURM clusters are detected without it).')
flags.DEFINE_integer('num_processes', 0, 'Multi-process runs: how many processes.')
flags.DEFINE_integer('process_id', -1, 'Multi-process runs: this process, in [0, num_processes).')
flags.mark_flags_as_required(['config', 'workdir'])


class _QuietLibraries(python_logging.Filter):
  """Keeps orbax's per-save INFO chatter out of the log; its warnings and errors still show, as
  one line each (their tracebacks come from background threads: the failure itself reaches
  main() and is reported there in one line)."""

  def filter(self, record):
    if '/orbax/' in record.pathname or '/asyncio/' in record.pathname:
      record.exc_info, record.exc_text, record.stack_info = None, None, None
      return record.levelno >= python_logging.WARNING
    return True


def _one_warning(what: str):
  """A sys/threading hook that logs an exception in one line instead of a traceback: orbax's
  writer threads and tensorstore's callbacks fail when the storage does, and main() reports
  that failure itself."""
  def hook(args) -> None:
    text = str(args.exc_value)
    logging.warning('%s: %s: %s', what, args.exc_type.__name__,
                    text.splitlines()[0][:300] if text else '')
  return hook


def _fail(message: str) -> None:
  print(f'gan_jax: error: {message}', file=sys.stderr)
  sys.exit(1)


def _config_arg(argv) -> str:
  return next((a for a in argv if a.startswith('--config=')), '--config')


def parse_flags(argv):
  """absl's parsing, with config mistakes reported as one line instead of a traceback."""
  try:
    remaining = FLAGS(argv)
    FLAGS.config.keys()  # A config file that failed to load raises here, not later.
  except (AttributeError, KeyError) as e:  # config_flags: an override of a key the config lacks.
    key = str(e.args[0] if e.args else e).strip('"\'')
    given = [a.split('=')[0] for a in argv if a.startswith('--config.') and
             a.split('=')[0].endswith('.' + key)]
    _fail(f'{given[0] if given else key}: the config has no key {key!r} (config keys are locked; '
          'see the experiment file and experiments/common.py for the keys that exist)')
  except OSError as e:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    _fail(f'cannot load {_config_arg(argv)}: {lines[-1]}')
  except errors.GanJaxError as e:  # Raised by the experiment's get_config (an unknown :ARG).
    _fail(f'{_config_arg(argv)}: {e}')
  except SyntaxError as e:
    _fail(f'cannot load --config={e.filename}: SyntaxError at line {e.lineno}: {e.msg}')
  except flags.Error as e:
    _fail(str(e).splitlines()[0])
  except Exception as e:  # pylint: disable=broad-except  (any other error in the config file)
    _fail(f'cannot load {_config_arg(argv)}: {type(e).__name__}: '
          f'{str(e).splitlines()[0] if str(e) else ""}')
  return remaining


def _resource_exhausted(error: Exception) -> bool:
  return isinstance(error, MemoryError) or 'RESOURCE_EXHAUSTED' in str(error)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  logging.get_absl_handler().addFilter(_QuietLibraries())
  python_logging.getLogger('asyncio').addFilter(_QuietLibraries())
  threading.excepthook = _one_warning('a background thread stopped')
  sys.unraisablehook = _one_warning('ignored in a callback')
  try:
    if FLAGS.mode == 'train':
      parallel.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
      train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
    elif parallel.is_first_host(FLAGS.process_id):  # Evaluation runs on one host, on its own.
      evaluate.evaluate(FLAGS.config, FLAGS.workdir, all_checkpoints=FLAGS.all_checkpoints)
  except errors.GanJaxError as e:
    _fail(str(e))
  except errors.Preempted as e:
    print(f'gan_jax: {e}', file=sys.stderr)
    sys.exit(e.exit_status)
  except KeyboardInterrupt:  # Before the training loop, or a second Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # A third one must not cut the exit short.
    print('gan_jax: interrupted before a checkpoint of the steps since the last one could be '
          'written; run the same command to resume from the last checkpoint', file=sys.stderr)
    sys.exit(130)
  except OSError as e:  # The environment, not the code: a file that cannot be read or written.
    where = f' ({e.filename})' if e.filename else ''
    _fail(f'{e.strerror or e}{where}; check that path and its storage, then run the same command')
  except Exception as e:  # pylint: disable=broad-except
    if not _resource_exhausted(e):
      raise
    _fail(f'out of memory ({str(e).splitlines()[0][:200]}); reduce config.batch_size or the '
          'network sizes')


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
