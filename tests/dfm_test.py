"""Denoising feature matching (Warde-Farley & Bengio, 2017): denoiser, losses, step, separate
batch norm in D."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gan_jax import losses
from gan_jax import state as state_lib
from gan_jax import steps
from gan_jax.models import denoiser as denoiser_lib
from gan_jax.models import mlp
from gan_jax.models import prior
from gan_jax.models import radford


def test_denoiser_learns_the_score_of_a_gaussian():
  # Alain & Bengio (2014): the MSE-optimal denoiser for corruption N(0, σ²) satisfies
  # r(h) - h = σ² ∇ log q_σ(h); for q = N(μ, diag s²), q_σ = N(μ, diag(s² + σ²)), so
  # r(h) - h = -σ² (h - μ) / (s² + σ²), a different slope in each dimension.
  mu, s, sigma = np.array([1.0, -2.0, 0.5]), np.array([0.5, 1.0, 2.0]), 1.0
  model = denoiser_lib.Denoiser(feature_dim=3, num_layers=2, width=64)
  r = state_lib.create_model_state(model, jax.random.PRNGKey(0), jnp.zeros((1, 3)),
                                   optax.adam(optax.cosine_decay_schedule(3e-3, 4000, alpha=0.03)))

  def step(r, key):
    h_key, noise_key = jax.random.split(key)
    clean = mu + s * jax.random.normal(h_key, (1024, 3))
    corrupted = clean + sigma * jax.random.normal(noise_key, clean.shape)

    def loss_fn(params):
      out, stats = r.forward(params, corrupted, train=True)
      return losses.denoiser_loss(out, clean), stats

    (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(r.params)
    return r.apply_gradients(grads=grads, batch_stats=stats), loss

  r, _ = jax.jit(lambda r: jax.lax.scan(step, r, jax.random.split(jax.random.PRNGKey(1), 4000)))(r)
  h = mu + s * np.linspace(-1.5, 1.5, 31)[:, None]  # Where q_σ has mass, per dimension.
  residual = np.asarray(r.forward(r.params, jnp.asarray(h, jnp.float32), train=False)[0]) - h
  expected = -sigma**2 * (h - mu) / (s**2 + sigma**2)
  np.testing.assert_allclose(residual, expected, atol=0.12)
  slopes = [np.polyfit(h[:, i], residual[:, i], 1)[0] for i in range(3)]
  np.testing.assert_allclose(slopes, -sigma**2 / (s**2 + sigma**2), rtol=0.1)


def test_feature_matching_loss_sends_no_gradient_to_the_denoiser_output():
  features, denoised = jnp.array([[1.0, 2.0]]), jnp.array([[0.5, 3.0]])
  g_features, g_denoised = jax.grad(losses.denoising_feature_matching_loss, argnums=(0, 1))(
      features, denoised)
  np.testing.assert_allclose(g_features, 2 * (features - denoised))
  np.testing.assert_array_equal(g_denoised, 0.0)


def _dfm_state(lr=0.5, hidden_units=(6,)):
  g = mlp.MLPGenerator(output_shape=(5,), hidden_dims=(7,), output_activation='linear',
                       init_range=0.5)
  d = mlp.MaxoutDiscriminator(hidden_units=hidden_units, num_pieces=2, init_range=0.5,
                              input_keep=1.0, hidden_keep=1.0)
  n_h = hidden_units[-1]
  r = denoiser_lib.Denoiser(feature_dim=n_h, num_layers=1, width=8)
  tx = optax.sgd(lr)
  return state_lib.create_gan_state(
      state_lib.create_model_state(g, jax.random.PRNGKey(1), jnp.zeros((1, 3)), tx),
      state_lib.create_model_state(d, jax.random.PRNGKey(2), jnp.zeros((1, 5)), tx),
      state_lib.create_model_state(r, jax.random.PRNGKey(3), jnp.zeros((1, n_h)), tx))


def _spec(**kw):
  return steps.StepSpec(update_rule='simultaneous', dfm=True, noise_dim=3,
                        noise_prior='normal', **kw)


X = jax.random.normal(jax.random.PRNGKey(9), (1, 16, 5))


def _step(state, spec, key=jax.random.PRNGKey(4)):
  return jax.jit(functools.partial(steps.train_step, spec=spec))(state, X, key)


# Each pair's (D loss of real and fake logits, G loss of fake logits), written out by hand.
HAND_LOSSES = {
    'non_saturating': (
        lambda real, fake: jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(fake)),
        lambda fake: jnp.mean(jax.nn.softplus(-fake))),
    'least_squares': (
        lambda real, fake: 0.5 * jnp.mean((real - 1) ** 2) + 0.5 * jnp.mean(fake ** 2),
        lambda fake: 0.5 * jnp.mean((fake - 1) ** 2)),
}


@pytest.mark.parametrize('loss', sorted(HAND_LOSSES))
def test_dfm_step_matches_an_independent_computation_of_eq_4_and_5(loss):
  lr, key = 0.5, jax.random.PRNGKey(4)
  spec = _spec(denoise_weight=0.03, lambda_adv=1.0, loss=loss)
  hand_d_loss, hand_g_loss = HAND_LOSSES[loss]
  state = _dfm_state(lr)
  new, metrics = _step(state, spec, key)

  z_rng, _, _, noise_rng = jax.random.split(jax.random.fold_in(key, 0), 4)
  z = prior.sample_noise(z_rng, 16, 3, 'normal')
  g, d, r = state.generator, state.discriminator, state.denoiser
  g_apply = lambda p, z: g.apply_fn({'params': p}, z)
  d_apply = lambda p, x: d.apply_fn({'params': p}, x, train=False)  # No dropout: keep = 1.
  r_apply = lambda p, h: r.apply_fn({'params': p, 'batch_stats': r.batch_stats}, h, train=True,
                                    mutable=['batch_stats'])[0]
  n_h = 6

  # r: eq. 5 on real features, target clean, D fixed.
  clean = d_apply(d.params, X[0])[1]
  corrupted = clean + jax.random.normal(noise_rng, clean.shape)
  r_loss = lambda p: jnp.mean(jnp.sum((clean - r_apply(p, corrupted)) ** 2, axis=1))
  expected_r = jax.tree.map(lambda p, gr: p - lr * gr, r.params, jax.grad(r_loss)(r.params))

  # G: eq. 4 with r's output a constant computed beforehand.
  target = r_apply(r.params, d_apply(d.params, g_apply(g.params, z))[1])

  def g_objective(p):
    logit, features = d_apply(d.params, g_apply(p, z))
    return (0.03 / n_h * jnp.mean(jnp.sum((features - target) ** 2, axis=1))
            + hand_g_loss(logit))

  expected_g = jax.tree.map(lambda p, gr: p - lr * gr, g.params, jax.grad(g_objective)(g.params))

  # D: the pair's D loss (for non_saturating, -V) at the same parameters.
  def d_objective(p):
    fake = g_apply(g.params, z)
    return hand_d_loss(d_apply(p, X[0])[0], d_apply(p, fake)[0])

  expected_d = jax.tree.map(lambda p, gr: p - lr * gr, d.params, jax.grad(d_objective)(d.params))

  close = lambda a, b: jax.tree.map(
      lambda x, y: np.testing.assert_allclose(x, y, rtol=2e-5, atol=1e-6), a, b)
  close(new.denoiser.params, expected_r)  # Nothing of G's loss reached r.
  close(new.generator.params, expected_g)
  close(new.discriminator.params, expected_d)
  np.testing.assert_allclose(metrics['g_loss'], g_objective(g.params), rtol=1e-5)
  np.testing.assert_allclose(metrics['d_loss'], d_objective(d.params), rtol=1e-5)


def test_adversarial_term_is_in_the_generator_loss_and_lambda_follows_n_h():
  for hidden_units in ((6,), (12,)):
    state = _dfm_state(hidden_units=hidden_units)
    _, m = _step(state, _spec(denoise_weight=0.03, lambda_adv=1.0))
    n_h = hidden_units[-1]
    # g_loss = λ_adv · adversarial + (0.03 / n_h) · denoising: both terms, λ_denoise from n_h.
    np.testing.assert_allclose(m['g_loss'], m['g_adversarial'] + 0.03 / n_h * m['g_denoise'],
                               rtol=1e-5)
    assert float(m['g_adversarial']) > 0.1 and float(m['g_denoise']) > 0.1
  state = _dfm_state()
  with_adv, _ = _step(state, _spec(lambda_adv=1.0))
  without_adv, _ = _step(state, _spec(lambda_adv=0.0))
  only_adv, only_adv_metrics = _step(state, _spec(lambda_adv=1.0, denoise_weight=0.0))
  kernel = lambda s: np.asarray(s.generator.params['output']['kernel'])
  assert not np.allclose(kernel(with_adv), kernel(without_adv))  # The adversarial term acts.
  assert not np.allclose(kernel(with_adv), kernel(only_adv))  # So does the denoising term.
  # λ_denoise = 0: G's loss is the adversarial term alone.
  np.testing.assert_allclose(only_adv_metrics['g_loss'], only_adv_metrics['g_adversarial'])


def test_real_and_generated_batches_are_normalised_separately():
  d = radford.RadfordDiscriminator(base_channels=4, width=1.0)
  g = radford.RadfordGenerator(output_shape=(32, 32, 3), base_channels=4)
  tx = optax.sgd(0.0)  # Parameters stay; only batch statistics move.
  g_state = state_lib.create_model_state(g, jax.random.PRNGKey(0), jnp.zeros((1, 8)), tx)
  d_state = state_lib.create_model_state(d, jax.random.PRNGKey(1), jnp.zeros((1, 32, 32, 3)), tx)
  x = jax.random.uniform(jax.random.PRNGKey(2), (8, 32, 32, 3))
  spec = steps.StepSpec(noise_dim=8, noise_prior='normal')
  key = jax.random.PRNGKey(3)
  new_d, metrics = jax.jit(steps.d_update, static_argnums=4)(d_state, g_state, x, key, spec)

  z_rng, _, _ = jax.random.split(key, 3)
  fake = g_state.forward(g_state.params, prior.sample_noise(z_rng, 8, 8, 'normal'), train=True)[0]
  variables = {'params': d_state.params, 'batch_stats': d_state.batch_stats}
  apply = jax.jit(functools.partial(d.apply, train=True, mutable=['batch_stats']))
  (real_logit, _), real_stats = apply(variables, x)
  (fake_logit, _), _ = apply(variables, fake)
  separate = -losses.value_function(real_logit, fake_logit)
  (both, _), _ = apply(variables, jnp.concatenate([x, fake]))
  mixed = -losses.value_function(both[:8], both[8:])
  np.testing.assert_allclose(metrics['d_loss'], separate, rtol=1e-5)
  assert abs(float(mixed) - float(separate)) > 1e-4  # Mixing the batches would be visible.
  # The running statistics kept for evaluation are the real data's.
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
               new_d.batch_stats, real_stats['batch_stats'])
