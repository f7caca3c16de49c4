import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gan_jax import losses
from gan_jax import state as state_lib
from gan_jax import steps
from gan_jax.models import mlp
from gan_jax.models import prior


def tiny_state(tx):
  g = mlp.MLPGenerator(output_shape=(3,), hidden_dims=(5,), output_activation='linear',
                       init_range=0.5)
  d = mlp.MaxoutDiscriminator(hidden_units=(4,), num_pieces=2, init_range=0.5)
  g_state = state_lib.create_model_state(g, jax.random.PRNGKey(1), jnp.zeros((1, 2)), tx)
  d_state = state_lib.create_model_state(d, jax.random.PRNGKey(2), jnp.zeros((1, 3)), tx)
  return state_lib.create_gan_state(g_state, d_state)


def _batches(k, batch=4):
  return jax.random.normal(jax.random.PRNGKey(7), (k, batch, 3))


def _assert_trees_close(a, b, **kw):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, **kw), a, b)


def test_scan_of_k_discriminator_steps_equals_k_sequential_steps():
  k = 3
  spec = steps.StepSpec(discriminator_steps=k, noise_dim=2, noise_prior='normal')
  state = tiny_state(optax.sgd(0.1, momentum=0.9))
  batches, key = _batches(k), jax.random.PRNGKey(11)

  scanned, metrics = jax.jit(functools.partial(steps.train_step, spec=spec))(state, batches, key)

  # The same iteration written out by hand: k calls of d_update, then g_update.
  d_rng, g_rng = jax.random.split(jax.random.fold_in(key, 0))
  d, d_losses = state.discriminator, []
  for x, rng in zip(batches, jax.random.split(d_rng, k)):
    d, m = steps.d_update(d, state.generator, x, rng, spec)
    d_losses.append(m['d_loss'])
  g, g_metrics = steps.g_update(state.generator, d, g_rng, batches.shape[1], spec)

  _assert_trees_close(scanned.discriminator.params, d.params, rtol=1e-5, atol=1e-6)
  _assert_trees_close(scanned.discriminator.opt_state, d.opt_state, rtol=1e-5, atol=1e-6)
  _assert_trees_close(scanned.generator.params, g.params, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(metrics['d_loss'], np.mean(d_losses), rtol=1e-5)
  np.testing.assert_allclose(metrics['g_loss'], g_metrics['g_loss'], rtol=1e-5)
  assert int(scanned.step) == 1 and int(scanned.discriminator.step) == k
  # k = 3 really took three steps: one step lands elsewhere.
  one, _ = steps.d_update(state.discriminator, state.generator, batches[0],
                          jax.random.split(d_rng, k)[0], spec)
  assert not np.allclose(one.params['output']['kernel'], d.params['output']['kernel'])


def _d_logits(d_apply, dp, x, rng):
  return d_apply({'params': dp}, x, train=True, rngs={'dropout': rng})[0]


def _sgd(params, grads, lr):
  return jax.tree.map(lambda p, g: p - lr * g, params, grads)


@pytest.mark.parametrize('loss', sorted(losses.LOSSES))
def test_simultaneous_update_takes_both_gradients_at_the_same_parameters(loss):
  lr, scale = 0.5, 0.5
  spec = steps.StepSpec(update_rule='simultaneous', noise_dim=2, noise_prior='uniform',
                        loss=loss, discriminator_loss_scale=scale)
  state = tiny_state(optax.sgd(lr))
  batches, key = _batches(1), jax.random.PRNGKey(5)
  new, metrics = jax.jit(functools.partial(steps.train_step, spec=spec))(state, batches, key)

  # Independent computation: separate jax.grad of the pair's D and G losses, with one z, one
  # set of dropout masks and the old parameters of both networks.
  z_rng, real_rng, fake_rng = jax.random.split(jax.random.fold_in(key, 0), 3)
  z = prior.sample_noise(z_rng, 4, 2, 'uniform')
  g_apply, d_apply = state.generator.apply_fn, state.discriminator.apply_fn
  g_params, d_params = state.generator.params, state.discriminator.params
  pair = losses.get(loss)

  def d_objective(dp):
    fake = g_apply({'params': g_params}, z)
    return scale * pair.discriminator(_d_logits(d_apply, dp, batches[0], real_rng),
                                      _d_logits(d_apply, dp, fake, fake_rng))

  def g_objective(gp):
    return pair.generator(_d_logits(d_apply, d_params, g_apply({'params': gp}, z), fake_rng))

  expected_d = _sgd(d_params, jax.grad(d_objective)(d_params), lr)
  expected_g = _sgd(g_params, jax.grad(g_objective)(g_params), lr)
  _assert_trees_close(new.discriminator.params, expected_d, rtol=1e-5, atol=1e-6)
  _assert_trees_close(new.generator.params, expected_g, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(metrics['d_loss'], d_objective(d_params) / scale, rtol=1e-5)
  np.testing.assert_allclose(metrics['g_loss'], g_objective(g_params), rtol=1e-5)


def test_alternating_rule_descends_the_hinge_losses():
  lr = 0.5
  spec = steps.StepSpec(loss='hinge', noise_dim=2, noise_prior='normal')
  state = tiny_state(optax.sgd(lr))
  batches, key = _batches(1), jax.random.PRNGKey(3)
  new, metrics = jax.jit(functools.partial(steps.train_step, spec=spec))(state, batches, key)

  # By hand: an SGD step on E max(0, 1 - l(x)) + E max(0, 1 + l(G(z))), then one for G on
  # -E l(G(z)) against the updated D, with train_step's keys.
  d_rng, g_rng = jax.random.split(jax.random.fold_in(key, 0))
  z_rng, real_rng, fake_rng = jax.random.split(jax.random.split(d_rng, 1)[0], 3)
  g_apply, d_apply = state.generator.apply_fn, state.discriminator.apply_fn
  g_params, d_params = state.generator.params, state.discriminator.params
  fake = g_apply({'params': g_params}, prior.sample_noise(z_rng, 4, 2, 'normal'))

  def d_hinge(dp):
    real_logits = _d_logits(d_apply, dp, batches[0], real_rng)
    fake_logits = _d_logits(d_apply, dp, fake, fake_rng)
    return (jnp.mean(jnp.maximum(0.0, 1.0 - real_logits))
            + jnp.mean(jnp.maximum(0.0, 1.0 + fake_logits)))

  expected_d = _sgd(d_params, jax.grad(d_hinge)(d_params), lr)
  g_z_rng, g_d_rng = jax.random.split(g_rng)
  z = prior.sample_noise(g_z_rng, 4, 2, 'normal')

  def g_hinge(gp):
    return -jnp.mean(_d_logits(d_apply, expected_d, g_apply({'params': gp}, z), g_d_rng))

  expected_g = _sgd(g_params, jax.grad(g_hinge)(g_params), lr)
  _assert_trees_close(new.discriminator.params, expected_d, rtol=1e-5, atol=1e-6)
  _assert_trees_close(new.generator.params, expected_g, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(metrics['d_loss'], d_hinge(d_params), rtol=1e-5)
  np.testing.assert_allclose(metrics['g_loss'], g_hinge(g_params), rtol=1e-5)
  one_d, _ = steps.d_update(state.discriminator, state.generator, batches[0],
                            jax.random.split(d_rng, 1)[0], spec)
  _assert_trees_close(one_d.params, expected_d, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('loss', ['non_saturating', 'least_squares'])
@pytest.mark.parametrize('update_rule', steps.UPDATE_RULES)
def test_loss_scale_scales_the_discriminator_update_not_the_logged_loss(update_rule, loss):
  state = tiny_state(optax.sgd(0.5))
  batches, key = _batches(1), jax.random.PRNGKey(8)

  def run(scale):
    spec = steps.StepSpec(update_rule=update_rule, loss=loss, noise_dim=2,
                          discriminator_loss_scale=scale)
    return jax.jit(functools.partial(steps.train_step, spec=spec))(state, batches, key)

  (full, full_metrics), (quarter, quarter_metrics) = run(1.0), run(0.25)
  step = lambda s: jax.tree.map(lambda a, b: a - b, s.discriminator.params,
                                state.discriminator.params)
  # SGD: the step is -lr times the gradient of scale · loss.
  _assert_trees_close(step(quarter), jax.tree.map(lambda x: 0.25 * x, step(full)), rtol=1e-4,
                      atol=1e-7)
  assert np.abs(step(full)['output']['kernel']).max() > 1e-3
  np.testing.assert_allclose(quarter_metrics['d_loss'], full_metrics['d_loss'], rtol=1e-6)
  if update_rule == 'simultaneous':  # G's gradient is taken at the old D: the scale is D's alone.
    _assert_trees_close(quarter.generator.params, full.generator.params, rtol=1e-6,
                        atol=1e-7)


def test_step_spec_reads_the_pair_from_config_loss():
  from experiments import digits_gan  # pylint: disable=g-import-not-at-top
  config = digits_gan.get_config('runlocal')
  config.loss = 'hinge'
  assert steps.StepSpec.from_config(config).loss == 'hinge'


def test_alternating_generator_sees_the_updated_discriminator():
  spec = steps.StepSpec(noise_dim=2)
  state = tiny_state(optax.sgd(0.5))
  new, _ = jax.jit(functools.partial(steps.train_step, spec=spec))(state, _batches(1),
                                                                   jax.random.PRNGKey(0))
  d_rng, g_rng = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(0), 0))
  updated_d, _ = steps.d_update(state.discriminator, state.generator, _batches(1)[0],
                                jax.random.split(d_rng, 1)[0], spec)
  g_with_new_d, _ = steps.g_update(state.generator, updated_d, g_rng, 4, spec)
  g_with_old_d, _ = steps.g_update(state.generator, state.discriminator, g_rng, 4, spec)
  _assert_trees_close(new.generator.params, g_with_new_d.params, rtol=1e-5, atol=1e-6)
  assert not np.allclose(g_with_new_d.params['output']['kernel'],
                         g_with_old_d.params['output']['kernel'])


def test_step_randomness_comes_from_the_step_number():
  spec = steps.StepSpec(noise_dim=2)
  step = jax.jit(functools.partial(steps.train_step, spec=spec))
  state = tiny_state(optax.sgd(0.1))
  a, _ = step(state, _batches(1), jax.random.PRNGKey(0))
  b, _ = step(state, _batches(1), jax.random.PRNGKey(0))
  _assert_trees_close(a.generator.params, b.generator.params, rtol=0, atol=0)
  later, _ = step(state.replace(step=jnp.array(5, jnp.int32)), _batches(1), jax.random.PRNGKey(0))
  assert not np.allclose(later.generator.params['output']['kernel'],
                         a.generator.params['output']['kernel'])
