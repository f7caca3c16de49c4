"""A row's seeds trained together before launch.reproduce evaluates each, in the form that is
faster where it runs: one population on an accelerator (gan_jax/population.py), one process per
core on a CPU (each gan_jax.main pinned to its core, as launch/cpu_seeds.sh). Either is skipped
where it cannot run (one seed, real data, data that run_seed fetches or stands in for, a workdir
trained on the host pipeline), and run_seed then trains the seeds one after another."""
import importlib
import os
from typing import Dict, List, Optional

from gan_jax import errors
from gan_jax import workdir as workdir_lib
from launch import executors
from launch import overrides
from launch import plan
from launch import rows
from launch import tables

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def trains_populations() -> bool:
  """Whether a row's seeds train as one population (gan_jax/population.py) before each is
  evaluated: where that beats one process per core (an accelerator); on a CPU they train one
  process per core (train_on_cores)."""
  import jax  # pylint: disable=g-import-not-at-top  (JAX: after flags)
  from gan_jax import population  # pylint: disable=g-import-not-at-top
  return population.beats_processes(jax.devices()[0].platform)


def train_population(row: tables.Row, root: str, runlocal: bool, inception_weights: str,
                     data_paths: Optional[Dict[str, str]] = None) -> bool:
  """Trains the row's seeds as one population in their table workdirs, when that is the faster
  form here and the row's data is there (else each seed trains in run_seed); True if it did."""
  from gan_jax import population  # pylint: disable=g-import-not-at-top
  if len(row.seeds) < 2 or row.real_data or not trains_populations():
    return False
  config = rows.run_config(row, row.seeds[0], runlocal, inception_weights, data_paths)
  rows.leave_out_missing(config, row, runlocal)
  if rows.data_available(config, row):
    return False  # Fetched or stood in for by run_seed, seed by seed.
  workdirs = [rows.workdir(root, row, s, runlocal) for s in row.seeds]
  if any(workdir_lib.recorded(w, 'data.placement') == 'host' for w in workdirs):
    return False  # Trained before on the host pipeline (vmap gathers on the device): seed by seed.
  config.seeds = ','.join(str(s) for s in row.seeds)
  population.train(config, '', workdirs)
  return True


def train_on_cores(row: tables.Row, root: str, runlocal: bool, inception_weights: str,
                   data_paths: Optional[Dict[str, str]] = None) -> bool:
  """Trains the row's seeds one process per core, each pinned to its core (launch/executors.py,
  as launch/cpu_seeds.sh), where that is the faster form: a CPU with several cores
  (docs/performance.md: 569 seed-epochs an hour against 516 for a population and ~500 for one
  process after another on the 2-core CPU). run_seed then finds each trained and evaluates it. Each
  process is `python -m gan_jax.main` with the flags that give exactly run_seed's config
  (checked by parsing them back); True if it trained them this way."""
  cores = len(os.sched_getaffinity(0))
  if len(row.seeds) < 2 or row.real_data or cores < 2 or trains_populations():
    return False
  runs = []
  for seed in row.seeds:
    config = rows.run_config(row, seed, runlocal, inception_weights, data_paths)
    rows.leave_out_missing(config, row, runlocal)
    if rows.data_available(config, row):
      return False  # Fetched or stood in for by run_seed, seed by seed.
    spec = os.path.join(REPO_ROOT, 'experiments', f'{row.experiment}.py') + (
        ':runlocal' if runlocal else '')
    flag_args = _flags_for(config, spec)
    if flag_args is None:
      return False
    workdir = rows.workdir(root, row, seed, runlocal)
    runs.append(plan.Run(f'seed={seed}', workdir, {'seed': seed}, (
        ('-m', 'gan_jax.main', f'--config={spec}', f'--workdir={workdir}', *flag_args),), config))
  failures = executors.run_local(runs, min(cores, len(runs)), pin=True)
  if failures:
    raise errors.GanJaxError('; '.join(f'{r.name} failed (exit {status}): see '
                                       f'{os.path.join(r.workdir, "sweep.log")}'
                                       for r, status in failures))
  return True


def _flags_for(config, spec: str) -> Optional[List[str]]:
  """--config.* flags that turn the experiment file's config into `config`, or None if they
  do not parse back to it."""
  path, _, arg = spec.partition(':')
  module = importlib.import_module(f'experiments.{os.path.basename(path)[:-3]}')
  base = workdir_lib.as_dict(module.get_config(arg or None))
  wanted = workdir_lib.flattened(config)
  point = {key: tuple(wanted[key]) if isinstance(wanted[key], list) else wanted[key]
           for key in workdir_lib.differing_keys(base, config)}
  flag_args = overrides.flags(point)
  try:
    parsed = overrides.from_command_line(spec, flag_args)
  except errors.GanJaxError:
    return None
  return flag_args if workdir_lib.flattened(parsed) == wanted else None
