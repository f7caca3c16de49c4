"""The noise prior p_z of the generator (§3: "input noise variables p_z(z)")."""
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import errors

# Both priors have zero mean and unit variance; the released code draws z ~ U(-sqrt 3, sqrt 3).
PRIORS = ('uniform', 'normal')


def sample_noise(rng: jax.Array, num: int, dim: int, prior: str) -> jax.Array:
  """Draws `num` noise vectors z in R^dim from p_z."""
  if prior == 'uniform':
    return jax.random.uniform(rng, (num, dim), jnp.float32, -np.sqrt(3.0), np.sqrt(3.0))
  if prior == 'normal':
    return jax.random.normal(rng, (num, dim), jnp.float32)
  raise errors.ConfigError(f'config.noise.prior={prior!r} is unknown; use one of {list(PRIORS)}')
