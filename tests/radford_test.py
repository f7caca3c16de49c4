"""Radford et al.'s 32x32 ImageNet DCGAN against the layer table of the released model, and the
network summary."""
import jax
import jax.numpy as jnp
import pytest

from gan_jax import models
from gan_jax.models import radford
from gan_jax.models import summary
from experiments import cifar10_dcgan

# The released imagenet/load_pretrained.py, layer by layer at width 1 (ngf = ndf = 128, z 256):
# (input channels, output channels) of each 3x3 kernel; G projects z to 4x4x512 first.
_G_KERNELS = [(512, 512), (512, 256), (256, 256), (256, 128), (128, 128), (128, 3)]
_D_KERNELS = [(3, 128), (128, 128), (128, 256), (256, 256), (256, 512), (512, 512)]


def _released_counts(z=256):
  """Parameters of the release, counted from its layer table: kernels, the projection, and
  batch norm's scale and offset on every layer but G's output and D's first."""
  g = z * 4 * 4 * 512 + 2 * 4 * 4 * 512  # Projection (no bias) + its BN.
  g += sum(9 * i * o for i, o in _G_KERNELS) + sum(2 * o for _, o in _G_KERNELS[:-1])
  d = sum(9 * i * o for i, o in _D_KERNELS) + sum(2 * o for _, o in _D_KERNELS[1:])
  d += 4 * 4 * 512  # The logit from Φ, no bias.
  return g, d


def _shapes(module, *inputs):
  variables = jax.eval_shape(lambda *x: module.init(jax.random.PRNGKey(0), *x, train=False),
                             *inputs)
  return variables, jax.eval_shape(lambda v, *x: module.apply(v, *x, train=False), variables,
                                   *inputs)


def test_full_width_matches_the_released_imagenet_model():
  g_vars, images = _shapes(radford.RadfordGenerator(output_shape=(32, 32, 3)),
                           jax.ShapeDtypeStruct((2, 256), jnp.float32))
  d_vars, (logit, features) = _shapes(radford.RadfordDiscriminator(), images)
  expected_g, expected_d = _released_counts()
  assert models.parameter_count(g_vars['params']) == expected_g == 6_690_688  # "about 6.7M"
  assert models.parameter_count(d_vars['params']) == expected_d == 4_586_112  # "about 4.6M"
  assert images.shape == (2, 32, 32, 3) and logit.shape == (2,)
  assert features.shape == (2, 8192)  # Φ: 4x4x512.
  kernels = [g_vars['params'][f'deconv_{i}']['kernel'].shape[2:] for i in range(5)]
  assert kernels == [(512, 512), (512, 256), (256, 256), (256, 128), (128, 128)]
  assert 'conv_0_bn' not in d_vars['batch_stats'] and 'conv_5_bn' in d_vars['batch_stats']


@pytest.mark.parametrize('side, n_h', [(32, 4096), (48, 9216)])
def test_half_width_and_48x48(side, n_h):
  """CIFAR-10's half width (c = 64): Φ = (side/8)² x 256; STL-10's 48x48 projects z to 6x6."""
  g = radford.RadfordGenerator(output_shape=(side, side, 3), width=0.5)
  g_vars, images = _shapes(g, jax.ShapeDtypeStruct((2, 100), jnp.float32))
  assert images.shape == (2, side, side, 3)
  assert g_vars['params']['project']['kernel'].shape == (100, (side // 8) ** 2 * 256)
  _, (_, features) = _shapes(radford.RadfordDiscriminator(width=0.5), images)
  assert features.shape == (2, n_h)


def test_summary_prints_each_network_and_its_count(capsys):
  config = cifar10_dcgan.dcgan_config()
  config.generator = {'name': 'radford', 'width': 1.0}
  config.discriminator = {'name': 'radford', 'width': 1.0}
  config.noise.dim = 256
  counts = summary.summarise(config)  # CIFAR-10 is not installed: shapes from stand-in data.
  out = capsys.readouterr().out
  expected_g, expected_d = _released_counts()
  assert counts == {'generator': expected_g, 'discriminator': expected_d}
  assert f'generator: {expected_g:,} parameters' in out
  assert f'discriminator: {expected_d:,} parameters (n_h = 8,192)' in out
  assert 'project' in out and 'conv_5' in out
