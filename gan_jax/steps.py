"""Pure training steps: one iteration of Algorithm 1 of Goodfellow et al. (2014).

`train_step(state, batches, rng) -> (state, metrics)` takes `batches` of shape [k, batch, ...]:
one minibatch per discriminator update. Nothing here reads the config at trace time: what a step
needs is bound once as a frozen `StepSpec`. D and G descend the two losses of the pair that
`StepSpec.loss` names (gan_jax/losses.py); for 'minimax' and 'non_saturating', D's is -V (eq. 1).

The training loop runs the step under jax.jit over a Mesh (gan_jax/parallel.py) with
`StepSpec.axis_name` None: the step sees the whole batch and XLA partitions it. Under a named
axis instead (shard_map or pmap, `StepSpec.axis_name` set) each device holds a shard of the
batch: gradients, batch statistics and metrics are averaged over devices with `lax.pmean`, and
the noise z and the denoiser's corruption are drawn for the whole batch and sliced, so that any
number of devices trains exactly as one device does; dropout masks are then drawn per device
(the device index folded into the key).
"""
import dataclasses
from typing import Callable, Optional, Tuple

import jax
import jax.numpy as jnp

from gan_jax import errors
from gan_jax import losses
from gan_jax import optim
from gan_jax.models import prior
from gan_jax.state import GANState, ModelState

UPDATE_RULES = ('alternating', 'simultaneous')


def validate(config) -> None:
  """The step's keys: k, the update rule, D's loss scale and denoising feature matching."""
  errors.require(isinstance(config.discriminator_steps, int) and config.discriminator_steps > 0,
                 f'config.discriminator_steps={config.discriminator_steps!r} must be a positive '
                 'integer')
  errors.require(config.update_rule in UPDATE_RULES, f'config.update_rule={config.update_rule!r} '
                 f'is unknown; use one of {list(UPDATE_RULES)}')
  errors.require(config.discriminator_loss_scale > 0, 'config.discriminator_loss_scale='
                 f'{config.discriminator_loss_scale} must be > 0')
  dfm = config.dfm
  errors.require(not dfm.enabled or config.update_rule == 'simultaneous',
                 'config.dfm.enabled: denoising feature matching updates D, r and G at the same '
                 'parameters (Warde-Farley & Bengio, 2017, §5); set '
                 'config.update_rule=simultaneous')
  for key in ('lambda_adv', 'denoise_weight'):
    errors.require(dfm[key] >= 0, f'config.dfm.{key}={dfm[key]} must be >= 0')
  errors.require(dfm.noise_std > 0, f'config.dfm.noise_std={dfm.noise_std} must be > 0')


@dataclasses.dataclass(frozen=True)
class StepSpec:
  """The hyperparameters of a step (hashable: bound with functools.partial before jit)."""
  discriminator_steps: int = 1  # k of Algorithm 1.
  loss: str = 'non_saturating'  # A D/G pair of losses.LOSSES.
  update_rule: str = 'alternating'
  noise_prior: str = 'uniform'
  noise_dim: int = 100
  # A factor on D's loss (on its gradient, not on the d_loss logged): the released code minimises
  # 0.5 * (BCE(real) + BCE(fake)) for D, a factor 0.5 on -V.
  discriminator_loss_scale: float = 1.0
  # Denoising feature matching (Warde-Farley & Bengio, 2017): λ_denoise = denoise_weight / n_h.
  dfm: bool = False
  lambda_adv: float = 1.0
  denoise_weight: float = 0.03
  denoiser_noise_std: float = 1.0  # σ of the corruption C(h) = h + N(0, σ²).
  # A named data-parallel axis (shard_map / pmap) and its size; None: the step sees the whole batch.
  axis_name: Optional[str] = None
  num_shards: int = 1

  @classmethod
  def from_config(cls, config, axis_name: Optional[str] = None, num_shards: int = 1) -> 'StepSpec':
    return cls(axis_name=axis_name, num_shards=num_shards,
               discriminator_steps=config.discriminator_steps,
               loss=config.loss, update_rule=config.update_rule,
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


def _discriminator_objective(spec: StepSpec, real_logits: jax.Array,
                             fake_logits: jax.Array) -> Tuple[jax.Array, jax.Array]:
  """(what D descends, what is logged): the pair's D loss times discriminator_loss_scale, and the
  loss itself. For the cross-entropy pairs the loss is -V (eq. 1), log 4 at the optimum."""
  loss = losses.get(spec.loss).discriminator(real_logits, fake_logits)
  return spec.discriminator_loss_scale * loss, loss


def _discriminator_metrics(d_loss, real_logits, fake_logits) -> dict:
  """D's loss, and D(x), D(G(z)) = mean sigmoid of the logits."""
  return {'d_loss': d_loss, 'D_x': _mean_sigmoid(real_logits),
          'D_G_z': _mean_sigmoid(fake_logits)}


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

  D descends the pair's D loss: for 'minimax' and 'non_saturating', -V with
  V(D, G) = E log D(x) + E log(1 - D(G(z))) (eq. 1). Real data and samples go through D
  separately, so a model with batch norm normalises each with its own statistics; the running
  statistics kept are those of the real data.
  """
  z_rng, real_rng, fake_rng = jax.random.split(rng, 3)
  real_rng, fake_rng = _device_key(real_rng, spec), _device_key(fake_rng, spec)
  fake, _ = g.forward(g.params, _noise(z_rng, x.shape[0], spec), train=True)
  fake = jax.lax.stop_gradient(fake)

  def loss_fn(params):
    (real_logits, _), batch_stats = d.forward(params, x, train=True, rngs={'dropout': real_rng})
    (fake_logits, _), _ = d.forward(params, fake, train=True, rngs={'dropout': fake_rng})
    scaled, loss = _discriminator_objective(spec, real_logits, fake_logits)
    return scaled, (loss, batch_stats, real_logits, fake_logits)

  grads, (loss, batch_stats, real_logits, fake_logits) = jax.grad(loss_fn, has_aux=True)(d.params)
  return _apply(d, grads, batch_stats, spec), _discriminator_metrics(loss, real_logits,
                                                                     fake_logits)


def g_update(g: ModelState, d: ModelState, rng: jax.Array, batch_size: int,
             spec: StepSpec) -> Tuple[ModelState, dict]:
  """One generator update on fresh noise (last line of Algorithm 1), D held fixed.

  G descends the pair's G loss. D runs in training mode, dropout included, as in the released
  code's generator gradient.
  """
  z_rng, d_rng = jax.random.split(rng)
  d_rng = _device_key(d_rng, spec)
  z = _noise(z_rng, batch_size, spec)
  generator_loss = losses.get(spec.loss).generator

  def loss_fn(params):
    fake, batch_stats = g.forward(params, z, train=True)
    (fake_logits, _), _ = d.forward(d.params, fake, train=True, rngs={'dropout': d_rng})
    return generator_loss(fake_logits), batch_stats

  (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(g.params)
  return _apply(g, grads, batch_stats, spec), {'g_loss': loss}


def _denoiser_update(r: ModelState, real_features: jax.Array, fake_features: jax.Array,
                     rng: jax.Array, spec: StepSpec) -> Tuple[ModelState, jax.Array, jax.Array]:
  """r's update and G's target, both from r's current parameters: (new r, r(Φ(G(z))), r_loss).

  r descends eq. 5 on the features of real data only: Φ(x) held fixed (no gradient reaches D
  through r's input or target), corrupted by N(0, σ²), the clean Φ(x) as target. r sees the
  samples' features separately, with their own batch statistics.
  """
  clean = jax.lax.stop_gradient(real_features)
  corruption = _global_rows(lambda n: jax.random.normal(rng, (n, clean.shape[1])),
                            clean.shape[0], spec)
  corrupted = clean + spec.denoiser_noise_std * corruption

  def loss_fn(params):
    reconstruction, r_stats = r.forward(params, corrupted, train=True)
    return losses.denoiser_loss(reconstruction, clean), r_stats

  (loss, r_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(r.params)
  denoised, _ = r.forward(r.params, fake_features, train=True)
  return _apply(r, grads, r_stats, spec), denoised, loss


def _generator_objective(spec: StepSpec, outputs: dict,
                         denoised: Optional[jax.Array]) -> Tuple[jax.Array, dict]:
  """G's loss from D's outputs on its samples: the pair's G loss; with DFM, eq. 4:
  λ_denoise ||Φ(G(z)) - r(Φ(G(z)))||² with r's output a constant (stop_gradient inside the loss,
  so G's loss never trains r), plus λ_adv times the pair's G loss."""
  adversarial = losses.get(spec.loss).generator(outputs['fake_logits'])
  if not spec.dfm:
    return adversarial, {}
  features = outputs['fake_features']
  denoise = losses.denoising_feature_matching_loss(features, denoised)
  lambda_denoise = spec.denoise_weight / features.shape[-1]  # 0.03 / n_h.
  return (lambda_denoise * denoise + spec.lambda_adv * adversarial,
          {'g_adversarial': adversarial, 'g_denoise': denoise})


def joint_update(g: ModelState, d: ModelState, r: Optional[ModelState], x: jax.Array,
                 rng: jax.Array, spec: StepSpec
                 ) -> Tuple[ModelState, ModelState, Optional[ModelState], dict]:
  """D and G (and with DFM the denoiser r) updated together from one minibatch: the released
  code's simultaneous rule, and §5 of Warde-Farley & Bengio (2017) with spec.dfm.

  Every gradient is taken at the same parameters, from one forward pass through G and D and one
  backward pass through it per network: G's loss uses the very D(G(z)) (same dropout masks) that
  D's loss uses. D descends the pair's D loss, G `_generator_objective`, r eq. 5. Real data and
  samples pass through D separately, each normalised with its own batch statistics. Without DFM,
  r is returned as given (None in a plain GAN).
  """
  # The split each rule has always used, so that a run resumes drawing the same numbers.
  if spec.dfm:
    z_rng, real_rng, fake_rng, noise_rng = jax.random.split(rng, 4)
  else:
    z_rng, real_rng, fake_rng = jax.random.split(rng, 3)
  real_rng, fake_rng = _device_key(real_rng, spec), _device_key(fake_rng, spec)
  z = _noise(z_rng, x.shape[0], spec)

  def forward(g_params, d_params):
    fake, g_stats = g.forward(g_params, z, train=True)
    (real_logits, real_features), d_stats = d.forward(d_params, x, train=True,
                                                      rngs={'dropout': real_rng})
    (fake_logits, fake_features), _ = d.forward(d_params, fake, train=True,
                                                rngs={'dropout': fake_rng})
    outputs = {'real_logits': real_logits, 'fake_logits': fake_logits}
    if spec.dfm:  # eq. 4 differentiates Φ(G(z)) too.
      outputs['fake_features'] = fake_features
    return outputs, (g_stats, d_stats, real_features)

  outputs, pullback, (g_stats, d_stats, real_features) = jax.vjp(forward, g.params, d.params,
                                                                 has_aux=True)
  # Each loss's cotangent is zero on the outputs it does not read (Φ(G(z)) for D, D(x) for G).
  (_, d_loss), d_cotangents = jax.value_and_grad(
      lambda o: _discriminator_objective(spec, o['real_logits'], o['fake_logits']),
      has_aux=True)(outputs)
  metrics = _discriminator_metrics(d_loss, outputs['real_logits'], outputs['fake_logits'])
  denoised = None
  if spec.dfm:
    r, denoised, metrics['r_loss'] = _denoiser_update(r, real_features, outputs['fake_features'],
                                                      noise_rng, spec)
  (metrics['g_loss'], g_metrics), g_cotangents = jax.value_and_grad(
      lambda o: _generator_objective(spec, o, denoised), has_aux=True)(outputs)
  metrics.update(g_metrics)
  _, d_grads = pullback(d_cotangents)
  g_grads, _ = pullback(g_cotangents)
  return _apply(g, g_grads, g_stats, spec), _apply(d, d_grads, d_stats, spec), r, metrics


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
    g, d, denoiser, metrics = joint_update(state.generator, d, denoiser, batches[-1], rng, spec)
  metrics = _device_mean(metrics, spec)
  # Every network's scheduled hyperparameters: G's unprefixed, D's and r's with d_ / r_.
  for prefix, network in (('', g), ('d_', d), ('r_', denoiser)):
    if network is not None:
      hyperparams = optim.current_hyperparams(network.opt_state)
      metrics.update({prefix + k: v for k, v in hyperparams.items()})
  return state.replace(step=state.step + 1, generator=g, discriminator=d,
                       denoiser=denoiser), metrics
