"""Sweep grids: lists of points, each a dict {dotted config key: value}.

An experiment file's `sweep()` returns a grid built with these helpers:

  product({'optimizer.learning_rate': (1e-3, 3e-4)}, seed=range(5))  # 2 x 5 = 10 points
  zip_({'generator.hidden_dims': ((64, 64), (128, 128)),
        'discriminator.hidden_units': ((32, 32), (64, 64))})            # 2 points
  product(zip_({...}), seed=range(3))                                  # (2 pairs) x 3 = 6 points
  chain(grid_a, grid_b)                                                # grid_a's points, then b's

Each part of `product` / `zip_` is a grid (a list of points) or a mapping of axes {key: values}
that adds one axis per key; keyword axes (seed=range(5)) come after the positional parts. Keys are
dotted config paths. `product` varies its last axis fastest (itertools.product order); `zip_`
needs parts of equal length. Pure Python, so experiment files import it freely.
"""
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Union

from gan_jax import errors

Point = Dict[str, Any]
Grid = List[Point]
Part = Union[Mapping[str, Iterable[Any]], Sequence[Mapping[str, Any]]]


def product(*parts: Part, **axes: Iterable[Any]) -> Grid:
  """Every combination of one point from each part (the cartesian product)."""
  result = [{}]
  for grid in _grids('product', parts, axes):
    result = [_merge('product', a, b) for a in result for b in grid]
  return result


def zip_(*parts: Part, **axes: Iterable[Any]) -> Grid:
  """The i-th point of every part merged into one, for each i; the parts must be equally long."""
  grids = _grids('zip_', parts, axes)
  if len({len(g) for g in grids}) > 1:
    lengths = ', '.join(f'{_describe(g)} has {len(g)}' for g in grids)
    raise errors.ConfigError(f'zip_: the parts differ in length ({lengths}); give every zipped '
                             'axis the same number of values, or use product')
  return [_merge('zip_', *points) for points in zip(*grids)]


def chain(*grids: Sequence[Mapping[str, Any]]) -> Grid:
  """The points of each grid in turn (the concatenation)."""
  return check([point for g in grids for point in check(g, where='chain')], where='chain')


def check(grid: Any, where: str = 'sweep()') -> Grid:
  """grid as a list of dict points; a one-line ConfigError unless it is a non-empty list of
  distinct points whose keys are dotted config paths."""
  if isinstance(grid, (str, bytes, Mapping)) or not isinstance(grid, Sequence):
    raise errors.ConfigError(f'{where}: expected a list of points (dicts of overrides), got '
                             f'{type(grid).__name__}; build it with launch.grid.product / zip_')
  if not grid:
    raise errors.ConfigError(f'{where}: the grid has no points')
  points, seen = [], {}
  for i, point in enumerate(grid):
    if not isinstance(point, Mapping):
      raise errors.ConfigError(f'{where}: point {i} is a {type(point).__name__}, not a dict of '
                               'overrides {dotted.key: value}')
    for key in point:
      _check_key(where, key)
    frozen = tuple(sorted((k, _freeze(v)) for k, v in point.items()))
    if frozen in seen:
      raise errors.ConfigError(f'{where}: points {seen[frozen]} and {i} are the same, '
                               f'{dict(point)}; every point must differ')
    seen[frozen] = i
    points.append(dict(point))
  return points


def _grids(where: str, parts, axes) -> List[Grid]:
  grids = []
  for part in list(parts) + ([axes] if axes else []):
    if isinstance(part, Mapping):
      grids.extend(_axis(where, key, values) for key, values in part.items())
    else:
      grids.append(check(part, where=where))
  if not grids:
    raise errors.ConfigError(f'{where}: nothing to combine; give axes, e.g. {where}(seed=range(5))')
  return grids


def _axis(where: str, key: str, values: Iterable[Any]) -> Grid:
  _check_key(where, key)
  if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
    raise errors.ConfigError(f'{where}: axis {key!r} must be a list of values, got {values!r}')
  grid = [{key: v} for v in values]
  if not grid:
    raise errors.ConfigError(f'{where}: axis {key!r} has no values')
  return check(grid, where=f'{where}: axis {key!r}')


def _check_key(where: str, key: Any) -> None:
  if not isinstance(key, str) or not key or not all(key.split('.')):
    raise errors.ConfigError(f'{where}: {key!r} is not a dotted config key such as '
                             "'optimizer.learning_rate'")


def _merge(where: str, *points: Point) -> Point:
  merged = {}
  for point in points:
    for key, value in point.items():
      if key in merged:
        raise errors.ConfigError(f'{where}: key {key!r} is given by two parts; each key may be '
                                 'swept by one part only')
      merged[key] = value
  return merged


def _describe(grid: Grid) -> str:
  keys = sorted({k for point in grid for k in point})
  return '+'.join(keys) if keys else 'a part'


def _freeze(value: Any) -> Any:
  """A hashable stand-in: lists as tuples, so (64, 64) and [64, 64] are the same value."""
  if isinstance(value, (list, tuple)):
    return tuple(_freeze(v) for v in value)
  if isinstance(value, Mapping):
    return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
  try:
    hash(value)
  except TypeError:
    return repr(value)
  return value
