"""Generator samples for evaluation: a fixed z per use (a stream of config.eval.seed), drawn the
same way by --mode=eval and by the evaluations during training, so both score the same images.

Batch norm while sampling (config.eval.sample_batch_norm): 'batch' normalises each layer with
the statistics of the batch being generated, as the original DCGAN and improved-GAN code did for
the samples they scored (the running averages are neither used nor updated); 'running' uses the
running averages (Flax's evaluation mode). A generator without batch norm gives the same images
either way. Samples are generated `BATCH` at a time, so with 'batch' each image depends on the
other z of its batch of BATCH.
"""
import functools

import jax
import numpy as np

from gan_jax import cpu_kernels
from gan_jax.models import prior

BATCH = 1000  # Generator samples per jitted call (with 'batch': per set of batch statistics).
BATCH_NORM_MODES = ('batch', 'running')

# The z streams of config.eval.seed: each use of samples has its own fixed z.
SAMPLES = 0  # Parzen centres, classifier-space scores, mode coverage.
FIGURE_2, FIGURE_3, FIGURE_1 = 1, 2, 3
INCEPTION = 4  # The Inception metrics' own samples (more than the Parzen window's).


@functools.partial(cpu_kernels.jit, static_argnames='batch_norm')
def _generate_batch(g, z, batch_norm: str):
  # With train=True batch norm uses this batch's statistics; the updated averages are dropped.
  return g.forward(g.params, z, train=batch_norm == 'batch')[0]


def generate(g_state, z: jax.Array, batch_norm: str = 'running') -> np.ndarray:
  """G(z), BATCH rows per call, batch norm in mode `batch_norm` (one of BATCH_NORM_MODES)."""
  return np.concatenate([np.asarray(_generate_batch(g_state, z[i:i + BATCH], batch_norm))
                         for i in range(0, len(z), BATCH)])


def noise(config, num: int, stream: int = 0) -> jax.Array:
  """`num` draws of p_z from stream `stream` of config.eval.seed (one of the streams above)."""
  return prior.sample_noise(jax.random.PRNGKey(config.eval.seed + stream), num, config.noise.dim,
                            config.noise.prior)
