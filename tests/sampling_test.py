"""config.eval.sample_batch_norm: G's samples with each batch's own statistics or the running ones."""
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax import state as state_lib
from gan_jax.evaluation import sampling
from gan_jax.models import radford


def _generator_with_running_statistics():
  """A small Radford G whose running averages differ from any batch's statistics."""
  module = radford.RadfordGenerator(output_shape=(8, 8, 1), base_channels=4)
  g = state_lib.create_model_state(module, jax.random.PRNGKey(0), jnp.zeros((1, 6)),
                                   optax.sgd(0.1))
  shifted = jax.tree.map(lambda s: s + 0.5, g.batch_stats)  # mean + 0.5, var + 0.5
  return module, g.replace(batch_stats=shifted)


def test_batch_mode_uses_each_batch_statistics_and_running_mode_the_averages():
  module, g = _generator_with_running_statistics()
  z = jax.random.normal(jax.random.PRNGKey(1), (10, 6))
  variables = {'params': g.params, 'batch_stats': g.batch_stats}
  # Direct computations with flax: training-mode BN (this batch), evaluation-mode BN (averages).
  with_batch, _ = module.apply(variables, z, train=True, mutable=['batch_stats'])
  with_running = module.apply(variables, z, train=False)
  np.testing.assert_allclose(sampling.generate(g, z, 'batch'), with_batch, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(sampling.generate(g, z, 'running'), with_running, rtol=1e-5,
                             atol=1e-6)
  assert np.abs(np.asarray(with_batch) - np.asarray(with_running)).max() > 1e-2
  # With 'batch' an image depends on the rest of its batch; with 'running' it does not.
  assert not np.allclose(sampling.generate(g, z[:5], 'batch'), with_batch[:5], atol=1e-4)
  np.testing.assert_allclose(sampling.generate(g, z[:5], 'running'), with_running[:5], rtol=1e-5,
                             atol=1e-6)
  # Generating in batch mode leaves the running averages as they were.
  assert all(jax.tree.leaves(jax.tree.map(np.array_equal, g.batch_stats,
                                          _generator_with_running_statistics()[1].batch_stats)))


def test_batches_of_batch_size_are_normalised_on_their_own():
  module, g = _generator_with_running_statistics()
  z = jax.random.normal(jax.random.PRNGKey(2), (sampling.BATCH + 7, 6))
  variables = {'params': g.params, 'batch_stats': g.batch_stats}
  expected = np.concatenate([
      module.apply(variables, z[:sampling.BATCH], train=True, mutable=['batch_stats'])[0],
      module.apply(variables, z[sampling.BATCH:], train=True, mutable=['batch_stats'])[0]])
  np.testing.assert_allclose(sampling.generate(g, z, 'batch'), expected, rtol=1e-5, atol=1e-6)
