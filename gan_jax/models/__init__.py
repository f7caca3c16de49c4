"""Model registry: config.generator / config.discriminator name a class here; the rest of the
ConfigDict are that class's fields. The denoiser of DFM is sized here from D's features."""
import functools
import math
from typing import Any, Callable, Mapping, Optional, Tuple

import flax.linen as nn
import jax
import numpy as np

from gan_jax import errors
from gan_jax.models import mlp
from gan_jax.models import radford
from gan_jax.models.denoiser import Denoiser

GENERATORS = {
    'mlp': mlp.MLPGenerator,
    'radford': radford.RadfordGenerator,
}
DISCRIMINATORS = {
    'maxout': mlp.MaxoutDiscriminator,
    'radford': radford.RadfordDiscriminator,
}


# Set by the code that runs the model, never by the config: the named data-parallel axis (under
# shard_map; None under parallel.py's jit, which sees the whole batch) over which a model with
# batch norm computes its batch statistics.
_RUNTIME_FIELDS = ('batch_axis', 'input_range')  # input_range: radford.py's pixel range.


_REGISTRIES = {'generator': GENERATORS, 'discriminator': DISCRIMINATORS}


def convolutional(config) -> bool:
  """Whether G or D convolves (what decides the CPU's call form, gan_jax/parallel.py)."""
  return any(isinstance(c, type) and issubclass(c, (radford.RadfordGenerator,
                                                   radford.RadfordDiscriminator))
             for c in (GENERATORS.get(config.generator.name),
                       DISCRIMINATORS.get(config.discriminator.name)))


def model_class(role: str, model_config: Mapping[str, Any]):
  """The class config.<role>.name names, after checking the config's fields against it: known
  names only, and the class's own value checks (`check_config`)."""
  registry = _REGISTRIES[role]
  fields = dict(model_config)
  name = fields.pop('name', None)
  if name not in registry:
    raise errors.ConfigError(
        f'config.{role}.name={name!r} is unknown; use one of {sorted(registry)}')
  cls = registry[name]
  known = set(cls.__dataclass_fields__) - {'parent', 'name', 'output_shape', *_RUNTIME_FIELDS}
  unknown = sorted(set(fields) - known)
  if unknown:
    raise errors.ConfigError(
        f'config.{role} has fields {unknown} that the {name!r} model does not take; '
        f'its fields are {sorted(known)}')
  _check_numbers(fields, f'config.{role}')
  cls.check_config(fields, f'config.{role}')
  return cls


_MAY_BE_ZERO = ('negative_slope',)  # Float fields for which 0 is a meaningful value.


def _check_numbers(fields: Mapping[str, Any], where: str) -> None:
  """Every model's numeric fields: sizes (integers, alone or in a list) at least 1; rates, ranges
  and widths (floats) finite and > 0. Caught here, these fail before anything is written,
  not as a shape or NaN error after the workdir exists."""
  for key, value in fields.items():
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    for v in values:
      if isinstance(v, bool) or not isinstance(v, (int, float)):
        continue
      if isinstance(v, int) and v < 1:
        raise errors.ConfigError(f'{where}.{key}={value!r}: sizes must be integers >= 1')
      if isinstance(v, float) and not (math.isfinite(v) and (v > 0 or (
          v == 0 and key in _MAY_BE_ZERO))):
        raise errors.ConfigError(f'{where}.{key}={value!r} must be a finite number > 0')


def validate(config) -> None:
  """config.generator, config.discriminator and config.dfm.denoiser, before anything is built."""
  for role in _REGISTRIES:
    model_class(role, config[role])
  denoiser = config.dfm.denoiser
  if not (isinstance(denoiser.num_layers, int) and denoiser.num_layers >= 1):
    raise errors.ConfigError(f'config.dfm.denoiser.num_layers={denoiser.num_layers!r} must be a '
                             'positive integer')
  if not (isinstance(denoiser.width, int) and denoiser.width >= 0):
    raise errors.ConfigError(f'config.dfm.denoiser.width={denoiser.width!r} must be >= 0 (0: n_h)')


def shrink_for_runlocal(config) -> None:
  """`:runlocal`: each network as its class shrinks it (a few seconds on a CPU)."""
  for role in _REGISTRIES:
    network = config[role]
    network.update(model_class(role, network).runlocal(dict(network)))
  config.dfm.denoiser.num_layers = 1


def _build(role: str, model_config: Mapping[str, Any], batch_axis: Optional[str] = None,
           generator_config: Optional[Mapping[str, Any]] = None, **extra) -> nn.Module:
  """The model with its runtime fields: the data-parallel axis, and for a D that plays on G's pixel
  range (radford.py) that range, from `generator_config` (declared once, by G's activation)."""
  cls = model_class(role, model_config)
  fields = {k: tuple(v) if isinstance(v, list) else v for k, v in model_config.items()
            if k != 'name'}
  if 'batch_axis' in cls.__dataclass_fields__:
    extra['batch_axis'] = batch_axis
  if 'input_range' in cls.__dataclass_fields__ and generator_config is not None:
    default = getattr(model_class('generator', generator_config), 'output_activation', '')
    extra['input_range'] = radford.pixel_range(
        generator_config.get('output_activation', default))
  return cls(**fields, **extra)


def build_generator(model_config, example_shape: Tuple[int, ...],
                    batch_axis: Optional[str] = None) -> nn.Module:
  """G: noise -> an example of `example_shape` (e.g. (28, 28, 1) or (2,))."""
  return _build('generator', model_config, batch_axis,
                output_shape=tuple(example_shape))


def build_discriminator(model_config, batch_axis: Optional[str] = None,
                        generator_config: Optional[Mapping[str, Any]] = None) -> nn.Module:
  """D: example -> (logit of D(x), penultimate features Φ(x)), on G's pixel range (_build)."""
  return _build('discriminator', model_config, batch_axis, generator_config)


def parameter_count(params) -> int:
  """How many numbers a network's parameters hold (batch-norm statistics are state, not counted)."""
  return int(sum(np.prod(p.shape) for p in jax.tree.leaves(params)))


def feature_dim(discriminator: nn.Module, variables, example: jax.Array) -> int:
  """n_h, the width of Φ (D's penultimate features), from shapes alone (nothing is computed)."""
  _, features = jax.eval_shape(lambda v: discriminator.apply(v, example, train=False), variables)
  return features.shape[-1]


def build_denoiser(denoiser_config, n_h: int, batch_axis: Optional[str] = None) -> nn.Module:
  """DFM's r on Φ of width n_h (config.dfm.denoiser: num_layers, width; width 0 means n_h)."""
  width = denoiser_config.width
  if width and width < n_h:
    raise errors.ConfigError(f'config.dfm.denoiser.width={width} is below n_h={n_h}, the width '
                             'of Φ; the paper uses widths >= n_h (0 means n_h)')
  return Denoiser(feature_dim=n_h, num_layers=denoiser_config.num_layers, width=width,
                  batch_axis=batch_axis)


def generator_params_fn(config, pixel_means: Callable[[], Any]) -> Optional[Callable]:
  """What edits G's initial parameters: with config.init_output_bias_from_data, the released
  MNIST setup's sigmoid output bias at logit(mean pixel) (needs an mlp G with a sigmoid output)."""
  if not config.init_output_bias_from_data:
    return None
  if config.generator.name != 'mlp' or config.generator.get('output_activation') != 'sigmoid':
    raise errors.ConfigError('config.init_output_bias_from_data needs an mlp generator with a '
                             'sigmoid output; set it to False for this model')
  return functools.partial(mlp.init_output_bias_from_marginals, pixel_means=pixel_means())
