import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gan_jax import errors
from gan_jax import models
from gan_jax.models import mlp
from gan_jax.models import prior


def _discriminator(**kw):
  fields = dict(hidden_units=(6, 4), num_pieces=3, init_range=0.5, input_keep=0.8,
                hidden_keep=0.5)
  fields.update(kw)
  return mlp.MaxoutDiscriminator(**fields)


def test_maxout_is_max_over_pieces_of_a_linear_map():
  layer = mlp.Maxout(num_units=4, num_pieces=3, kernel_init=mlp.symmetric_uniform(1.0))
  x = jax.random.normal(jax.random.PRNGKey(0), (5, 7))
  params = layer.init(jax.random.PRNGKey(1), x)['params']
  w, b = np.asarray(params['linear']['kernel']), np.asarray(params['linear']['bias'])
  linear = np.asarray(x) @ w + b  # [5, 12]; unit u owns columns 3u, 3u+1, 3u+2.
  expected = np.stack([linear[:, 3 * u:3 * u + 3].max(axis=1) for u in range(4)], axis=1)
  np.testing.assert_allclose(layer.apply({'params': params}, x), expected, rtol=1e-5, atol=1e-6)


def test_init_ranges_are_symmetric_uniform():
  d = _discriminator(init_range=0.005, hidden_units=(240,), num_pieces=5)
  params = d.init(jax.random.PRNGKey(0), jnp.zeros((1, 784)), train=False)['params']
  kernel = np.asarray(params['maxout_0']['linear']['kernel'])
  assert kernel.shape == (784, 1200)
  assert kernel.min() >= -0.005 and kernel.max() <= 0.005
  np.testing.assert_allclose(kernel.std(), 0.005 / np.sqrt(3), rtol=0.01)  # U(-a, a): a/√3.
  np.testing.assert_allclose(kernel.mean(), 0.0, atol=1e-4)


def _dropout_masks(d, x, rng):
  params = d.init(jax.random.PRNGKey(0), x, train=False)['params']
  _, state = d.apply({'params': params}, x, train=True, rngs={'dropout': rng},
                     capture_intermediates=True, mutable=['intermediates'])
  inter = state['intermediates']
  return params, [np.asarray(inter[f'Dropout_{i}']['__call__'][0]) for i in range(3)]


def test_dropout_keeps_the_paper_fractions_and_rescales():
  d = _discriminator(hidden_units=(200, 200), num_pieces=2)
  x = jnp.ones((64, 500))
  _, (inp, hidden0, hidden1) = _dropout_masks(d, x, jax.random.PRNGKey(3))
  # Input: keep 0.8, kept values scaled by 1/0.8 (pylearn2's input_scales 1.25).
  kept = inp != 0
  np.testing.assert_allclose(kept.mean(), 0.8, atol=0.01)
  np.testing.assert_allclose(inp[kept], 1.25, rtol=1e-6)
  # Hidden layers (the second maxout's input and the output's input): keep 0.5.
  for h in (hidden0, hidden1):
    np.testing.assert_allclose((h != 0).mean(), 0.5, atol=0.03)


def test_dropout_only_in_training_mode():
  d = _discriminator()
  x = jax.random.uniform(jax.random.PRNGKey(0), (8, 10))
  params = d.init(jax.random.PRNGKey(1), x, train=False)['params']
  eval_a = d.apply({'params': params}, x, train=False)[0]
  eval_b = d.apply({'params': params}, x, train=False)[0]
  train_a = d.apply({'params': params}, x, train=True, rngs={'dropout': jax.random.PRNGKey(2)})[0]
  train_b = d.apply({'params': params}, x, train=True, rngs={'dropout': jax.random.PRNGKey(3)})[0]
  np.testing.assert_array_equal(eval_a, eval_b)
  assert not np.allclose(train_a, train_b)
  no_dropout = _discriminator(input_keep=1.0, hidden_keep=1.0)
  np.testing.assert_allclose(
      no_dropout.apply({'params': params}, x, train=True, rngs={'dropout': jax.random.PRNGKey(2)})[0],
      eval_a, rtol=1e-6)


def test_discriminator_returns_penultimate_features():
  d = _discriminator(input_keep=1.0, hidden_keep=1.0)
  x = jax.random.uniform(jax.random.PRNGKey(0), (3, 10))
  params = d.init(jax.random.PRNGKey(1), x, train=False)['params']
  logit, features = d.apply({'params': params}, x, train=False)
  assert features.shape == (3, 4) and logit.shape == (3,)
  out = params['output']
  np.testing.assert_allclose(logit, features @ out['kernel'][:, 0] + out['bias'][0], rtol=1e-5)


def test_generator_output_bias_starts_at_pixel_means():
  g = mlp.MLPGenerator(output_shape=(4, 4, 1), hidden_dims=(8,), init_range=0.05)
  means = np.linspace(0.0, 1.0, 16).reshape(4, 4, 1)
  params = g.init(jax.random.PRNGKey(0), jnp.zeros((1, 3)))['params']
  params = mlp.init_output_bias_from_marginals(params, means)
  zeroed = jax.tree.map(jnp.zeros_like, params)
  zeroed['output']['bias'] = params['output']['bias']
  out = g.apply({'params': zeroed}, jnp.ones((2, 3)))
  assert out.shape == (2, 4, 4, 1)
  np.testing.assert_allclose(out[0], np.clip(means, 1e-7, 1 - 1e-7), atol=1e-6)


def test_generator_hidden_activations():
  g = mlp.MLPGenerator(output_shape=(3,), hidden_dims=(5, 5), hidden_activations=('relu', 'sigmoid'),
                       output_activation='linear')
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 2))
  params = g.init(jax.random.PRNGKey(1), z)['params']
  h = jax.nn.relu(z @ params['hidden_0']['kernel'] + params['hidden_0']['bias'])
  h = jax.nn.sigmoid(h @ params['hidden_1']['kernel'] + params['hidden_1']['bias'])
  expected = h @ params['output']['kernel'] + params['output']['bias']
  np.testing.assert_allclose(g.apply({'params': params}, z), expected, rtol=1e-5)


@pytest.mark.parametrize('name', prior.PRIORS)
def test_noise_priors_have_unit_variance(name):
  z = np.asarray(prior.sample_noise(jax.random.PRNGKey(0), 20000, 10, name))
  np.testing.assert_allclose(z.var(), 1.0, atol=0.02)
  np.testing.assert_allclose(z.mean(), 0.0, atol=0.02)
  if name == 'uniform':
    assert z.min() >= -np.sqrt(3) and z.max() <= np.sqrt(3)


def test_registry_errors_name_the_problem():
  with pytest.raises(errors.ConfigError,
                     match=r"config.generator.name='gru'.*\['mlp', 'radford'\]"):
    models.build_generator(ml_collections.ConfigDict({'name': 'gru'}), (2,))
  with pytest.raises(errors.ConfigError, match='width'):
    models.build_discriminator(ml_collections.ConfigDict({'name': 'maxout', 'width': 3}))
