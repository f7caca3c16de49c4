"""The 32x32 ImageNet DCGAN of Radford et al. (2016), as released (Newmu/dcgan_code,
imagenet/load_pretrained.py, model 'imagenet_gan_pretrain_128f_relu_lrelu_7l_3x3_256z'), used by
Warde-Farley & Bengio (2017) for ImageNet at full width and, at half width, for CIFAR-10 (§4).

All kernels are 3x3 and no layer has a bias (batch norm's offset stands in for it). With
c = base_channels * width (128 at width 1) and s = side / 8 (4 at 32x32, 6 for STL-10's 48x48):

G: z -> dense to s x s x 4c, BN, ReLU; then transposed convolutions, each followed by BN + ReLU,
   alternating stride 2 (channels kept) and stride 1 (channels halved): 4c -> 4c (2s), 4c -> 2c,
   2c -> 2c (4s), 2c -> c, c -> c (8s); then a stride-1 layer to the image channels (the
   stride-2 layers computed as sub-pixel convolutions, subpixel.py: the same numbers), ending
   in tanh.
D: the mirror image: convolutions alternating stride 1 (channels doubled, the first to c) and
   stride 2 (channels kept), leaky ReLU (0.2) after each, batch norm on all but the first:
   c, c (/2), 2c, 2c (/2), 4c, 4c (/2); Φ is the flattened last map (n_h = s² * 4c: 8,192 at
   width 1 on 32x32) and the logit a linear function of it.
At width 1 on 32x32 this gives G 6.69M and D 4.59M parameters.

As released (the defaults, and every experiment since they were made so):
- The game is played on [-1, 1]: G ends in tanh and D sees the data scaled to [-1, 1]. The rest
  of gan_jax sees images in [0, 1], so G returns (tanh + 1) / 2 and D maps its input back by
  2x - 1 first: D(G(z)) is the release's exactly, and samples leave G already in [0, 1]. The
  range is declared once, by G's output activation (`pixel_range`); the model builder gives it
  to D (models/__init__.py). It matters: D's first convolution has neither bias nor batch norm,
  so on [0, 1] inputs each channel carries an offset of 0.5 * sum(W) that no parameter removes.
- layout='release': Theano's operations. D's convolutions are true convolutions (the kernel
  flipped, cuDNN's conv_mode 'conv') padded (1, 1), also at stride 2 (flax's 'SAME' pads (0, 1));
  G's stride-2 transposed convolutions are their adjoints, padded (1, 2) (flax: (2, 1)); maps
  are flattened and unflattened channel-major (NCHW). The released weights then load with a plain
  transpose of each array (tests/radford_test.py checks both networks against a transcription of
  the release's operations).
- Batch norm adds epsilon 1e-8 to the variance (lib/ops.py), not flax's 1e-5.
Runs made before (sigmoid output on [0, 1], layout 'flax', epsilon 1e-5) keep their config and
read as they were made (gan_jax/workdir.py's ADDED_KEYS).
"""
from typing import Any, Dict, Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax import errors
from gan_jax.models.mlp import ACTIVATIONS
from gan_jax.models.mlp import check_activation
from gan_jax.models import subpixel
from gan_jax.models.materialize import materialize
from gan_jax.models import tap_conv
from gan_jax.models.normalization import batch_norm

_INIT = nn.initializers.normal(0.02)  # DCGAN: weights from N(0, 0.02²).
_KERNEL = (3, 3)
LAYOUTS = ('release', 'flax')
RELEASE_EPSILON = 1e-8  # lib/ops.py batchnorm(..., e=1e-8).


def generator_layers(c: int) -> Tuple[Tuple[int, int], ...]:
  """G's (output channels, stride) after the projection, before the output layer."""
  return ((4 * c, 2), (2 * c, 1), (2 * c, 2), (c, 1), (c, 2))


def discriminator_layers(c: int) -> Tuple[Tuple[int, int], ...]:
  """D's convolutions: (output channels, stride)."""
  return ((c, 1), (c, 2), (2 * c, 1), (2 * c, 2), (4 * c, 1), (4 * c, 2))


def pixel_range(output_activation: str) -> Tuple[float, float]:
  """The pixel range the networks play on: [-1, 1] for a tanh G (the release's), else [0, 1]."""
  return (-1.0, 1.0) if output_activation == 'tanh' else (0.0, 1.0)


def _channels(base_channels: int, width: float) -> int:
  return max(1, int(base_channels * width))


def _runlocal(fields: Dict[str, Any]) -> Dict[str, Any]:
  """`:runlocal` (models.shrink_for_runlocal): c = 4 channels at width 1."""
  del fields
  return {'base_channels': 4}


def _check_layout(fields: Dict[str, Any], where: str) -> None:
  layout = fields.get('layout', 'release')
  if layout not in LAYOUTS:
    raise errors.ConfigError(f'{where}.layout={layout!r} is unknown; use one of {list(LAYOUTS)}')


class _TheanoConv(nn.Module):
  """Theano's dnn_conv(x, w, subsample=(s, s), border_mode=(1, 1)): a true convolution (the
  kernel flipped), padded 1 on every side (subpixel.release_conv). Its parameter is nn.Conv's
  'kernel' [3, 3, in, out]."""
  features: int
  stride: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param('kernel', _INIT, (*_KERNEL, x.shape[-1], self.features), jnp.float32)
    return subpixel.release_conv(x, kernel.astype(x.dtype), self.stride)


class RadfordGenerator(nn.Module):
  output_shape: Tuple[int, ...]  # (H, W, C) with H = W divisible by 8.
  base_channels: int = 128  # c at width 1 (the release's ngf).
  width: float = 1.0
  output_activation: str = 'tanh'
  layout: str = 'release'
  batch_norm_epsilon: float = RELEASE_EPSILON
  batch_axis: Optional[str] = None  # Set by the trainer (parallel.py), not by the config.

  @classmethod
  def check_config(cls, fields: Dict[str, Any], where: str) -> None:
    check_activation(fields.get('output_activation', cls.output_activation), where)
    _check_layout(fields, where)

  runlocal = staticmethod(_runlocal)

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    height, _, channels = self.output_shape
    side, c = height // 8, _channels(self.base_channels, self.width)
    release = self.layout == 'release'
    norm = lambda name: batch_norm(train, name, self.batch_axis, self.batch_norm_epsilon)
    h = nn.Dense(side * side * 4 * c, use_bias=False, kernel_init=_INIT, name='project')(z)
    h = nn.relu(norm('project_bn')(h))
    if release:  # The release's reshape is NCHW.
      h = h.reshape(z.shape[0], 4 * c, side, side).transpose(0, 2, 3, 1)
    else:
      h = h.reshape(z.shape[0], side, side, 4 * c)
    for i, (features, stride) in enumerate(generator_layers(c)):
      if stride == 2:  # nn.ConvTranspose's numbers and parameter, as a sub-pixel convolution.
        h = subpixel.ConvTransposeStride2(features, kernel_init=_INIT, name=f'deconv_{i}',
                                          padding='release' if release else 'same')(h)
      else:  # Stride 1, padded (1, 1): the release's and flax's are the same, nn.ConvTranspose's.
        h = tap_conv.Conv(features, kernel_init=_INIT, name=f'deconv_{i}')(h)
      h = nn.relu(norm(f'deconv_{i}_bn')(h))
      if stride == 2:  # Its depth-to-space, BN and ReLU computed once (materialize.py).
        h = materialize(h)
    h = tap_conv.Conv(channels, kernel_init=_INIT, name='output')(h)
    images = ACTIVATIONS[self.output_activation](h)
    low, high = pixel_range(self.output_activation)
    return (images - low) / (high - low) if low else images  # On [0, 1], as gan_jax's images.


class RadfordDiscriminator(nn.Module):
  """Returns (logit of D(x) [batch], Φ(x) [batch, n_h])."""
  base_channels: int = 128  # c at width 1 (the release's ndf).
  width: float = 1.0
  negative_slope: float = 0.2  # lib.activations.LeakyRectify's leak.
  layout: str = 'release'
  batch_norm_epsilon: float = RELEASE_EPSILON
  # The range G plays on (pixel_range of G's output activation), set by the model builder from
  # config.generator, never by the config: D maps its [0, 1] input there first.
  input_range: Tuple[float, float] = (0.0, 1.0)
  batch_axis: Optional[str] = None

  @classmethod
  def check_config(cls, fields: Dict[str, Any], where: str) -> None:
    _check_layout(fields, where)

  runlocal = staticmethod(_runlocal)

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> Tuple[jax.Array, jax.Array]:
    c = _channels(self.base_channels, self.width)
    release = self.layout == 'release'
    low, high = self.input_range
    h = low + (high - low) * x if low else x
    for i, (features, stride) in enumerate(discriminator_layers(c)):
      if release:
        h = _TheanoConv(features, stride, name=f'conv_{i}')(h)
      else:
        h = nn.Conv(features, _KERNEL, strides=(stride, stride), padding='SAME', use_bias=False,
                    kernel_init=_INIT, name=f'conv_{i}')(h)
      if i > 0:  # No batch norm on the first layer.
        h = batch_norm(train, f'conv_{i}_bn', self.batch_axis, self.batch_norm_epsilon)(h)
      h = nn.leaky_relu(h, self.negative_slope)
    if release:  # The release flattens NCHW maps.
      h = h.transpose(0, 3, 1, 2)
    features = h.reshape(h.shape[0], -1)
    logit = nn.Dense(1, use_bias=False, kernel_init=_INIT, name='output')(features)[:, 0]
    return logit, features
