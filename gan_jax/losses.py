"""Adversarial objectives, computed from D's logits, as named pairs of a D loss and a G loss.

`config.loss` names a pair in `LOSSES`: 'minimax' and 'non_saturating' (Goodfellow et al., 2014:
D descends -V of eq. 1 with either G loss), 'hinge' (Lim & Ye, 2017; Miyato et al., 2018) and
'least_squares' (Mao et al., 2017). D's raw output l is a logit: D(x) = sigmoid(l) for the
cross-entropy pairs, while hinge and least squares use l itself.

Every log is written in the stable form log sigmoid(l) = -softplus(-l) and
log(1 - sigmoid(l)) = -softplus(l), never as log(sigmoid(.)), which is -inf once sigmoid underflows.
All functions average over the batch (the expectations of eq. 1 estimated on a minibatch).
"""
import dataclasses
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
  """D ascends V (Algorithm 1), i.e. descends -V: binary cross-entropy, real = 1, fake = 0.

  log 4 at the global optimum, where D(x) = 1/2 everywhere (Theorem 1)."""
  return -value_function(real_logits, fake_logits)


def minimax_generator_loss(fake_logits: jax.Array) -> jax.Array:
  """G descends E_z log(1 - D(G(z))) (eq. 1, Algorithm 1): saturates when D rejects G's samples."""
  return jnp.mean(log_one_minus_d(fake_logits))


def non_saturating_generator_loss(fake_logits: jax.Array) -> jax.Array:
  """G ascends E_z log D(G(z)) (§3): same fixed point, strong gradients early in training."""
  return -jnp.mean(log_d(fake_logits))


def hinge_discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
  """E_x max(0, 1 - l(x)) + E_z max(0, 1 + l(G(z))) (Lim & Ye, 2017; Miyato et al., 2018):
  a margin of 1 on each side; logits already beyond it give no gradient."""
  return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))


def hinge_generator_loss(fake_logits: jax.Array) -> jax.Array:
  """-E_z l(G(z)): G raises D's raw score of its samples (Lim & Ye, 2017; Miyato et al., 2018)."""
  return -jnp.mean(fake_logits)


def least_squares_discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
  """½ E_x (l(x) - b)² + ½ E_z (l(G(z)) - a)² with a = 0, b = 1 (Mao et al., 2017, eq. 2, the
  0-1 coding), l the raw output of D."""
  return 0.5 * jnp.mean(jnp.square(real_logits - 1.0)) + 0.5 * jnp.mean(jnp.square(fake_logits))


def least_squares_generator_loss(fake_logits: jax.Array) -> jax.Array:
  """½ E_z (l(G(z)) - c)² with c = 1 (Mao et al., 2017, eq. 2): G's samples scored as real."""
  return 0.5 * jnp.mean(jnp.square(fake_logits - 1.0))


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
  """A D loss and a G loss, both descended: D's of (real_logits, fake_logits), G's of
  fake_logits."""
  discriminator: Callable[[jax.Array, jax.Array], jax.Array]
  generator: Callable[[jax.Array], jax.Array]


LOSSES = {
    # D descends -V in both Goodfellow et al. (2014) pairs; they differ in G's loss only.
    'minimax': AdversarialLoss(discriminator_loss, minimax_generator_loss),
    'non_saturating': AdversarialLoss(discriminator_loss, non_saturating_generator_loss),
    'hinge': AdversarialLoss(hinge_discriminator_loss, hinge_generator_loss),
    'least_squares': AdversarialLoss(least_squares_discriminator_loss,
                                     least_squares_generator_loss),
}


def get(name: str) -> AdversarialLoss:
  """The pair `config.loss` names; a one-line ConfigError for an unknown name."""
  if name not in LOSSES:
    raise errors.ConfigError(f'config.loss={name!r} is unknown; use one of {sorted(LOSSES)}')
  return LOSSES[name]


# Denoising feature matching (Warde-Farley & Bengio, 2017). Squared norms are summed over the
# n_h features and averaged over the batch.

def denoiser_loss(reconstruction: jax.Array, clean_features: jax.Array) -> jax.Array:
  """eq. 5: ||Φ(x) - r(C(Φ(x)))||², the target being the clean features of real data."""
  return jnp.mean(jnp.sum(jnp.square(clean_features - reconstruction), axis=-1))


def denoising_feature_matching_loss(features: jax.Array, denoised: jax.Array) -> jax.Array:
  """First term of eq. 4: ||Φ(G(z)) - r(Φ(G(z)))||² with r(.) a constant: the gradient moves
  Φ(G(z)) towards where the denoiser would take it, never the denoiser's output."""
  return jnp.mean(jnp.sum(jnp.square(features - jax.lax.stop_gradient(denoised)), axis=-1))
