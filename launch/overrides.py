"""A sweep point {dotted key: value} applied to an experiment's locked config, written as the
`--config.key=value` flags of gan_jax.main, and named as a workdir.

`apply` checks types as the command line does: an int field takes an int, a float field an int
or a float, a bool field a bool, a str field a str, a tuple field a tuple or a list; an unknown
key or a group of keys is refused. `flags` renders values so that ml_collections' config_flags
parses them back to the same value, and `from_command_line` is that parse, to check it.
"""
import ast
import copy
import hashlib
import numbers
import re
from typing import Any, List, Mapping, Sequence

from absl import flags as absl_flags
import ml_collections
from ml_collections import config_flags

from gan_jax import errors

_SUPPORTED = (bool, int, float, str, tuple)
_NAME_CHARS = re.compile(r'[A-Za-z0-9._+-]+')
_MAX_NAME = 200


def normalize(config: ml_collections.ConfigDict, point: Mapping[str, Any]) -> dict:
  """point with each value converted to its field's type (int -> float, list -> tuple)."""
  return {key: _coerce(key, _field_type(config, key), value) for key, value in point.items()}


def apply(config: ml_collections.ConfigDict,
          point: Mapping[str, Any]) -> ml_collections.ConfigDict:
  """A copy of the (locked) config with the point's overrides set."""
  config = copy.deepcopy(config)
  for key, value in sorted(normalize(config, point).items()):
    *path, field = key.split('.')
    holder = config
    for part in path:
      holder = holder[part]
    holder[field] = value
  return config


def render(value: Any) -> str:
  """The text of a `--config.key=TEXT` flag that parses back to value."""
  if isinstance(value, tuple):
    return '(' + ','.join(_literal(v) for v in value) + (',' if len(value) == 1 else '') + ')'
  if isinstance(value, float):
    return repr(value)
  return str(value)  # bool: True / False; int; str as it is.


def flags(point: Mapping[str, Any]) -> List[str]:
  """`--config.key=value` for each override, in key order."""
  return [f'--config.{key}={render(point[key])}' for key in sorted(point)]


def name(point: Mapping[str, Any]) -> str:
  """A readable, filesystem-safe workdir name, distinct for distinct (normalized) points.

  `key=value` pairs in key order joined by ',', e.g. 'optimizer.learning_rate=0.001,seed=3';
  tuples as '(64,64)'; a value with other characters ('/', spaces, ...) has them replaced by '_'
  and gets a short hash of the exact value appended. No overrides: 'default'.
  """
  if not point:
    return 'default'
  text = ','.join(f'{key}={_token(point[key])}' for key in sorted(point))
  if len(text) > _MAX_NAME:
    text = f'{text[:_MAX_NAME - 9]}_{_digest(text)}'
  return text


def from_command_line(config_spec: str, flag_args: Sequence[str]) -> ml_collections.ConfigDict:
  """The config gan_jax.main gets from `--config=config_spec *flag_args` (config_flags' parse)."""
  argv = ['gan_jax.main', f'--config={config_spec}', *flag_args]
  values = absl_flags.FlagValues()
  config_flags.DEFINE_config_file('config', None, flag_values=values, lock_config=True,
                                  sys_argv=argv)
  try:
    values(argv)
    config = values.config
    config.keys()  # A config file that failed to load raises here.
  except (absl_flags.Error, AttributeError, KeyError, OSError, TypeError, ValueError) as e:
    raise errors.ConfigError(f'{" ".join(argv[1:])} does not parse: {_first_line(e)}') from e
  return config


def _field_type(config: ml_collections.ConfigDict, key: str) -> type:
  holder, parts = config, key.split('.')
  for i, part in enumerate(parts):
    if not isinstance(holder, ml_collections.ConfigDict) or part not in holder:
      missing = '.'.join(parts[:i + 1])
      raise errors.ConfigError(f'{key}: the config has no key {missing!r} (config keys are locked; '
                               'see the experiment file and experiments/common.py)')
    if i < len(parts) - 1:
      holder = holder[part]
  field_type = holder.get_type(parts[-1])
  if issubclass(field_type, ml_collections.ConfigDict):
    fields = ', '.join(sorted(holder[parts[-1]].keys()))
    raise errors.ConfigError(f'{key} is a group of keys ({fields}); sweep its fields one by one')
  if field_type not in _SUPPORTED:
    raise errors.ConfigError(f'{key} holds a {field_type.__name__}; a sweep overrides only bool, '
                             'int, float, str and tuple fields')
  return field_type


def _coerce(key: str, field_type: type, value: Any) -> Any:
  if field_type is tuple and isinstance(value, (tuple, list)):
    value = tuple(_plain(v) for v in value)
    if not _is_literal(value):
      raise errors.ConfigError(f'{key}={value!r}: tuple elements must be numbers, strings, '
                               'bools or tuples of them')
    return value
  if field_type is not tuple:
    plain = _plain(value)
    if isinstance(plain, field_type) and not (field_type is int and isinstance(plain, bool)):
      return plain
    if field_type is float and isinstance(plain, int) and not isinstance(plain, bool):
      return float(plain)
  article = 'an' if field_type.__name__[0] in 'aeiou' else 'a'
  also = {float: ' (an int is taken too)', tuple: ' (or a list)'}.get(field_type, '')
  raise errors.ConfigError(f'{key}={value!r}: config.{key} is {article} {field_type.__name__}; '
                           f'give {article} {field_type.__name__}{also}')


def _plain(value: Any) -> Any:
  """A NumPy scalar as the Python number it holds (range(), np.logspace() make grids too)."""
  if isinstance(value, bool):
    return value
  if isinstance(value, numbers.Integral):
    return int(value)
  if isinstance(value, numbers.Real):
    return float(value)
  if isinstance(value, tuple):
    return tuple(_plain(v) for v in value)
  return value


def _is_literal(value: Any) -> bool:
  try:
    return ast.literal_eval(render(value)) == value
  except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
    return False


def _literal(value: Any) -> str:
  if isinstance(value, tuple):
    return render(value)
  return repr(value)


def _token(value: Any) -> str:
  """value in a workdir name: itself when its characters are safe, else sanitized + hash."""
  if isinstance(value, tuple):
    inner = ','.join(_token(v) for v in value)
    return f'({inner}{"," if len(value) == 1 else ""})'
  text = render(value)
  if _NAME_CHARS.fullmatch(text):
    return text
  return f'{re.sub(r"[^A-Za-z0-9._+-]", "_", text)}_{_digest(repr(value))}'


def _digest(text: str) -> str:
  return hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]


def _first_line(error: BaseException) -> str:
  """The informative line: config_flags puts the cause of a file that failed to load last."""
  lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [repr(error)]
  return lines[-1] if isinstance(error, OSError) else lines[0]
