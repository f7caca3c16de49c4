"""A table row's run for one seed (launch/tables.py): its config, its workdir (the one
launch.sweep gives the same point), whether its data can be read, and the optional metrics left
out where their inputs are missing. launch.reproduce and launch/seed_training.py share these."""
import importlib
import os
import sys
from typing import Dict, Optional

from gan_jax import errors
from gan_jax import lock
from gan_jax import workdir as workdir_lib
from launch import fetch_data
from launch import overrides
from launch import plan
from launch import tables


def run_config(row: tables.Row, seed: int, runlocal: bool, inception_weights: str,
            data_paths: Optional[Dict[str, str]] = None):
  module = importlib.import_module(f'experiments.{row.experiment}')
  config = module.get_config('runlocal' if runlocal else None)
  # runlocal keeps the tiny length: of the row's overrides, only those that make it another run.
  config = overrides.apply(config, {**(identifying(row) if runlocal else row.overrides),
                                    'seed': seed})
  if row.data_path_flag and (data_paths or {}).get(row.data_path_flag):
    config.data.path = os.path.abspath(os.path.expanduser(data_paths[row.data_path_flag]))
  if inception_weights:
    config.eval.inception_weights = os.path.expanduser(inception_weights)
  # The row's metrics are computed whatever the experiment's own list (eval.* is free to change).
  from gan_jax.evaluation import metrics  # pylint: disable=g-import-not-at-top  (JAX: after flags)
  config.eval.metrics = tuple(dict.fromkeys((*metrics.names(config), *row.metrics)))
  return config


def identifying(row: tables.Row) -> Dict[str, object]:
  """The row's overrides that make it another run than the experiment's (noise.prior), not
  its length (gan_jax/workdir.py)."""
  config = importlib.import_module(f'experiments.{row.experiment}').get_config()
  return {k: row.overrides[k] for k in workdir_lib.identifying(list(row.overrides), config)}


def workdir(root: str, row: tables.Row, seed: int, runlocal: bool) -> str:
  """<root>/<experiment>/seed=S; a row that is another run names its overrides as launch.sweep
  does: <root>/<experiment>/noise.prior=normal,seed=S."""
  spec = f'experiments/{row.experiment}.py' + (':runlocal' if runlocal else '')
  return os.path.join(root, plan.experiment_name(spec),
                      overrides.name({**identifying(row), 'seed': seed}))


def in_use(root: str, row: tables.Row, runlocal: bool) -> Optional[str]:
  """None if no seed of the row is training (or evaluating) in another process, else which one
  and what to do (one line): a row run then would have its processes refused one by one."""
  for seed in row.seeds:
    holder = lock.holder(workdir(root, row, seed, runlocal))
    if holder:
      doing = 'being evaluated' if holder.get('purpose') == 'evaluation' else 'training'
      return (f'seed={seed} is {doing} in another process ({lock.describe(holder)}): wait for '
              'it to finish, or see where the row stands with --progress')
  return None


def data_available(config, row: tables.Row) -> Optional[str]:
  """None if the training and test data can be read, else why not and what to run (one line)."""
  from gan_jax import data  # pylint: disable=g-import-not-at-top
  fetchable = fetch_data.fetchable(config.data)
  try:
    if fetchable:
      missing = [n for n, s in fetch_data.check(fetch_data.DATASETS[fetchable],
                                                os.path.expanduser(config.data.path)).items() if s]
      if missing:
        raise errors.DatasetUnavailableError(
            f'{fetchable} is not in {config.data.path} ({", ".join(missing)}); rerun with --fetch, '
            f'or first `python -m launch.fetch_data {fetchable} --dir={config.data.path}`')
    for split in ('train', 'test'):
      data.load_split(config.data, split)
  except errors.GanJaxError as e:
    if row.data_path_flag:
      return (f'data not available ({e}); once you have it: `python -m launch.reproduce '
              f'{" ".join(a for a in sys.argv[1:] if not a.startswith("--" + row.data_path_flag))}'
              f' --{row.data_path_flag}=PATH`')
    return str(e)
  return None


def leave_out_missing(config, row: tables.Row, runlocal: bool) -> Dict[str, str]:
  """A check of the pipeline (runlocal), or a row's optional metrics: metrics whose inputs are
  not configured are left out of `config`; returns why, by metric, for the cell."""
  from gan_jax.evaluation import metrics  # pylint: disable=g-import-not-at-top
  optional = config.eval.metrics if runlocal else row.optional
  not_computed = {name: metrics.get(name).missing_input(config) for name in optional}
  not_computed = {name: why for name, why in not_computed.items() if why}
  config.eval.metrics = tuple(n for n in config.eval.metrics if n not in not_computed)
  return not_computed
