import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import errors
from gan_jax import losses


def _sigmoid(x):
  return 1.0 / (1.0 + math.exp(-x))


REAL = [0.0, 2.0, -1.5]
FAKE = [0.5, -3.0, 1.0]


def test_value_function_matches_hand_computation():
  expected = (np.mean([math.log(_sigmoid(l)) for l in REAL])
              + np.mean([math.log(1 - _sigmoid(l)) for l in FAKE]))
  got = losses.value_function(jnp.array(REAL), jnp.array(FAKE))
  np.testing.assert_allclose(got, expected, rtol=1e-6)
  np.testing.assert_allclose(losses.discriminator_loss(jnp.array(REAL), jnp.array(FAKE)),
                             -expected, rtol=1e-6)


def test_at_logit_zero_d_loss_is_log4():
  # D(x) = 1/2 everywhere: -V = 2 log 2 = log 4, the value at the global optimum (Theorem 1).
  np.testing.assert_allclose(losses.discriminator_loss(jnp.zeros(5), jnp.zeros(5)), math.log(4),
                             rtol=1e-6)


def test_generator_losses_match_hand_computation():
  minimax = np.mean([math.log(1 - _sigmoid(l)) for l in FAKE])
  non_saturating = -np.mean([math.log(_sigmoid(l)) for l in FAKE])
  np.testing.assert_allclose(losses.minimax_generator_loss(jnp.array(FAKE)), minimax, rtol=1e-6)
  np.testing.assert_allclose(losses.non_saturating_generator_loss(jnp.array(FAKE)),
                             non_saturating, rtol=1e-6)


def test_stable_for_extreme_logits():
  logits = jnp.array([-200.0, 200.0])
  np.testing.assert_allclose(losses.log_d(logits), [-200.0, 0.0], atol=1e-6)
  np.testing.assert_allclose(losses.log_one_minus_d(logits), [0.0, -200.0], atol=1e-6)
  grads = jax.grad(lambda l: losses.discriminator_loss(l, l))(logits)
  assert np.all(np.isfinite(grads))


def test_non_saturating_loss_keeps_gradient_where_minimax_saturates():
  # Early in training D rejects samples confidently (D(G(z)) ~ 0): §3's motivation.
  rejected = jnp.array([-10.0])
  minimax_grad = jax.grad(losses.minimax_generator_loss)(rejected)
  non_saturating_grad = jax.grad(losses.non_saturating_generator_loss)(rejected)
  assert abs(float(minimax_grad[0])) < 1e-4
  np.testing.assert_allclose(non_saturating_grad, [-1.0], atol=1e-4)


def test_unknown_generator_loss():
  with pytest.raises(errors.ConfigError, match='generator_loss'):
    losses.get_generator_loss('wasserstein')
