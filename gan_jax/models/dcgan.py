"""DCGAN networks (Radford et al., 2016) as used by Warde-Farley & Bengio (2017), §4.

Generator: z projected to a small square (4x4 for 32x32 images, 6x6 for 48x48), then stride-2
transposed convolutions that halve the channels and double the side, batch norm + ReLU between,
and a sigmoid (pixels in [0, 1]) or tanh output. Discriminator: stride-2 convolutions that double
the channels, leaky ReLU (0.2), batch norm on every layer but the first, then one logit from the
flattened last feature map Φ (D = d ∘ Φ, n_h = size of Φ). `width` scales every layer's channels
(the paper's best CIFAR-10 generator is the 32x32 ImageNet DCGAN at half width).
"""
from typing import Optional, Tuple

import flax.linen as nn
import jax

from gan_jax.models import conv_hooks
from gan_jax.models.mlp import ACTIVATIONS
from gan_jax.models.normalization import batch_norm

_INIT = nn.initializers.normal(0.02)  # DCGAN: weights from N(0, 0.02²).


class DCGANGenerator(conv_hooks.ConvGeneratorHooks, nn.Module):
  output_shape: Tuple[int, ...]  # (H, W, C) with H = W divisible by 2**num_upsamples.
  base_channels: int = 64  # Channels of the last hidden layer at width 1.
  width: float = 1.0
  num_upsamples: int = 3
  output_activation: str = 'sigmoid'
  batch_axis: Optional[str] = None  # Set by the trainer (parallel.py), not by the config.

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    height, _, channels = self.output_shape
    side = height // 2**self.num_upsamples
    features = [int(self.base_channels * self.width) * 2**i
                for i in reversed(range(self.num_upsamples))]
    # Layers followed by batch norm have no bias: BN's own offset replaces it (a bias there gets
    # a zero gradient that Adam would turn into noise-driven steps).
    h = nn.Dense(side * side * features[0], use_bias=False, kernel_init=_INIT, name='project')(z)
    h = nn.relu(batch_norm(train, 'project_bn', self.batch_axis)(h))
    h = h.reshape(z.shape[0], side, side, features[0])
    for i, f in enumerate(features[1:]):
      h = nn.ConvTranspose(f, (5, 5), strides=(2, 2), padding='SAME', use_bias=False,
                           kernel_init=_INIT, name=f'deconv_{i}')(h)
      h = nn.relu(batch_norm(train, f'deconv_{i}_bn', self.batch_axis)(h))
    h = nn.ConvTranspose(channels, (5, 5), strides=(2, 2), padding='SAME', kernel_init=_INIT,
                         name='output')(h)
    return ACTIVATIONS[self.output_activation](h)


class DCGANDiscriminator(conv_hooks.ConvDiscriminatorHooks, nn.Module):
  """Returns (logit of D(x) [batch], Φ(x) [batch, n_h])."""
  base_channels: int = 64
  width: float = 1.0
  num_layers: int = 3
  negative_slope: float = 0.2
  batch_axis: Optional[str] = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> Tuple[jax.Array, jax.Array]:
    h = x
    for i in range(self.num_layers):
      h = nn.Conv(int(self.base_channels * self.width) * 2**i, (5, 5), strides=(2, 2),
                  padding='SAME', use_bias=i == 0, kernel_init=_INIT, name=f'conv_{i}')(h)
      if i > 0:  # No batch norm on the first layer (DCGAN).
        h = batch_norm(train, f'conv_{i}_bn', self.batch_axis)(h)
      h = nn.leaky_relu(h, self.negative_slope)
    features = h.reshape(h.shape[0], -1)
    logit = nn.Dense(1, kernel_init=_INIT, name='output')(features)[:, 0]
    return logit, features
