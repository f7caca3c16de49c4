"""Pure training steps: one iteration of Algorithm 1 of Goodfellow et al. (2014).

`train_step(state, batches, rng) -> (state, metrics)` takes `batches` of shape [k, batch, ...]:
one minibatch per discriminator update. Nothing here reads the config at trace time: what a step
needs is bound once as a frozen `StepSpec`.

Under pmap (gan_jax/parallel.py; `StepSpec.axis_name` set) each device holds a shard of the batch:
gradients, batch statistics and metrics are averaged over devices with `lax.pmean`, and the noise
z and the denoiser's corruption are drawn for the whole batch and sliced, so that any number of
devices trains exactly as one device does. Dropout masks are drawn per device (the device index
folded into the key).
"""
import dataclasses
from typing import Callable, Optional, Tuple

import jax
import jax.numpy as jnp

from gan_jax import losses
from gan_jax import optim
from gan_jax.models import prior
from gan_jax.state import GANState, ModelState

UPDATE_RULES = ('alternating', 'simultaneous')


@dataclasses.dataclass(frozen=True)
class StepSpec:
  """The hyperparameters of a step (hashable: bound with functools.partial before jit)."""
  discriminator_steps: int = 1  # k of Algorithm 1.
  generator_loss: str = 'non_saturating'
  update_rule: str = 'alternating'
  noise_prior: str = 'uniform'
  noise_dim: int = 100
  # The released code minimises 0.5 * (BCE(real) + BCE(fake)) for D: a factor 0.5 on -V.
  discriminator_loss_scale: float = 1.0
  # Denoising feature matching (Warde-Farley & Bengio, 2017): λ_denoise = denoise_weight / n_h.
  dfm: bool = False
  lambda_adv: float = 1.0
  denoise_weight: float = 0.03
  denoiser_noise_std: float = 1.0  # σ of the corruption C(h) = h + N(0, σ²).
  # Data parallelism: the pmap axis and its size (all devices of all processes); None: one device.
  axis_name: Optional[str] = None
  num_shards: int = 1

  @classmethod
  def from_config(cls, config, axis_name: Optional[str] = None, num_shards: int = 1) -> 'StepSpec':
    return cls(axis_name=axis_name, num_shards=num_shards,
               discriminator_steps=config.discriminator_steps,
               generator_loss=config.generator_loss, update_rule=config.update_rule,
               noise_prior=config.noise.prior, noise_dim=config.noise.dim,
               discriminator_loss_scale=config.discriminator_loss_scale,
               dfm=config.dfm.enabled, lambda_adv=config.dfm.lambda_adv,
               denoise_weight=config.dfm.denoise_weight,
               denoiser_noise_std=config.dfm.noise_std)

  @property
  def batches_per_step(self) -> int:
    """Minibatches of data one iteration consumes: one per discriminator update."""
    return self.discriminator_steps


def _mean_sigmoid(logits):
  return jnp.mean(jax.nn.sigmoid(logits))


def _global_rows(draw: Callable[[int], jax.Array], num: int, spec: StepSpec) -> jax.Array:
  """`draw(n)` for the whole batch, then this device's `num` rows of it: the same numbers
  whatever the number of devices."""
  if spec.axis_name is None:
    return draw(num)
  rows = draw(num * spec.num_shards)
  return jax.lax.dynamic_slice_in_dim(rows, jax.lax.axis_index(spec.axis_name) * num, num)


def _noise(rng, num, spec: StepSpec):
  return _global_rows(lambda n: prior.sample_noise(rng, n, spec.noise_dim, spec.noise_prior),
                      num, spec)


def _device_key(rng, spec: StepSpec):
  """A key of this device's own (dropout masks): the device index folded in."""
  return rng if spec.axis_name is None else jax.random.fold_in(
      rng, jax.lax.axis_index(spec.axis_name))


def _device_mean(tree, spec: StepSpec):
  """The mean over devices (gradients, batch statistics, metrics); identity on one device."""
  return tree if spec.axis_name is None else jax.lax.pmean(tree, spec.axis_name)


def _apply(model: ModelState, grads, batch_stats, spec: StepSpec) -> ModelState:
  """One optimizer step with the gradient and batch statistics of the whole batch."""
  grads, batch_stats = _device_mean((grads, batch_stats), spec)
  return model.apply_gradients(grads=grads, batch_stats=batch_stats)


def d_update(d: ModelState, g: ModelState, x: jax.Array, rng: jax.Array,
             spec: StepSpec) -> Tuple[ModelState, dict]:
  """One discriminator update on minibatch x and fresh noise (inner loop of Algorithm 1).

  D ascends V(D, G) = E log D(x) + E log(1 - D(G(z))) (eq. 1). Real data and samples go through
  D separately, so a model with batch norm normalises each with its own statistics; the running
  statistics kept are those of the real data.
  """
  z_rng, real_rng, fake_rng = jax.random.split(rng, 3)
  real_rng, fake_rng = _device_key(real_rng, spec), _device_key(fake_rng, spec)
  fake, _ = g.forward(g.params, _noise(z_rng, x.shape[0], spec), train=True)
  fake = jax.lax.stop_gradient(fake)

  def loss_fn(params):
    (real_logits, _), batch_stats = d.forward(params, x, train=True, rngs={'dropout': real_rng})
    (fake_logits, _), _ = d.forward(params, fake, train=True, rngs={'dropout': fake_rng})
    neg_value = losses.discriminator_loss(real_logits, fake_logits)
    return spec.discriminator_loss_scale * neg_value, (neg_value, batch_stats, real_logits,
                                                       fake_logits)

  grads, (neg_value, batch_stats, real_logits, fake_logits) = jax.grad(
      loss_fn, has_aux=True)(d.params)
  d = _apply(d, grads, batch_stats, spec)
  return d, {'d_loss': neg_value, 'D_x': _mean_sigmoid(real_logits),
             'D_G_z': _mean_sigmoid(fake_logits)}


def g_update(g: ModelState, d: ModelState, rng: jax.Array, batch_size: int,
             spec: StepSpec) -> Tuple[ModelState, dict]:
  """One generator update on fresh noise (last line of Algorithm 1), D held fixed.

  D runs in training mode, dropout included, as in the released code's generator gradient.
  """
  z_rng, d_rng = jax.random.split(rng)
  d_rng = _device_key(d_rng, spec)
  z = _noise(z_rng, batch_size, spec)
  generator_loss = losses.get_generator_loss(spec.generator_loss)

  def loss_fn(params):
    fake, batch_stats = g.forward(params, z, train=True)
    (fake_logits, _), _ = d.forward(d.params, fake, train=True, rngs={'dropout': d_rng})
    return generator_loss(fake_logits), batch_stats

  (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(g.params)
  return _apply(g, grads, batch_stats, spec), {'g_loss': loss}


def simultaneous_update(g: ModelState, d: ModelState, x: jax.Array, rng: jax.Array,
                        spec: StepSpec) -> Tuple[ModelState, ModelState, dict]:
  """D and G updated together from one minibatch and one forward pass (the released code).

  Both gradients are taken at the same parameters; G's loss uses the very D(G(z)) (same dropout
  masks) that D's loss uses. One forward pass, two backward passes through it.
  """
  z_rng, real_rng, fake_rng = jax.random.split(rng, 3)
  real_rng, fake_rng = _device_key(real_rng, spec), _device_key(fake_rng, spec)
  z = _noise(z_rng, x.shape[0], spec)
  generator_loss = losses.get_generator_loss(spec.generator_loss)

  def forward(g_params, d_params):
    fake, g_stats = g.forward(g_params, z, train=True)
    (real_logits, _), d_stats = d.forward(d_params, x, train=True, rngs={'dropout': real_rng})
    (fake_logits, _), _ = d.forward(d_params, fake, train=True, rngs={'dropout': fake_rng})
    return (real_logits, fake_logits), (g_stats, d_stats)

  (real_logits, fake_logits), pullback, (g_stats, d_stats) = jax.vjp(
      forward, g.params, d.params, has_aux=True)
  neg_value, d_cotangents = jax.value_and_grad(losses.discriminator_loss, argnums=(0, 1))(
      real_logits, fake_logits)
  g_loss, g_cotangent = jax.value_and_grad(generator_loss)(fake_logits)
  _, d_grads = pullback(jax.tree.map(lambda c: spec.discriminator_loss_scale * c, d_cotangents))
  g_grads, _ = pullback((jnp.zeros_like(real_logits), g_cotangent))
  metrics = {'d_loss': neg_value, 'g_loss': g_loss, 'D_x': _mean_sigmoid(real_logits),
             'D_G_z': _mean_sigmoid(fake_logits)}
  return _apply(g, g_grads, g_stats, spec), _apply(d, d_grads, d_stats, spec), metrics


def dfm_update(g: ModelState, d: ModelState, r: ModelState, x: jax.Array, rng: jax.Array,
               spec: StepSpec) -> Tuple[ModelState, ModelState, ModelState, dict]:
  """One update of D, the denoiser r and G, all gradients at the same parameters (§5).

  D: the usual -V. r: eq. 5 on the features of real data only, Φ(x) held fixed, corrupted by
  N(0, σ²), the clean Φ(x) as target. G: eq. 4, λ_denoise ||Φ(G(z)) - r(Φ(G(z)))||² with r's
  output a constant, plus λ_adv times the (non-saturating) adversarial loss. Real data and
  samples pass through D and r separately, each normalised with its own batch statistics.
  """
  z_rng, real_rng, fake_rng, noise_rng = jax.random.split(rng, 4)
  real_rng, fake_rng = _device_key(real_rng, spec), _device_key(fake_rng, spec)
  z = _noise(z_rng, x.shape[0], spec)
  generator_loss = losses.get_generator_loss(spec.generator_loss)

  def forward(g_params, d_params):
    fake, g_stats = g.forward(g_params, z, train=True)
    (real_logits, real_features), d_stats = d.forward(d_params, x, train=True,
                                                      rngs={'dropout': real_rng})
    (fake_logits, fake_features), _ = d.forward(d_params, fake, train=True,
                                                rngs={'dropout': fake_rng})
    return (real_logits, fake_logits, fake_features), (g_stats, d_stats, real_features)

  (real_logits, fake_logits, fake_features), pullback, (g_stats, d_stats, real_features) = (
      jax.vjp(forward, g.params, d.params, has_aux=True))
  no_features = jnp.zeros_like(fake_features)

  # D ascends V.
  neg_value, (d_real, d_fake) = jax.value_and_grad(losses.discriminator_loss, argnums=(0, 1))(
      real_logits, fake_logits)
  scale = spec.discriminator_loss_scale
  _, d_grads = pullback((scale * d_real, scale * d_fake, no_features))

  # r learns to denoise real features: no gradient reaches D through its input or target.
  clean = jax.lax.stop_gradient(real_features)
  corruption = _global_rows(lambda n: jax.random.normal(noise_rng, (n, clean.shape[1])),
                            clean.shape[0], spec)
  corrupted = clean + spec.denoiser_noise_std * corruption

  def r_loss_fn(params):
    reconstruction, r_stats = r.forward(params, corrupted, train=True)
    return losses.denoiser_loss(reconstruction, clean), r_stats

  (r_loss, r_stats), r_grads = jax.value_and_grad(r_loss_fn, has_aux=True)(r.params)

  # G: eq. 4. r sees the samples' features with their own batch statistics; its output is a
  # constant target (stop_gradient inside the loss), so G's loss never trains r.
  denoised, _ = r.forward(r.params, fake_features, train=True)
  lambda_denoise = spec.denoise_weight / fake_features.shape[-1]  # 0.03 / n_h.

  def g_objective(fake_logits, fake_features):
    denoise = losses.denoising_feature_matching_loss(fake_features, denoised)
    adversarial = generator_loss(fake_logits)
    return lambda_denoise * denoise + spec.lambda_adv * adversarial, (denoise, adversarial)

  (g_loss, (denoise, adversarial)), (g_logit_ct, g_feature_ct) = jax.value_and_grad(
      g_objective, argnums=(0, 1), has_aux=True)(fake_logits, fake_features)
  g_grads, _ = pullback((jnp.zeros_like(real_logits), g_logit_ct, g_feature_ct))

  metrics = {'d_loss': neg_value, 'g_loss': g_loss, 'g_adversarial': adversarial,
             'g_denoise': denoise, 'r_loss': r_loss, 'D_x': _mean_sigmoid(real_logits),
             'D_G_z': _mean_sigmoid(fake_logits)}
  return (_apply(g, g_grads, g_stats, spec), _apply(d, d_grads, d_stats, spec),
          _apply(r, r_grads, r_stats, spec), metrics)


def _discriminator_steps(d, g, batches, rngs, spec):
  """Discriminator updates on each minibatch of `batches` in turn, unrolled by lax.scan."""

  def discriminator_step(d, inputs):
    x, step_rng = inputs
    return d_update(d, g, x, step_rng, spec)

  d, metrics = jax.lax.scan(discriminator_step, d, (batches, rngs))
  return d, jax.tree.map(jnp.mean, metrics)


def train_step(state: GANState, batches: jax.Array, rng: jax.Array, *,
               spec: StepSpec) -> Tuple[GANState, dict]:
  """One iteration of Algorithm 1; `rng` is the run's key, folded with the step number.

  alternating: k discriminator updates, then G against the updated D. simultaneous (the released
  code) and DFM: the first k - 1 discriminator updates as in Algorithm 1, then the last one
  computed at the same parameters as G's (and r's) and applied together with it.
  """
  rng = jax.random.fold_in(rng, state.step)
  k = spec.discriminator_steps
  denoiser = state.denoiser
  if spec.update_rule == 'alternating' and not spec.dfm:
    d_rng, g_rng = jax.random.split(rng)
    d, metrics = _discriminator_steps(state.discriminator, state.generator, batches,
                                      jax.random.split(d_rng, k), spec)
    g, g_metrics = g_update(state.generator, d, g_rng, batches.shape[1], spec)
    metrics.update(g_metrics)
  else:
    d = state.discriminator
    if k > 1:
      rng, extra_rng = jax.random.split(rng)
      d, _ = _discriminator_steps(d, state.generator, batches[:-1],
                                  jax.random.split(extra_rng, k - 1), spec)
    if spec.dfm:
      g, d, denoiser, metrics = dfm_update(state.generator, d, denoiser, batches[-1], rng, spec)
    else:
      g, d, metrics = simultaneous_update(state.generator, d, batches[-1], rng, spec)
  metrics = _device_mean(metrics, spec)
  metrics.update(optim.current_hyperparams(g.opt_state))
  return state.replace(step=state.step + 1, generator=g, discriminator=d,
                       denoiser=denoiser), metrics
