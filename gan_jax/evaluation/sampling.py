"""Generator samples for evaluation: a fixed z per use (a stream of config.eval.seed), drawn the
same way by --mode=eval and by the evaluations during training, so both score the same images."""
import jax
import numpy as np

from gan_jax.models import prior

_BATCH = 1000  # Generator samples per jitted call.

# The z streams of config.eval.seed: each use of samples has its own fixed z.
SAMPLES = 0  # Parzen centres, classifier-space scores, mode coverage.
FIGURE_2, FIGURE_3, FIGURE_1 = 1, 2, 3
INCEPTION = 4  # The Inception metrics' own samples (more than the Parzen window's).


@jax.jit
def _generate_batch(g, z):
  return g.forward(g.params, z, train=False)[0]


def generate(g_state, z: jax.Array) -> np.ndarray:
  """G(z) in evaluation mode, `_BATCH` rows per call."""
  return np.concatenate([np.asarray(_generate_batch(g_state, z[i:i + _BATCH]))
                         for i in range(0, len(z), _BATCH)])


def noise(config, num: int, stream: int = 0) -> jax.Array:
  """`num` draws of p_z from stream `stream` of config.eval.seed (one of the streams above)."""
  return prior.sample_noise(jax.random.PRNGKey(config.eval.seed + stream), num, config.noise.dim,
                            config.noise.prior)
