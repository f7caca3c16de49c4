"""Our Radford G and D against a numpy transcription of the release's operations (Newmu/
dcgan_code: Theano's dnn_conv, its `deconv` = the gradient of dnn_conv with respect to its
input, lib/ops.py's batchnorm with e = 1e-8, NCHW maps, data and tanh on [-1, 1]), with the
release's weights taken from ours by a plain transpose of each array."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import models
from gan_jax.models import radford

RELEASE_E = 1e-8


def _true_conv(x, w, stride):
  """dnn_conv(x, w, subsample=(stride, stride), border_mode=(1, 1)), conv_mode 'conv': x [N, C,
  H, W], w [out, in, 3, 3]; y[p, j] = sum_{q, t} x[q, stride * j + t - 1] w[p, q, 2 - t]."""
  n, _, height, width = x.shape
  padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
  out_h, out_w = (height - 1) // stride + 1, (width - 1) // stride + 1
  y = np.zeros((n, w.shape[0], out_h, out_w))
  for th in range(3):
    for tw in range(3):
      window = padded[:, :, th:th + stride * out_h:stride, tw:tw + stride * out_w:stride]
      y += np.einsum('nqhw,pq->nphw', window, w[:, :, 2 - th, 2 - tw])
  return y


def _deconv(y, w, stride):
  """The release's deconv(y, w, subsample, border_mode=(1, 1)): the adjoint of _true_conv (w
  [channels of y, channels out, 3, 3]), written as its scatter: each y[p, j] adds
  y[p, j] w[p, q, 2 - t] to x[q, stride * j + t - 1]."""
  n, _, height, width = y.shape
  out = np.zeros((n, w.shape[1], stride * height + 2, stride * width + 2))  # Padded by 1.
  for th in range(3):
    for tw in range(3):
      out[:, :, th:th + stride * height:stride, tw:tw + stride * width:stride] += np.einsum(
          'nphw,pq->nqhw', y, w[:, :, 2 - th, 2 - tw])
  return out[:, :, 1:1 + stride * height, 1:1 + stride * width]


def _batchnorm(x, g, b):
  """lib/ops.py batchnorm: batch mean and (biased) variance over all axes but channels."""
  axes = (0,) if x.ndim == 2 else (0, 2, 3)
  shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
  u = x.mean(axis=axes, keepdims=True)
  s = ((x - u) ** 2).mean(axis=axes, keepdims=True)
  return (x - u) / np.sqrt(s + RELEASE_E) * g.reshape(shape) + b.reshape(shape)


def _relu(x):
  return np.maximum(x, 0)


def _lrelu(x):
  return np.where(x > 0, x, 0.2 * x)


def _release_generator(p, z, c, side):
  h = _relu(_batchnorm(z @ p['project']['kernel'], p['project_bn']['scale'],
                       p['project_bn']['bias']))
  h = h.reshape(len(z), 4 * c, side, side)
  for i, stride in enumerate((2, 1, 2, 1, 2)):
    w = p[f'deconv_{i}']['kernel'].transpose(2, 3, 0, 1)  # The plain transpose.
    h = _deconv(h, w, stride) if stride == 2 else _stride1_deconv(h, w)
    h = _relu(_batchnorm(h, p[f'deconv_{i}_bn']['scale'], p[f'deconv_{i}_bn']['bias']))
  return np.tanh(_stride1_deconv(h, p['output']['kernel'].transpose(2, 3, 0, 1)))


def _stride1_deconv(h, w):
  return _deconv(h, w, 1)


def _release_discriminator(p, x):
  h = x
  for i, stride in enumerate((1, 2, 1, 2, 1, 2)):
    h = _true_conv(h, p[f'conv_{i}']['kernel'].transpose(3, 2, 0, 1), stride)
    if i > 0:
      h = _batchnorm(h, p[f'conv_{i}_bn']['scale'], p[f'conv_{i}_bn']['bias'])
    h = _lrelu(h)
  features = h.reshape(len(h), -1)  # T.flatten(h, 2) of NCHW maps.
  return features @ p['output']['kernel'][:, 0], features


def _perturbed(params, seed):
  """Every parameter random (batch norm's scale and offset too, so that they are checked)."""
  leaves, tree = jax.tree.flatten(params)
  rng = np.random.default_rng(seed)
  return jax.tree.unflatten(tree, [np.asarray(l) + 0.3 * rng.standard_normal(l.shape)
                                   for l in leaves])


@pytest.mark.parametrize('side', [32, pytest.param(48, marks=pytest.mark.slow)])
def test_generator_and_discriminator_equal_the_release_transcribed(side):
  c, n, z_dim = 4, 5, 7
  g_config = {'name': 'radford', 'base_channels': c, 'output_activation': 'tanh',
              'layout': 'release', 'batch_norm_epsilon': RELEASE_E}
  d_config = {'name': 'radford', 'base_channels': c, 'layout': 'release',
              'batch_norm_epsilon': RELEASE_E}
  g = models.build_generator(g_config, (side, side, 3))
  d = models.build_discriminator(d_config, generator_config=g_config)
  assert d.input_range == (-1.0, 1.0)  # Declared by G's tanh.
  rng = np.random.default_rng(0)
  z = rng.standard_normal((n, z_dim)).astype(np.float32)
  x01 = rng.uniform(size=(n, side, side, 3)).astype(np.float32)  # gan_jax's images, [0, 1].
  g_params = _perturbed(g.init(jax.random.PRNGKey(0), jnp.zeros((1, z_dim)))['params'], 1)
  d_params = _perturbed(d.init(jax.random.PRNGKey(1), jnp.zeros((1, side, side, 3)))['params'], 2)

  ours, _ = g.apply({'params': g_params, 'batch_stats': _stats(g, z_dim)}, z, train=True,
                    mutable=['batch_stats'])
  release = _release_generator(jax.tree.map(np.float64, g_params), z.astype(np.float64), c,
                               side // 8)
  # G returns the release's tanh image mapped to [0, 1].
  np.testing.assert_allclose(2 * np.asarray(ours) - 1, release.transpose(0, 2, 3, 1), atol=2e-5)

  (logit, features), _ = d.apply({'params': d_params, 'batch_stats': _stats(d, side)}, x01,
                                 train=True, mutable=['batch_stats'])
  release_logit, release_features = _release_discriminator(
      jax.tree.map(np.float64, d_params), (2 * x01.astype(np.float64) - 1).transpose(0, 3, 1, 2))
  np.testing.assert_allclose(features, release_features, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(logit, release_logit, rtol=1e-4, atol=1e-4)


def _stats(module, size):
  shape = (1, size) if isinstance(module, radford.RadfordGenerator) else (1, size, size, 3)
  return module.init(jax.random.PRNGKey(0), jnp.zeros(shape))['batch_stats']


def test_the_flax_layout_is_the_release_turned_by_180_degrees():
  """Runs made before: flax's padding; the same weights on the image turned by 180 degrees give
  the release's maps turned by 180 degrees (the audit's finding, kept for old workdirs)."""
  c, side = 4, 32
  release = radford.RadfordDiscriminator(base_channels=c, layout='release')
  flax = radford.RadfordDiscriminator(base_channels=c, layout='flax')
  x = np.random.default_rng(3).uniform(size=(2, side, side, 3)).astype(np.float32)
  variables = release.init(jax.random.PRNGKey(0), x, train=False)
  # The flax layout correlates where the release convolves: its kernels are the release's flipped.
  flipped = jax.tree_util.tree_map_with_path(
      lambda path, v: v[::-1, ::-1] if v.ndim == 4 else v, variables)
  _, features = release.apply(variables, x, train=False)
  _, turned = flax.apply(flipped, x[:, ::-1, ::-1], train=False)
  maps = lambda f, layout: (f.reshape(2, 4 * c, 4, 4).transpose(0, 2, 3, 1) if layout == 'release'
                            else f.reshape(2, 4, 4, 4 * c))
  np.testing.assert_allclose(maps(turned, 'flax')[:, ::-1, ::-1], maps(features, 'release'),
                             atol=1e-5)


def test_a_workdir_of_the_networks_before_the_release_reads_as_it_was_made():
  """Its config.json: a sigmoid G, and no layout or batch_norm_epsilon (they did not exist)."""
  from experiments import cifar10_dcgan  # pylint: disable=g-import-not-at-top
  from gan_jax import workdir  # pylint: disable=g-import-not-at-top
  new = cifar10_dcgan.get_config()
  saved = workdir.as_dict(new)
  for role in ('generator', 'discriminator'):
    del saved[role]['layout'], saved[role]['batch_norm_epsilon']
  saved['generator']['output_activation'] = 'sigmoid'
  # The experiment as it is now is another run for it, named key by key.
  assert workdir.differing_keys(saved, new) == [
      'discriminator.batch_norm_epsilon', 'discriminator.layout',
      'generator.batch_norm_epsilon', 'generator.layout', 'generator.output_activation']
  # With the values it was made with, it is the same run: built as then, D on [0, 1].
  old = cifar10_dcgan.get_config()
  old.generator.output_activation = 'sigmoid'
  for role in ('generator', 'discriminator'):
    old[role].layout, old[role].batch_norm_epsilon = 'flax', 1e-5
  assert workdir.differing_keys(saved, old) == []
  d = models.build_discriminator(old.discriminator, generator_config=old.generator)
  assert (d.input_range, d.layout, d.batch_norm_epsilon) == ((0.0, 1.0), 'flax', 1e-5)
