"""Proposition 1 and Theorem 1 of Goodfellow et al. (2014), checked numerically in 1-D.

With G fixed, D trained alone by our d_update approaches D*(x) = p_data / (p_data + p_g), and
V(G, D) approaches C(G) = -log 4 + 2 JSD(p_data || p_g).
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy import stats

from gan_jax import losses
from gan_jax import state as state_lib
from gan_jax import steps
from gan_jax.models import mlp

DATA_MEAN, DATA_STD = -1.0, 0.7  # p_data
G_MEAN, G_STD = 1.0, 1.0  # p_g: G(z) = 1 + z with z ~ N(0, 1)


def _fixed_generator():
  g = mlp.MLPGenerator(output_shape=(1,), hidden_dims=(), output_activation='linear')
  params = {'output': {'kernel': jnp.full((1, 1), G_STD), 'bias': jnp.full((1,), G_MEAN)}}
  return state_lib.ModelState.create(apply_fn=g.apply, params=params, tx=optax.identity())


def _train_discriminator(num_steps=1500, batch=512):
  d = mlp.MaxoutDiscriminator(hidden_units=(32, 32), num_pieces=4, init_range=0.3,
                              input_keep=1.0, hidden_keep=1.0)
  d_state = state_lib.create_model_state(d, jax.random.PRNGKey(0), jnp.zeros((1, 1)),
                                         optax.adam(3e-3))
  g_state = _fixed_generator()
  spec = steps.StepSpec(noise_dim=1, noise_prior='normal')

  def one_step(d_state, rng):
    x_rng, step_rng = jax.random.split(rng)
    x = DATA_MEAN + DATA_STD * jax.random.normal(x_rng, (batch, 1))
    d_state, _ = steps.d_update(d_state, g_state, x, step_rng, spec)
    return d_state, None

  d_state, _ = jax.jit(lambda s: jax.lax.scan(one_step, s, jax.random.split(
      jax.random.PRNGKey(1), num_steps)))(d_state)
  return d_state


def test_trained_discriminator_approaches_d_star_and_v_approaches_c_of_g():
  d_state = _train_discriminator()
  x = np.linspace(-6.0, 7.0, 20001)
  p_data = stats.norm.pdf(x, DATA_MEAN, DATA_STD)
  p_g = stats.norm.pdf(x, G_MEAN, G_STD)
  logits = np.asarray(d_state.apply_fn({'params': d_state.params}, jnp.asarray(x[:, None]),
                                       train=False)[0], np.float64)

  # Proposition 1: D(x) -> D*(x) pointwise, where either density has mass.
  d_star = p_data / (p_data + p_g)
  support = (x > -2.5) & (x < 3.5)
  d_of_x = 1 / (1 + np.exp(-logits))
  assert np.max(np.abs(d_of_x - d_star)[support]) < 0.04

  # Theorem 1: V(G, D*) = C(G) = -log 4 + 2 JSD(p_data || p_g); JSD by quadrature.
  m = (p_data + p_g) / 2
  jsd = 0.5 * np.trapezoid(p_data * np.log(p_data / m), x) + 0.5 * np.trapezoid(
      p_g * np.log(p_g / m), x)
  c_of_g = -np.log(4) + 2 * jsd
  # V for the trained D, also by quadrature (stable logs from the logits).
  value = (np.trapezoid(p_data * np.asarray(losses.log_d(logits)), x)
           + np.trapezoid(p_g * np.asarray(losses.log_one_minus_d(logits)), x))
  assert jsd > 0.2  # The densities differ, so the check is not the trivial -log 4.
  assert value <= c_of_g + 1e-4  # D* maximises V.
  np.testing.assert_allclose(value, c_of_g, atol=0.005)
