import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import errors
from gan_jax import losses


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


# Logits on both sides of the hinge margins: 1 - l(x) and 1 + l(G(z)) take both signs.
REAL = [0.0, 2.0, -1.5]
FAKE = [0.5, -3.0, 1.0]


def test_the_registry_holds_the_four_pairs():
  assert sorted(losses.LOSSES) == ['hinge', 'least_squares', 'minimax', 'non_saturating']
  for name, pair in losses.LOSSES.items():
    assert losses.get(name) is pair
    assert isinstance(pair, losses.AdversarialLoss)


def test_value_function_matches_hand_computation():
  expected = (np.mean([math.log(_sigmoid(l)) for l in REAL])
              + np.mean([math.log(1 - _sigmoid(l)) for l in FAKE]))
  got = losses.value_function(jnp.array(REAL), jnp.array(FAKE))
  np.testing.assert_allclose(got, expected, rtol=1e-6)
  np.testing.assert_allclose(losses.discriminator_loss(jnp.array(REAL), jnp.array(FAKE)),
                             -expected, rtol=1e-6)


@pytest.mark.parametrize('name', ['minimax', 'non_saturating'])
def test_the_goodfellow_pairs_train_d_on_minus_v(name):
  # Runs made when config.generator_loss named these two meant D descends -V: they still do.
  expected = -losses.value_function(jnp.array(REAL), jnp.array(FAKE))
  np.testing.assert_allclose(losses.get(name).discriminator(jnp.array(REAL), jnp.array(FAKE)),
                             expected, rtol=1e-6)


def test_at_logit_zero_d_loss_is_log4():
  # D(x) = 1/2 everywhere: -V = 2 log 2 = log 4, the value at the global optimum (Theorem 1).
  np.testing.assert_allclose(losses.discriminator_loss(jnp.zeros(5), jnp.zeros(5)), math.log(4),
                             rtol=1e-6)


def test_generator_losses_match_hand_computation():
  minimax = np.mean([math.log(1 - _sigmoid(l)) for l in FAKE])
  non_saturating = -np.mean([math.log(_sigmoid(l)) for l in FAKE])
  np.testing.assert_allclose(losses.get('minimax').generator(jnp.array(FAKE)), minimax, rtol=1e-6)
  np.testing.assert_allclose(losses.get('non_saturating').generator(jnp.array(FAKE)),
                             non_saturating, rtol=1e-6)


def test_hinge_losses_match_hand_computation():
  # D: E max(0, 1 - l(x)) + E max(0, 1 + l(G(z))); G: -E l(G(z)).
  d_expected = (np.mean([max(0.0, 1 - l) for l in REAL])
                + np.mean([max(0.0, 1 + l) for l in FAKE]))
  g_expected = -np.mean(FAKE)
  pair = losses.get('hinge')
  np.testing.assert_allclose(pair.discriminator(jnp.array(REAL), jnp.array(FAKE)), d_expected,
                             rtol=1e-6)
  np.testing.assert_allclose(pair.generator(jnp.array(FAKE)), g_expected, rtol=1e-6)


def test_least_squares_losses_match_hand_computation():
  # Mao et al. (2017), eq. 2 with a = 0, b = c = 1, on the raw output of D.
  d_expected = (0.5 * np.mean([(l - 1) ** 2 for l in REAL])
                + 0.5 * np.mean([l ** 2 for l in FAKE]))
  g_expected = 0.5 * np.mean([(l - 1) ** 2 for l in FAKE])
  pair = losses.get('least_squares')
  np.testing.assert_allclose(pair.discriminator(jnp.array(REAL), jnp.array(FAKE)), d_expected,
                             rtol=1e-6)
  np.testing.assert_allclose(pair.generator(jnp.array(FAKE)), g_expected, rtol=1e-6)


def _expected_gradients(name, real, fake):
  """∂/∂l of each pair's D loss (real and fake logits) and G loss, from the formulas by hand."""
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  n_real, n_fake = len(real), len(fake)
  if name in ('minimax', 'non_saturating'):  # -V: -log σ(l) and -log(1 - σ(l)).
    d_real, d_fake = -(1 - _sigmoid(real)) / n_real, _sigmoid(fake) / n_fake
    g_fake = (-_sigmoid(fake) if name == 'minimax' else -(1 - _sigmoid(fake))) / n_fake
  elif name == 'hinge':
    d_real, d_fake = -(real < 1).astype(float) / n_real, (fake > -1).astype(float) / n_fake
    g_fake = -np.ones_like(fake) / n_fake
  else:  # least_squares
    d_real, d_fake = (real - 1) / n_real, fake / n_fake
    g_fake = (fake - 1) / n_fake
  return d_real, d_fake, g_fake


@pytest.mark.parametrize('name', sorted(losses.LOSSES))
def test_gradients_match_the_formulas(name):
  pair = losses.get(name)
  d_real, d_fake = jax.grad(pair.discriminator, argnums=(0, 1))(jnp.array(REAL), jnp.array(FAKE))
  g_fake = jax.grad(pair.generator)(jnp.array(FAKE))
  expected = _expected_gradients(name, REAL, FAKE)
  for got, want in zip((d_real, d_fake, g_fake), expected):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_stable_for_extreme_logits():
  logits = jnp.array([-200.0, 200.0])
  np.testing.assert_allclose(losses.log_d(logits), [-200.0, 0.0], atol=1e-6)
  np.testing.assert_allclose(losses.log_one_minus_d(logits), [0.0, -200.0], atol=1e-6)
  for pair in losses.LOSSES.values():
    grads = jax.grad(lambda l, pair=pair: pair.discriminator(l, l) + pair.generator(l))(logits)
    assert np.all(np.isfinite(grads))


def test_non_saturating_loss_keeps_gradient_where_minimax_saturates():
  # Early in training D rejects samples confidently (D(G(z)) ~ 0): §3's motivation.
  rejected = jnp.array([-10.0])
  minimax_grad = jax.grad(losses.minimax_generator_loss)(rejected)
  non_saturating_grad = jax.grad(losses.non_saturating_generator_loss)(rejected)
  assert abs(float(minimax_grad[0])) < 1e-4
  np.testing.assert_allclose(non_saturating_grad, [-1.0], atol=1e-4)


def test_unknown_loss_names_the_key_and_the_choices():
  with pytest.raises(errors.ConfigError) as info:
    losses.get('maximin')
  message = str(info.value)
  assert "config.loss='maximin'" in message and '\n' not in message
  for name in losses.LOSSES:
    assert repr(name) in message
