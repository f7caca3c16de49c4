"""The noise prior p_z of the generator (§3: "input noise variables p_z(z)")."""
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import errors

# Both priors have zero mean and unit variance; the released code draws z ~ U(-sqrt 3, sqrt 3).
PRIORS = ('uniform', 'normal')


def validate(noise_config) -> None:
  """config.noise: a known prior and a positive dimension."""
  errors.require(noise_config.prior in PRIORS, f'config.noise.prior={noise_config.prior!r} is '
                 f'unknown; use one of {list(PRIORS)}')
  errors.require(isinstance(noise_config.dim, int) and noise_config.dim > 0,
                 f'config.noise.dim={noise_config.dim!r} must be a positive integer')


def sample_noise(rng: jax.Array, num: int, dim: int, prior: str) -> jax.Array:
  """Draws `num` noise vectors z in R^dim from p_z."""
  if prior == 'uniform':
    return jax.random.uniform(rng, (num, dim), jnp.float32, -np.sqrt(3.0), np.sqrt(3.0))
  if prior == 'normal':
    return jax.random.normal(rng, (num, dim), jnp.float32)
  raise errors.ConfigError(f'config.noise.prior={prior!r} is unknown; use one of {list(PRIORS)}')
