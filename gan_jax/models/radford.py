"""The 32x32 ImageNet DCGAN of Radford et al. (2016), as released (Newmu/dcgan_code,
imagenet/load_pretrained.py, model 'imagenet_gan_pretrain_128f_relu_lrelu_7l_3x3_256z'), used by
Warde-Farley & Bengio (2017) for ImageNet at full width and, at half width, for CIFAR-10 (§4).

All kernels are 3x3 and no layer has a bias (batch norm's offset stands in for it). With
c = base_channels * width (128 at width 1) and s = side / 8 (4 at 32x32, 6 for STL-10's 48x48):

G: z -> dense to s x s x 4c, BN, ReLU; then transposed convolutions, each followed by BN + ReLU,
   alternating stride 2 (channels kept) and stride 1 (channels halved): 4c -> 4c (2s), 4c -> 2c,
   2c -> 2c (4s), 2c -> c, c -> c (8s); then a stride-1 layer to the image channels (the
   stride-2 layers computed as sub-pixel convolutions, subpixel.py: the same numbers). The
   release ends in tanh on [-1, 1]; here `output_activation` (sigmoid: the same map onto
   [0, 1] as (tanh(a / 2) + 1) / 2).
D: the mirror image: convolutions alternating stride 1 (channels doubled, the first to c) and
   stride 2 (channels kept), leaky ReLU (0.2) after each, batch norm on all but the first:
   c, c (/2), 2c, 2c (/2), 4c, 4c (/2); Φ is the flattened last map (n_h = s² * 4c: 8,192 at
   width 1 on 32x32) and the logit a linear function of it.
At width 1 on 32x32 this gives G 6.69M and D 4.59M parameters.
"""
from typing import Any, Dict, Optional, Tuple

import flax.linen as nn
import jax

from gan_jax.models.mlp import ACTIVATIONS
from gan_jax.models.mlp import check_activation
from gan_jax.models import subpixel
from gan_jax.models.normalization import batch_norm

_INIT = nn.initializers.normal(0.02)  # DCGAN: weights from N(0, 0.02²).
_KERNEL = (3, 3)


def _channels(base_channels: int, width: float) -> int:
  return max(1, int(base_channels * width))


def _runlocal(fields: Dict[str, Any]) -> Dict[str, Any]:
  """`:runlocal` (models.shrink_for_runlocal): c = 4 channels at width 1."""
  del fields
  return {'base_channels': 4}


class RadfordGenerator(nn.Module):
  output_shape: Tuple[int, ...]  # (H, W, C) with H = W divisible by 8.
  base_channels: int = 128  # c at width 1 (the release's ngf).
  width: float = 1.0
  output_activation: str = 'sigmoid'
  batch_axis: Optional[str] = None  # Set by the trainer (parallel.py), not by the config.

  @classmethod
  def check_config(cls, fields: Dict[str, Any], where: str) -> None:
    check_activation(fields.get('output_activation', cls.output_activation), where)

  runlocal = staticmethod(_runlocal)

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    height, _, channels = self.output_shape
    side, c = height // 8, _channels(self.base_channels, self.width)
    h = nn.Dense(side * side * 4 * c, use_bias=False, kernel_init=_INIT, name='project')(z)
    h = nn.relu(batch_norm(train, 'project_bn', self.batch_axis)(h))
    h = h.reshape(z.shape[0], side, side, 4 * c)
    layers = ((4 * c, 2), (2 * c, 1), (2 * c, 2), (c, 1), (c, 2))  # (channels, stride)
    for i, (features, stride) in enumerate(layers):
      if stride == 2:  # nn.ConvTranspose's numbers and parameter, as a sub-pixel convolution.
        h = subpixel.ConvTransposeStride2(features, kernel_init=_INIT, name=f'deconv_{i}')(h)
      else:
        h = nn.ConvTranspose(features, _KERNEL, padding='SAME', use_bias=False,
                             kernel_init=_INIT, name=f'deconv_{i}')(h)
      h = nn.relu(batch_norm(train, f'deconv_{i}_bn', self.batch_axis)(h))
    h = nn.ConvTranspose(channels, _KERNEL, padding='SAME', use_bias=False, kernel_init=_INIT,
                         name='output')(h)
    return ACTIVATIONS[self.output_activation](h)


class RadfordDiscriminator(nn.Module):
  """Returns (logit of D(x) [batch], Φ(x) [batch, n_h])."""
  base_channels: int = 128  # c at width 1 (the release's ndf).
  width: float = 1.0
  negative_slope: float = 0.2  # lib.activations.LeakyRectify's leak.
  batch_axis: Optional[str] = None

  @classmethod
  def check_config(cls, fields: Dict[str, Any], where: str) -> None:
    del fields, where  # Any sizes build.

  runlocal = staticmethod(_runlocal)

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> Tuple[jax.Array, jax.Array]:
    c = _channels(self.base_channels, self.width)
    layers = ((c, 1), (c, 2), (2 * c, 1), (2 * c, 2), (4 * c, 1), (4 * c, 2))  # (channels, stride)
    h = x
    for i, (features, stride) in enumerate(layers):
      h = nn.Conv(features, _KERNEL, strides=(stride, stride), padding='SAME', use_bias=False,
                  kernel_init=_INIT, name=f'conv_{i}')(h)
      if i > 0:  # No batch norm on the first layer.
        h = batch_norm(train, f'conv_{i}_bn', self.batch_axis)(h)
      h = nn.leaky_relu(h, self.negative_slope)
    features = h.reshape(h.shape[0], -1)
    logit = nn.Dense(1, use_bias=False, kernel_init=_INIT, name='output')(features)[:, 0]
    return logit, features
