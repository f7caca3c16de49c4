"""Model registry: config.generator / config.discriminator name a class here; the rest of the
ConfigDict are that class's fields."""
from typing import Any, Mapping, Optional, Tuple

import flax.linen as nn

from gan_jax import errors
from gan_jax.models import dcgan
from gan_jax.models import mlp
from gan_jax.models.denoiser import Denoiser  # pylint: disable=unused-import

GENERATORS = {
    'mlp': mlp.MLPGenerator,
    'dcgan': dcgan.DCGANGenerator,
}
DISCRIMINATORS = {
    'maxout': mlp.MaxoutDiscriminator,
    'dcgan': dcgan.DCGANDiscriminator,
}


# Set by the code that runs the model, never by the config: the pmap axis over which a model
# with batch norm computes its batch statistics (data parallelism, gan_jax/parallel.py).
_RUNTIME_FIELDS = ('batch_axis',)


def _build(registry, role: str, model_config: Mapping[str, Any], batch_axis: Optional[str] = None,
           **extra) -> nn.Module:
  fields = dict(model_config)
  name = fields.pop('name', None)
  if name not in registry:
    raise errors.ConfigError(
        f'config.{role}.name={name!r} is unknown; use one of {sorted(registry)}')
  cls = registry[name]
  known = set(cls.__dataclass_fields__) - {'parent', 'name', *_RUNTIME_FIELDS}
  if 'batch_axis' in cls.__dataclass_fields__:
    extra['batch_axis'] = batch_axis
  unknown = sorted(set(fields) - known)
  if unknown:
    raise errors.ConfigError(
        f'config.{role} has fields {unknown} that the {name!r} model does not take; '
        f'its fields are {sorted(known - set(extra))}')
  fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
  return cls(**fields, **extra)


def build_generator(model_config, example_shape: Tuple[int, ...],
                    batch_axis: Optional[str] = None) -> nn.Module:
  """G: noise -> an example of `example_shape` (e.g. (28, 28, 1) or (2,))."""
  return _build(GENERATORS, 'generator', model_config, batch_axis,
                output_shape=tuple(example_shape))


def build_discriminator(model_config, batch_axis: Optional[str] = None) -> nn.Module:
  """D: example -> (logit of D(x), penultimate features Φ(x))."""
  return _build(DISCRIMINATORS, 'discriminator', model_config, batch_axis)
