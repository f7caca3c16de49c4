r"""Runs an experiment's sweep: python -m launch.sweep --config=experiments/NAME.py --executor=E.

The experiment file's `sweep()` returns a grid of override points (launch/grid.py). Every point is
applied to the locked config, validated (gan_jax.config_checks) and checked to parse back from its
command line before anything runs; a bad point ends the sweep with one line and exit 1. Each point
runs in its own workdir, <--root>/<experiment>/<key=value,...> (overrides in key order), as

  python -m gan_jax.main --config=experiments/NAME.py[:ARG] --workdir=DIR --config.key=value ...

followed, with --then_eval, by the same command with --mode=eval. A point whose workdir already
holds its run resumes it (or finds it done); its config must not have changed.

Executors:
  --executor=print     prints one shell command per point and runs nothing: gan_jax.main itself,
                       or with --print_as=tpu_pod the gcloud command of --executor=tpu_pod
                       (preceded by commented commands that copy the checkout to the workers).
  --executor=local     runs the points here, --max_parallel at a time (on a CPU each on a core of
                       its own, as launch/cpu_seeds.sh: at most one per core); each point's
                       output goes to <workdir>/sweep.log; exits 1 naming the failed points. On
                       an accelerator, points that differ only in seed train as one population
                       (gan_jax/population.py, one process: --config.seeds=0,1,2 and
                       --workdir=.../lr=0.1,seed={seed}), each seed in its point's workdir; its
                       log is the first seed's sweep.log. --populations=yes/no decides it.
  --executor=tpu_pod   runs the points one after another on every worker of TPU VM --tpu_name:
                       gcloud compute tpus tpu-vm ssh NAME [--zone=Z] [--project=P] --worker=all \
                         --command='cd gan_jax && . .venv/bin/activate && python -m gan_jax.main
                         ...'
                       First copy the checkout to ~/gan_jax (--repo_dir) on every worker and run
                       launch/tpu_pod.sh there (--executor=print --print_as=tpu_pod shows how). A
                       relative --root is inside that checkout on each worker: give one on storage
                       every worker shares. The trainer sets up multi-host JAX itself.

Examples:
  python -m launch.sweep --config=experiments/toy_ring_gan.py --executor=print
  python -m launch.sweep --config=experiments/digits_gan.py:runlocal --executor=local \
    --root=/tmp/sweeps --then_eval
  python -m launch.sweep --config=experiments/mnist_gan.py --executor=print --print_as=tpu_pod \
    --tpu_name=my-v4-32 --zone=us-central2-b --root=/mnt/shared/workdirs
"""
from gan_jax import cli  # pylint: disable=g-bad-import-order

if __name__ == '__main__':
  cli.install()  # A Ctrl-C from here on ends in one line.
import functools
import os
import shutil
import sys

from absl import flags

from launch import executors
from launch import plan

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FLAGS = flags.FLAGS
flags.DEFINE_string('config', None, 'Experiment file with a sweep(), optionally with :ARG for '
                    'get_config, e.g. experiments/digits_gan.py:runlocal.')
flags.DEFINE_string('config_arg', None, 'The :ARG of --config given on its own (e.g. runlocal).')
flags.DEFINE_enum('executor', 'print', ['print', 'local', 'tpu_pod'], 'How to run the points.')
flags.DEFINE_enum('print_as', 'local', ['local', 'tpu_pod'],
                  'With --executor=print: print the commands of this executor.')
flags.DEFINE_string('root', 'workdirs', 'Each point runs in <root>/<experiment>/<overrides>.')
flags.DEFINE_enum('mode', 'train', ['train', 'eval'], 'gan_jax.main --mode of each point.')
flags.DEFINE_bool('then_eval', False, 'After training a point, run --mode=eval on it.')
flags.DEFINE_bool('all_checkpoints', False, 'Evaluate every kept checkpoint (passed to eval).')
flags.DEFINE_integer('max_parallel', 1, 'local: points run at once (on a CPU each pinned to a '
                     'core of its own, at most one per core, and once none waits to start, '
                     'freed cores go to those still running; else each uses every core).',
                     lower_bound=1)
flags.DEFINE_enum('populations', 'auto', ['auto', 'yes', 'no'],
                  'Points that differ only in seed train as one population (one process, '
                  '--config.seeds): auto = with --executor=local on an accelerator, where that '
                  'is faster than a process per point (on a CPU it is not: README, Benchmarks).')
flags.DEFINE_string('tpu_name', None, 'tpu_pod: the TPU VM to run on.')
flags.DEFINE_string('zone', '', 'tpu_pod: its zone (default: gcloud config compute/zone).')
flags.DEFINE_string('project', '', 'tpu_pod: its project (default: gcloud config core/project).')
flags.DEFINE_string('repo_dir', 'gan_jax', 'tpu_pod: the checkout on every worker, relative to '
                    'the home directory.')
flags.mark_flag_as_required('config')


def _config_spec() -> str:
  spec = FLAGS.config
  if FLAGS.config_arg is not None:
    if ':' in spec:
      raise plan.SweepError(f'--config={spec} already has an :ARG; drop --config_arg='
                            f'{FLAGS.config_arg}')
    spec = f'{spec}:{FLAGS.config_arg}'
  target = FLAGS.print_as if FLAGS.executor == 'print' else FLAGS.executor
  if target == 'tpu_pod':  # The path as seen from the checkout's root on every worker.
    path, colon, arg = spec.partition(':')
    relative = os.path.relpath(os.path.abspath(path), REPO_ROOT)
    if relative.startswith('..'):
      raise plan.SweepError(f'--config={path} is outside the repository {REPO_ROOT}; a TPU pod '
                            'runs the copy of the checkout on its workers')
    spec = relative + colon + arg
  return spec


def _invocation_flags():
  if FLAGS.mode == 'eval' and FLAGS.then_eval:
    raise plan.SweepError('--then_eval follows training: use it with --mode=train')
  if FLAGS.all_checkpoints and FLAGS.mode == 'train' and not FLAGS.then_eval:
    raise plan.SweepError('--all_checkpoints is an evaluation flag: add --then_eval or '
                          '--mode=eval')
  eval_flags = ('--mode=eval',) + (('--all_checkpoints',) if FLAGS.all_checkpoints else ())
  if FLAGS.mode == 'eval':
    return (eval_flags,)
  return ((),) + ((eval_flags,) if FLAGS.then_eval else ())


def _tpu_pod():
  if not FLAGS.tpu_name:
    raise plan.SweepError('a TPU pod needs --tpu_name (and --zone unless gcloud has '
                          'compute/zone)')
  return executors.TpuPod(FLAGS.tpu_name, FLAGS.zone, FLAGS.project, FLAGS.repo_dir)


def _as_populations(target: str) -> bool:
  if FLAGS.populations == 'no' or FLAGS.mode == 'eval':
    return False
  if target == 'tpu_pod':
    if FLAGS.populations == 'yes':
      raise plan.SweepError('--populations=yes trains the seeds in one process on one machine; '
                            'use it with --executor=local (or print), not on a TPU pod')
    return False
  if FLAGS.populations == 'yes':
    return True
  from gan_jax import population  # pylint: disable=g-import-not-at-top  (it imports JAX)
  return FLAGS.executor == 'local' and population.beats_processes(_platform())


@functools.lru_cache(maxsize=None)
def _platform() -> str:
  return executors.platform()


def run() -> None:
  """Plans every point (failing before anything runs), then hands the runs to the executor."""
  config_spec = _config_spec()
  target = FLAGS.print_as if FLAGS.executor == 'print' else FLAGS.executor
  tpu = _tpu_pod() if target == 'tpu_pod' else None
  if FLAGS.executor == 'tpu_pod' and not shutil.which('gcloud'):
    raise plan.SweepError('gcloud is not installed here; install the Google Cloud CLI, or see '
                          'the commands with --executor=print --print_as=tpu_pod')
  runs = plan.plan(config_spec, FLAGS.root, _invocation_flags())
  if _as_populations(target):
    runs = plan.populations(runs)
  if FLAGS.executor == 'print':
    executors.print_commands(runs, tpu)
    return
  if FLAGS.executor == 'local':
    # On a CPU, points side by side each get a core of their own (launch/cpu_seeds.sh's way).
    pin = FLAGS.max_parallel > 1 and _platform() == 'cpu'
    failures = executors.run_local(runs, FLAGS.max_parallel, pin=pin)
  else:
    failures = executors.run_tpu_pod(runs, tpu)
  if failures:
    listed = '; '.join(f'{r.name} (exit {status})' for r, status in failures)
    where = ', logs in <workdir>/sweep.log' if FLAGS.executor == 'local' else ''
    raise plan.SweepError(f'{len(failures)} of {len(runs)} points failed: {listed}{where}')
  print(f'launch.sweep: all {len(runs)} points finished', flush=True)


def _fail(message: str) -> None:
  print(f'launch.sweep: error: {message}', file=sys.stderr, flush=True)
  sys.exit(1)


def parse_flags(argv):
  try:
    return FLAGS(argv)
  except flags.Error as e:
    _fail(str(e).splitlines()[0])


@cli.one_line('launch.sweep')
def main(argv):
  if len(argv) > 1:
    _fail(f'unexpected arguments: {argv[1:]}')
  run()


if __name__ == '__main__':
  cli.run('launch.sweep', main, flags_parser=parse_flags)
