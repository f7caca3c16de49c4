"""The fully connected networks of Goodfellow et al. (2014), §5, as in the authors' released code.

Generator: ReLU hidden layers, noise only at the bottom layer, sigmoid output (pixels in [0, 1]).
Discriminator: maxout layers (Goodfellow et al., 2013) with dropout on every layer's input.
Weights are drawn from U(-init_range, init_range) and biases start at zero, as the released
pylearn2 `irange` does.
"""
import math
from typing import Any, Callable, Dict, Sequence, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import errors

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    'relu': nn.relu,
    'sigmoid': nn.sigmoid,  # images in [0, 1]
    'tanh': nn.tanh,
    'linear': lambda x: x,  # toy densities on R^d
}


def check_activation(name: str, where: str) -> None:
  if name not in ACTIVATIONS:
    raise errors.ConfigError(f'{where}: activation {name!r} is unknown; use one of '
                             f'{sorted(ACTIVATIONS)}')


def symmetric_uniform(scale: float) -> nn.initializers.Initializer:
  """U(-scale, scale): pylearn2's `irange`."""

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -scale, scale)

  return init


class MLPGenerator(nn.Module):
  """G(z): an MLP mapping noise to an example of shape `output_shape`.

  Hidden layers are ReLU unless `hidden_activations` names one activation per layer (the
  released CIFAR-10 generator has a sigmoid second layer).
  """
  output_shape: Tuple[int, ...]
  hidden_dims: Sequence[int] = (1200, 1200)
  hidden_activations: Sequence[str] = ()
  init_range: float = 0.05
  output_activation: str = 'sigmoid'

  @classmethod
  def check_config(cls, fields: Dict[str, Any], where: str) -> None:
    activations = tuple(fields.get('hidden_activations', ()))
    for name in activations + (fields.get('output_activation', cls.output_activation),):
      check_activation(name, where)
    hidden_dims = fields.get('hidden_dims', cls.hidden_dims)
    if activations and len(activations) != len(hidden_dims):
      raise errors.ConfigError(
          f'{where}.hidden_activations has {len(activations)} entries for {len(hidden_dims)} '
          'hidden layers; give one per layer or none (all ReLU)')

  @classmethod
  def runlocal(cls, fields: Dict[str, Any]) -> Dict[str, Any]:
    """`:runlocal`: every hidden layer 16 wide."""
    return {'hidden_dims': tuple(16 for _ in fields.get('hidden_dims', cls.hidden_dims))}

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    del train  # No dropout or batch norm in the paper's generator.
    activations = tuple(self.hidden_activations) or ('relu',) * len(self.hidden_dims)
    if len(activations) != len(self.hidden_dims):
      raise ValueError(f'hidden_activations {activations} must name one activation for each of '
                       f'the {len(self.hidden_dims)} hidden layers')
    init = symmetric_uniform(self.init_range)
    h = z
    for i, (width, activation) in enumerate(zip(self.hidden_dims, activations)):
      h = ACTIVATIONS[activation](nn.Dense(width, kernel_init=init, name=f'hidden_{i}')(h))
    out = nn.Dense(math.prod(self.output_shape), kernel_init=init, name='output')(h)
    out = ACTIVATIONS[self.output_activation](out)
    return out.reshape((z.shape[0], *self.output_shape))


class Maxout(nn.Module):
  """h_i = max_j (x W_ij + b_ij) over `num_pieces` linear pieces (Goodfellow et al., 2013)."""
  num_units: int
  num_pieces: int
  kernel_init: nn.initializers.Initializer

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    # Pieces of one unit are adjacent columns of the weight matrix, as in pylearn2.
    h = nn.Dense(self.num_units * self.num_pieces, kernel_init=self.kernel_init, name='linear')(x)
    return h.reshape((*x.shape[:-1], self.num_units, self.num_pieces)).max(axis=-1)


class MaxoutDiscriminator(nn.Module):
  """D(x) = sigmoid(d(Φ(x))): maxout layers with dropout, a sigmoid output unit.

  Returns (logit, Φ): the logit of D(x), shape [batch], and the penultimate features Φ(x).
  Dropout (inverted: kept units are scaled by 1/keep, as pylearn2's `input_scales`) is applied to
  every layer's input when `train` is True, which includes the forward pass used for G's gradient.
  """
  hidden_units: Sequence[int] = (240, 240)
  num_pieces: int = 5
  init_range: float = 0.005
  input_keep: float = 0.8
  hidden_keep: float = 0.5

  @classmethod
  def check_config(cls, fields: Dict[str, Any], where: str) -> None:
    for key in ('input_keep', 'hidden_keep'):
      value = fields.get(key, getattr(cls, key))
      if not 0 < value <= 1:
        raise errors.ConfigError(f'{where}.{key}={value} is a keep probability: it must be in '
                                 '(0, 1]')

  @classmethod
  def runlocal(cls, fields: Dict[str, Any]) -> Dict[str, Any]:
    """`:runlocal`: 8 units of 2 pieces per layer."""
    return {'hidden_units': tuple(8 for _ in fields.get('hidden_units', cls.hidden_units)),
            'num_pieces': 2}

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> Tuple[jax.Array, jax.Array]:
    init = symmetric_uniform(self.init_range)
    h = x.reshape((x.shape[0], -1))
    keep = self.input_keep  # pylearn2 `input_include_probs`: 0.8 for the data, 0.5 above.
    for i, units in enumerate(self.hidden_units):
      h = nn.Dropout(1.0 - keep, deterministic=not train)(h)
      h = Maxout(units, self.num_pieces, init, name=f'maxout_{i}')(h)
      keep = self.hidden_keep
    features = h  # Φ(x): the penultimate layer (Warde-Farley & Bengio, 2017, §3).
    h = nn.Dropout(1.0 - keep, deterministic=not train)(h)
    logit = nn.Dense(1, kernel_init=init, name='output')(h)[:, 0]
    return logit, features


def init_output_bias_from_marginals(params, pixel_means: np.ndarray, eps: float = 1e-7):
  """Sets G's sigmoid output bias to logit(mean pixel), so G starts at the data's marginals.

  The released MNIST setup does this (pylearn2 `init_sigmoid_bias_from_marginals`).
  """
  p = np.clip(np.asarray(pixel_means, np.float64).reshape(-1), eps, 1.0 - eps)
  bias = params['output']['bias']
  if p.shape != bias.shape:
    raise ValueError(f'pixel means of shape {p.shape} do not fit an output bias of shape {bias.shape}')
  output = {**params['output'], 'bias': jnp.asarray(np.log(p / (1.0 - p)), bias.dtype)}
  return {**params, 'output': output}
