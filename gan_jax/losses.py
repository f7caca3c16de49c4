"""Adversarial objectives of Goodfellow et al. (2014), computed from D's logits.

D(x) = sigmoid(l). Every log is written in the stable form log sigmoid(l) = -softplus(-l) and
log(1 - sigmoid(l)) = -softplus(l), never as log(sigmoid(.)), which is -inf once sigmoid underflows.
All functions average over the batch (the expectations of eq. 1 estimated on a minibatch).
"""
from typing import Callable

import jax
import jax.numpy as jnp

from gan_jax import errors


def log_d(logits: jax.Array) -> jax.Array:
  """log D(x) from D's logit."""
  return -jax.nn.softplus(-logits)


def log_one_minus_d(logits: jax.Array) -> jax.Array:
  """log(1 - D(x)) from D's logit."""
  return -jax.nn.softplus(logits)


def value_function(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
  """V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))) (eq. 1), on a minibatch."""
  return jnp.mean(log_d(real_logits)) + jnp.mean(log_one_minus_d(fake_logits))


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
  """D ascends V (Algorithm 1), i.e. descends -V: binary cross-entropy, real = 1, fake = 0."""
  return -value_function(real_logits, fake_logits)


def minimax_generator_loss(fake_logits: jax.Array) -> jax.Array:
  """G descends E_z log(1 - D(G(z))) (eq. 1, Algorithm 1): saturates when D rejects G's samples."""
  return jnp.mean(log_one_minus_d(fake_logits))


def non_saturating_generator_loss(fake_logits: jax.Array) -> jax.Array:
  """G ascends E_z log D(G(z)) (§3): same fixed point, strong gradients early in training."""
  return -jnp.mean(log_d(fake_logits))


GENERATOR_LOSSES = {
    'minimax': minimax_generator_loss,
    'non_saturating': non_saturating_generator_loss,
}


def get_generator_loss(name: str) -> Callable[[jax.Array], jax.Array]:
  if name not in GENERATOR_LOSSES:
    raise errors.ConfigError(
        f'config.generator_loss={name!r} is unknown; use one of {sorted(GENERATOR_LOSSES)}')
  return GENERATOR_LOSSES[name]


# Denoising feature matching (Warde-Farley & Bengio, 2017). Squared norms are summed over the
# n_h features and averaged over the batch.

def denoiser_loss(reconstruction: jax.Array, clean_features: jax.Array) -> jax.Array:
  """eq. 5: ||Φ(x) - r(C(Φ(x)))||², the target being the clean features of real data."""
  return jnp.mean(jnp.sum(jnp.square(clean_features - reconstruction), axis=-1))


def denoising_feature_matching_loss(features: jax.Array, denoised: jax.Array) -> jax.Array:
  """First term of eq. 4: ||Φ(G(z)) - r(Φ(G(z)))||² with r(.) a constant: the gradient moves
  Φ(G(z)) towards where the denoiser would take it, never the denoiser's output."""
  return jnp.mean(jnp.sum(jnp.square(features - jax.lax.stop_gradient(denoised)), axis=-1))
