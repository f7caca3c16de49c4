r"""Entry point: python -m gan_jax.main --config=experiments/NAME.py --workdir=DIR [--config.a.b=v].

The config is locked: an unknown key on the command line is an error. Any `GanJaxError` (bad
value, missing dataset, foreign workdir, NaN in training), an OS error on a file and memory
exhaustion end the run with one line and exit 1; SIGTERM / SIGINT / SIGHUP with 143 / 130 / 129.
"""
import logging as python_logging
import os
import signal
import sys

from gan_jax import interrupts

if __name__ == '__main__':
  interrupts.install()  # A Ctrl-C from here on ends in one line (gan_jax/interrupts.py).

# TensorFlow, if anything imports it (tfds's builders): keep its C++ start-up chatter off stderr.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')

from absl import app
from absl import flags
from absl import logging
import ml_collections
from ml_collections import config_flags

from gan_jax import errors
from gan_jax import evaluate
from gan_jax import host_heap
from gan_jax import library_logs
from gan_jax import parallel
from gan_jax import population
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
flags.DEFINE_integer('heartbeat_timeout_seconds', 100, 'Multi-process runs: how long a silent '
                     'process (its host gone) may go unheard before the others are stopped.')
flags.mark_flags_as_required(['config', 'workdir'])


def _exit(status: int) -> None:
  """Exits now that the one line is printed: without waiting for library threads (a failed
  asynchronous checkpoint write left orbax's threads waiting minutes) and without the asyncio
  lines their unretrieved futures print at interpreter shutdown. Everything this program writes
  is atomic or already closed, so nothing is left half-written."""
  sys.stdout.flush()
  sys.stderr.flush()
  python_logging.shutdown()
  os._exit(status)  # pylint: disable=protected-access


def _fail(message: str) -> None:
  print(f'gan_jax: error: {message}', file=sys.stderr)
  _exit(1)


def _config_arg(argv) -> str:
  return next((a for a in argv if a.startswith('--config=')), '--config')


def parse_flags(argv):
  """absl's parsing, with config mistakes reported as one line instead of a traceback."""
  try:
    remaining = FLAGS(argv)
    FLAGS.config.keys()  # A config file that failed to load raises here, not later.
  except SystemExit as e:  # absl's --help exits; so may a config file's get_config.
    if any(a.split('=')[0] in ('--help', '-h', '--helpfull', '--helpshort') for a in argv):
      raise
    _fail(f'cannot load {_config_arg(argv)}: its get_config called sys.exit({e.code}); it must '
          'return an ml_collections.ConfigDict')
  except (AttributeError, KeyError) as e:  # config_flags: an override of a key the config lacks.
    if "has no attribute 'get_config'" in str(e):
      _fail(f'cannot load {_config_arg(argv)}: it defines no get_config(arg=None); an experiment '
            'file defines one that returns an ml_collections.ConfigDict')
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
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    if 'Error whilst parsing config file' in lines[0]:  # The file's own error is its last line.
      _fail(f'cannot load {_config_arg(argv)}: {lines[-1]}')
    _fail(lines[0])
  except Exception as e:  # pylint: disable=broad-except  (any other error in the config file)
    _fail(f'cannot load {_config_arg(argv)}: {errors.brief(e)}')
  if not isinstance(FLAGS.config, ml_collections.ConfigDict):
    _fail(f'{_config_arg(argv)}: get_config returned a {type(FLAGS.config).__name__}, not an '
          'ml_collections.ConfigDict; build the config on experiments/common.py\'s base_config()')
  return remaining


def _interrupted(error: BaseException) -> None:
  """The one line of a SIGINT / SIGTERM / SIGHUP that came outside the training loop; exit 130 /
  143 / 129."""
  for signum in interrupts.SIGNALS:  # Another one must not cut the exit short.
    signal.signal(signum, signal.SIG_IGN)
  signum = getattr(error, 'signum', signal.SIGINT)
  what = interrupts.describe(signum)
  evaluating = FLAGS.mode == 'eval' if FLAGS.is_parsed() else '--mode=eval' in sys.argv
  if not evaluating:
    print(f'gan_jax: {what} before a checkpoint of the steps since the last one could be '
          'written; run the same command to resume from the last checkpoint', file=sys.stderr)
  else:
    print(f'gan_jax: {what}; the evaluations finished so far are kept in the workdir\'s eval/; '
          'run the same command to go on', file=sys.stderr)
  _exit(128 + signum)


def _resource_exhausted(error: Exception) -> bool:
  return isinstance(error, MemoryError) or 'RESOURCE_EXHAUSTED' in str(error)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  library_logs.install()
  try:
    interrupts.arm()
    population.check_workdir(FLAGS.workdir, FLAGS.config, FLAGS.mode)
    if FLAGS.mode == 'train':
      if not parallel.multi_process(FLAGS.coordinator_address, FLAGS.num_processes):
        # Before any backend exists (gan_jax/host_heap.py). Not where steps wait on collectives
        # of other processes: there a lost peer must not find the main thread inside a step.
        host_heap.inline_dispatch()
      parallel.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id,
                          FLAGS.heartbeat_timeout_seconds)
      host_heap.keep_freed_blocks()
      train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
    elif parallel.is_first_host(FLAGS.process_id):  # Evaluation runs on one host, on its own.
      evaluate.evaluate(FLAGS.config, FLAGS.workdir, all_checkpoints=FLAGS.all_checkpoints)
    interrupts.check()  # A signal that a finaliser or library swallowed on its way.
  except errors.GanJaxError as e:
    _fail(str(e))
  except errors.Preempted as e:
    print(f'gan_jax: {e}', file=sys.stderr)
    sys.exit(e.exit_status)
  except (KeyboardInterrupt, interrupts.Interrupted) as e:  # Outside the loop, or a 2nd Ctrl-C.
    _interrupted(e)
  except OSError as e:  # The environment, not the code: a file that cannot be read or written.
    where = f' ({e.filename})' if e.filename else ''
    _fail(f'{e.strerror or e}{where}; check that path and its storage, then run the same command')
  except Exception as e:  # pylint: disable=broad-except
    if not _resource_exhausted(e):
      raise
    _fail(f'out of memory ({str(e).splitlines()[0][:200]}); reduce config.batch_size or the '
          'network sizes')


if __name__ == '__main__':
  try:
    # The imports are done: a signal from here on (one that came during them too) stops the
    # program at once, also inside a config file's get_config that never returns.
    interrupts.arm()
    app.run(main, flags_parser=parse_flags)
  except (KeyboardInterrupt, interrupts.Interrupted) as error:  # While parsing or loading.
    _interrupted(error)
