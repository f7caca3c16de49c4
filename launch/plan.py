"""A sweep's runs: the experiment file loaded, its grid expanded, every point checked.

Every point is applied to the locked config, validated (gan_jax.config_checks) and checked to
parse back from its own command line; any problem is a one-line SweepError naming the point,
raised before anything runs.
"""
import dataclasses
import importlib.util
import os
import re
import shlex
from typing import Any, Dict, List, Sequence, Tuple

import ml_collections

from gan_jax import errors
from launch import grid
from launch import overrides


class SweepError(errors.GanJaxError):
  """A sweep that cannot run as asked."""


@dataclasses.dataclass(frozen=True)
class Run:
  """One point of a sweep."""
  name: str  # The workdir's last component, from the overrides.
  workdir: str
  point: Dict[str, Any]  # The overrides, each value of its field's type.
  invocations: Tuple[Tuple[str, ...], ...]  # Arguments after `python`: -m gan_jax.main ...
  config: ml_collections.ConfigDict = dataclasses.field(compare=False, repr=False)
  # A population (populations()): the points it trains, whose workdirs hold its runs' output.
  members: Tuple['Run', ...] = ()

  @property
  def log_dir(self) -> str:
    """Where the executor writes sweep.log: the point's workdir, a population's first seed's."""
    return self.members[0].workdir if self.members else self.workdir

  def shell(self, python: str = 'python') -> str:
    """The invocations as one shell command, each after the previous one succeeded."""
    return ' && '.join(shlex.join([python, *args]) for args in self.invocations)


def load(config_spec: str):
  """(the experiment module, its locked config) from 'path[:arg]'."""
  path, _, arg = config_spec.partition(':')
  if not os.path.isfile(path):
    raise SweepError(f'--config={config_spec}: no such file {path!r}')
  spec = importlib.util.spec_from_file_location('launch_sweep_experiment', path)
  module = importlib.util.module_from_spec(spec)
  try:
    spec.loader.exec_module(module)
  except Exception as e:  # pylint: disable=broad-except  (the user's file: report it in one line)
    raise SweepError(f'cannot load {path}: {type(e).__name__}: {e}') from e
  if not callable(getattr(module, 'sweep', None)):
    raise SweepError(f'{path} defines no sweep(); add one returning a grid of overrides, e.g. '
                     'launch.grid.product(seed=range(5))')
  config = module.get_config(arg) if arg else module.get_config()
  config.lock()
  return module, config


def experiment_name(config_spec: str) -> str:
  """'toy_ring_gan' for experiments/toy_ring_gan.py, 'toy_ring_gan-runlocal' with :runlocal."""
  path, _, arg = config_spec.partition(':')
  stem = os.path.splitext(os.path.basename(path))[0]
  return f'{stem}-{re.sub(r"[^A-Za-z0-9._+-]", "_", arg)}' if arg else stem


def check_root(root: str) -> None:
  """An empty --root would put every workdir inside the current directory (the checkout); a
  file cannot hold them."""
  if not root or not root.strip():
    raise errors.ConfigError('--root is empty; give the directory the workdirs go under (e.g. '
                             '--root=/tmp/runs), outside the checkout')
  if os.path.exists(root) and not os.path.isdir(root):
    raise errors.ConfigError(f'--root={root} is a file, not a directory; give the directory the '
                             'workdirs go under')


def plan(config_spec: str, root: str,
         invocation_flags: Sequence[Sequence[str]] = ((),)) -> Sequence[Run]:
  """The runs of the sweep, in <root>/<experiment>/<name>.

  invocation_flags: for each gan_jax.main invocation of a point, its extra flags (--mode=eval).
  """
  from gan_jax import config_checks  # pylint: disable=g-import-not-at-top  (it imports JAX)
  check_root(root)
  module, config = load(config_spec)
  where = f'{config_spec.partition(":")[0]}: sweep()'
  try:
    points = grid.check(module.sweep(), where=where)
  except errors.ConfigError as e:
    raise SweepError(str(e) if str(e).startswith(where) else f'{where}: {e}') from e
  except Exception as e:  # pylint: disable=broad-except  (the user's sweep(): one line)
    raise SweepError(f'{where} raised {type(e).__name__}: '
                     f'{str(e).splitlines()[0] if str(e) else ""}; fix the experiment file') from e
  runs, names = [], {}
  for i, raw in enumerate(points):
    try:
      point = overrides.normalize(config, raw)
      point_config = overrides.apply(config, point)
      config_checks.validate(point_config)
      point_flags = overrides.flags(point)
      parsed = overrides.from_command_line(config_spec, point_flags)
      if (parsed.to_json_best_effort(sort_keys=True) !=
          point_config.to_json_best_effort(sort_keys=True)):
        raise SweepError(f'{" ".join(point_flags)} parses back to a different config')
    except errors.GanJaxError as e:
      raise SweepError(f'point {i} {raw}: {e}') from e
    name = overrides.name(point)
    if name in names:
      raise SweepError(f'points {names[name]} and {i} both run in {name!r}; make them differ')
    names[name] = i
    workdir = os.path.join(root, experiment_name(config_spec), name)
    base = ('-m', 'gan_jax.main', f'--config={config_spec}', f'--workdir={workdir}')
    invocations = tuple(base + tuple(extra) + tuple(point_flags) for extra in invocation_flags)
    runs.append(Run(name, workdir, point, invocations, point_config))
  return runs


_SENTINEL = 7_919_000_000_000_003  # A seed no sweep gives, to find where a name holds the seed.


def populations(runs: Sequence[Run]) -> List[Run]:
  """The runs with every group of points that differ only in `seed` merged into one Run that
  trains the group as one population (gan_jax/population.py: --config.seeds=0,1,2 and a
  --workdir whose {seed} names exactly the points' workdirs), then runs each point's other
  invocations (--mode=eval) in turn. Order is kept; lone points and points whose names cannot
  take a {seed} (a name shortened with a hash), or one of whose workdirs trained on the host
  pipeline, stay as they are."""
  from gan_jax import population  # pylint: disable=g-import-not-at-top  (it imports JAX)
  from gan_jax import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  def key(run):  # Its other overrides; a point without a seed is a group of its own.
    rest = tuple((k, repr(v)) for k, v in sorted(run.point.items()) if k != 'seed')
    return rest if 'seed' in run.point else (run.workdir,)

  groups: Dict[Tuple, List[Run]] = {}
  for run in runs:
    groups.setdefault(key(run), []).append(run)
  merged = []
  for run in runs:
    group = groups[key(run)]
    if len(group) < 2:
      merged.append(run)
      continue
    if run is not group[0]:
      continue
    parent = os.path.dirname(run.workdir)
    name = overrides.name({**run.point, 'seed': _SENTINEL}).replace(
        f'seed={_SENTINEL}', f'seed={population.SEED_SLOT}')
    template = os.path.join(parent, name)
    if (any(population.seed_workdir(template, r.point['seed']) != r.workdir for r in group) or
        any(workdir_lib.recorded(r.workdir, 'data.placement') == 'host' for r in group)):
      merged.extend(group)  # (A seed trained on the host pipeline cannot join a vmapped one.)
      continue
    seeds = ','.join(str(r.point['seed']) for r in group)
    train, *_ = run.invocations
    base = tuple(a for a in train if not a.startswith(('--workdir=', '--config.seed=')))
    population_train = base + (f'--workdir={template}', f'--config.seeds={seeds}')
    evaluations = tuple(args for r in group for args in r.invocations[1:])
    merged.append(Run(f'{name.replace(population.SEED_SLOT, "{" + seeds + "}")}', template,
                      {k: v for k, v in run.point.items() if k != 'seed'},
                      (population_train,) + evaluations, run.config, tuple(group)))
  return merged
