"""Radford et al.'s 32x32 ImageNet DCGAN against the layer table of the released model, and the
network summary."""
import tempfile

import jax
import jax.numpy as jnp
import pytest

from gan_jax import models
from gan_jax.models import radford
from gan_jax import summary
from experiments import imagenet32_dcgan

# The released imagenet/load_pretrained.py, layer by layer at width 1 (ngf = ndf = 128, z 256):
# (input channels, output channels) of each 3x3 kernel; G projects z to 4x4x512 first.
_G_KERNELS = [(512, 512), (512, 256), (256, 256), (256, 128), (128, 128), (128, 3)]
_D_KERNELS = [(3, 128), (128, 128), (128, 256), (256, 256), (256, 512), (512, 512)]


def _released_counts(z=256, divisor=1):
  """Parameters of the release, counted from its layer table: kernels, the projection, and
  batch norm's scale and offset on every layer but G's output and D's first; with every channel
  count but the image's divided by `divisor` (2: half width)."""
  shrink = lambda kernels: [(i if i == 3 else i // divisor, o if o == 3 else o // divisor)
                            for i, o in kernels]
  g_kernels, d_kernels, top = shrink(_G_KERNELS), shrink(_D_KERNELS), 512 // divisor
  g = z * 4 * 4 * top + 2 * 4 * 4 * top  # Projection (no bias) + its BN.
  g += sum(9 * i * o for i, o in g_kernels) + sum(2 * o for _, o in g_kernels[:-1])
  d = sum(9 * i * o for i, o in d_kernels) + sum(2 * o for _, o in d_kernels[1:])
  d += 4 * 4 * top  # The logit from Φ, no bias.
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


def test_summary_prints_each_network_and_its_count(capsys, tmp_path, monkeypatch):
  config = imagenet32_dcgan.get_config()  # Radford's networks at full width, z of 256.
  monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
  counts = summary.summarise(config)  # ImageNet is not installed: shapes from stand-in data.
  assert not list(tmp_path.iterdir())  # The stand-in data's directory is removed afterwards.
  out = capsys.readouterr().out
  expected_g, expected_d = _released_counts()
  assert counts == {'generator': expected_g, 'discriminator': expected_d}
  assert f'generator: {expected_g:,} parameters' in out
  assert f'discriminator: {expected_d:,} parameters (n_h = 8,192)' in out
  assert 'project' in out and 'conv_5' in out


def test_the_dfm_experiments_use_the_networks_the_paper_states(capsys):
  """§4: CIFAR-10's G is the 32x32 ImageNet DCGAN with half the width and < 40% of Salimans et
  al.'s CIFAR-10 generator (~4.9M); ImageNet's is Radford's own; every denoiser layer >= n_h."""
  from experiments import cifar10_dfm  # pylint: disable=g-import-not-at-top
  from experiments import imagenet32_dfm  # pylint: disable=g-import-not-at-top
  from experiments import stl10_dfm  # pylint: disable=g-import-not-at-top
  cifar = summary.summarise(cifar10_dfm.get_config())
  assert cifar['generator'] == 1_563_584 < 0.4 * 4.9e6
  assert (cifar['generator'], cifar['discriminator']) == _released_counts(z=100, divisor=2)
  imagenet = summary.summarise(imagenet32_dfm.get_config())
  assert (imagenet['generator'], imagenet['discriminator']) == _released_counts()
  for counts, n_h in ((cifar, 4096), (imagenet, 8192), (summary.summarise(stl10_dfm.get_config()),
                                                        9216)):
    assert counts['denoiser'] == 10 * (n_h * n_h + 2 * n_h) + n_h * n_h + n_h  # 10 x n_h, output.
  assert 'n_h = 4,096' in capsys.readouterr().out


@pytest.mark.parametrize('padding, flax_padding', [('same', 'SAME'),
                                                   ('release', ((1, 2), (1, 2)))])
@pytest.mark.parametrize('shape', [(2, 4, 4, 3), (1, 5, 3, 2)])
def test_the_sub_pixel_transposed_convolution_is_flax_s(shape, padding, flax_padding):
  """G's stride-2 layers (subpixel.py): the numbers and gradients of nn.ConvTranspose((3, 3),
  strides 2, no bias) padded 'SAME' or as the release, with the same 'kernel' parameter, odd
  sizes included."""
  import flax.linen as nn  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gan_jax.models import subpixel  # pylint: disable=g-import-not-at-top
  x = jnp.asarray(np.random.default_rng(0).standard_normal(shape), jnp.float32)
  flax_layer = nn.ConvTranspose(5, (3, 3), strides=(2, 2), padding=flax_padding, use_bias=False)
  variables = flax_layer.init(jax.random.PRNGKey(1), x)
  ours = subpixel.ConvTransposeStride2(5, padding=padding)
  assert jax.tree.map(jnp.shape, ours.init(jax.random.PRNGKey(1), x)) == jax.tree.map(
      jnp.shape, variables)
  expected = flax_layer.apply(variables, x)
  assert expected.shape == (shape[0], 2 * shape[1], 2 * shape[2], 5)
  np.testing.assert_allclose(ours.apply(variables, x), expected, atol=1e-5)
  weights = jnp.asarray(np.random.default_rng(2).standard_normal(expected.shape), jnp.float32)
  grads = [jax.grad(lambda v, x: jnp.sum(layer.apply(v, x) * weights), argnums=(0, 1))(
      variables, x) for layer in (flax_layer, ours)]
  for got, want in zip(jax.tree.leaves(grads[1]), jax.tree.leaves(grads[0])):
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.parametrize('stride, shape, outputs', [
    (2, (2, 8, 6, 3), 4), (2, (1, 5, 7, 2), 4),  # Sub-pixel input gradient; odd: the plain path.
    (1, (2, 6, 5, 2), 19), (1, (1, 5, 7, 3), 4)])  # tap_conv's products; XLA's.
def test_d_s_convolutions_and_their_gradients_are_the_plain_convolution_s(stride, shape, outputs):
  """subpixel.release_conv at strides 2 and 1: output and both gradients equal jax's
  differentiation of Theano's convolution written out (flipped kernel, padded (1, 1))."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gan_jax.models import subpixel  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(3)
  x = jnp.asarray(rng.standard_normal(shape), jnp.float32)
  kernel = jnp.asarray(rng.standard_normal((3, 3, shape[-1], outputs)), jnp.float32)

  def theano(x, kernel):
    return jax.lax.conv_general_dilated(x, kernel[::-1, ::-1], (stride, stride), ((1, 1), (1, 1)),
                                        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))

  expected = theano(x, kernel)
  np.testing.assert_allclose(subpixel.release_conv(x, kernel, stride), expected, atol=1e-5)
  weights = jnp.asarray(rng.standard_normal(expected.shape), jnp.float32)
  grads = [jax.grad(lambda x, k: jnp.sum(f(x, k) * weights), argnums=(0, 1))(x, kernel)
           for f in (lambda x, k: subpixel.release_conv(x, k, stride), theano)]
  for got, want in zip(grads[0], grads[1]):
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.parametrize('channels, outputs, k, batch', [(5, 3, 3, 2), (2, 7, 3, 3), (1, 30, 5, 8),
                                                        (28, 3, 3, 1), (4, 4, 3, 2)])
def test_tap_conv_is_the_convolution_and_its_gradients(channels, outputs, k, batch):
  """tap_conv (products over the taps where a side is narrow: im2col or shift-and-add forward,
  the same for the input gradient, the narrow side shifted for the kernel gradient, summed over
  batch blocks) against jax's convolution and its differentiation, odd sizes; XLA's own where no
  side is narrow. And the layer's numbers are nn.ConvTranspose's and nn.Conv's at stride 1,
  'SAME', with their 'kernel' parameter."""
  import flax.linen as nn  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gan_jax.models import tap_conv  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(4)
  x = jnp.asarray(rng.standard_normal((batch, 6, 7, channels)), jnp.float32)
  dy = jnp.asarray(rng.standard_normal((batch, 6, 7, outputs)), jnp.float32)
  kernel = jnp.asarray(rng.standard_normal((k, k, channels, outputs)), jnp.float32)

  def conv(x, w):
    return jax.lax.conv_general_dilated(x, w, (1, 1), 'SAME',
                                        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))

  narrow = tap_conv.taps_pay(channels, outputs, k)
  assert narrow == (k * k * min(channels, outputs) <= max(channels, outputs))
  assert narrow == ((channels, outputs) in ((1, 30), (28, 3)))  # Both ways narrow, and not.
  expected, pullback = jax.vjp(conv, x, kernel)
  dx, dw = pullback(dy)
  np.testing.assert_allclose(tap_conv.kernel_gradient(x, dy, k), dw, rtol=1e-5, atol=1e-4)
  ours, ours_pullback = jax.vjp(tap_conv.conv, x, kernel)
  ours_dx, ours_dw = ours_pullback(dy)
  np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ours_dx, dx, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ours_dw, dw, rtol=1e-5, atol=1e-4)
  if not narrow:  # XLA's own convolution and gradients.
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(ours_dx, dx)
    np.testing.assert_array_equal(ours_dw, dw)
  for flax_layer in (nn.ConvTranspose(outputs, (k, k), padding='SAME', use_bias=False),
                     nn.Conv(outputs, (k, k), padding='SAME', use_bias=False)):
    variables = flax_layer.init(jax.random.PRNGKey(1), x)
    ours = tap_conv.Conv(outputs, kernel_size=k)
    assert jax.tree.map(jnp.shape, ours.init(jax.random.PRNGKey(1), x)) == jax.tree.map(
        jnp.shape, variables)
    np.testing.assert_allclose(ours.apply(variables, x), flax_layer.apply(variables, x),
                               atol=1e-5)
  with pytest.raises(ValueError, match='kernel_size=4 must be odd'):
    tap_conv.Conv(outputs, kernel_size=4).init(jax.random.PRNGKey(1), x)


def test_materialize_is_the_identity_computed_into_its_own_buffer():
  """models/materialize.py: the value (NaN and infinities included) and its cotangent pass
  unchanged, jitted, vmapped and differentiated; on a CPU the compiled program holds the
  conditional that keeps XLA from fusing the value into its consumers."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gan_jax.models.materialize import materialize  # pylint: disable=g-import-not-at-top
  x = jnp.asarray(np.random.default_rng(5).standard_normal((3, 4, 5)), jnp.float32)
  for value in (x, x.at[0, 0, 0].set(jnp.nan), x.at[0, 0, 0].set(-jnp.inf).at[1].set(jnp.nan)):
    np.testing.assert_array_equal(jax.jit(materialize)(value), value)
    np.testing.assert_array_equal(jax.vmap(materialize)(value), value)
  weights = jnp.arange(x.size, dtype=jnp.float32).reshape(x.shape)
  grad = jax.jit(jax.grad(lambda v: jnp.sum(jnp.sin(materialize(v)) * weights)))(x)
  np.testing.assert_allclose(grad, jnp.cos(x) * weights, rtol=1e-6)
  compiled = jax.jit(lambda v: jnp.transpose(materialize(jax.nn.relu(v)), (2, 1, 0))).lower(
      x).compile().as_text()
  assert ('conditional(' in compiled) == (jax.default_backend() == 'cpu')
  assert jax.jit(materialize)(jnp.zeros((0, 3))).shape == (0, 3)  # Nothing to read a flag from.
