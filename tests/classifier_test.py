import numpy as np
import pytest

from gan_jax import data
from gan_jax import errors
from gan_jax.evaluation import classifier
from gan_jax.evaluation import metrics as metrics_lib
from gan_jax.evaluation.metrics import base as metrics_base
from experiments import digits_gan


@pytest.fixture(scope='module')
def digits_classifier(tmp_path_factory):
  config = digits_gan.get_config()
  config.eval.classifier_dir = str(tmp_path_factory.mktemp('classifiers'))
  config.eval.classifier_steps = 1500
  return config, classifier.get_classifier(config.data, config.eval)


def test_classifier_learns_the_digits_and_is_cached(digits_classifier):
  config, (params, num_classes, accuracy) = digits_classifier
  assert num_classes == 10 and accuracy > 0.9
  again = classifier.get_classifier(config.data, config.eval)  # From the .npz cache.
  test = data.to_float(data.load_split(config.data, 'test'))
  np.testing.assert_allclose(classifier.outputs(again[0], test, 10)[0],
                             classifier.outputs(params, test, 10)[0], rtol=1e-6)
  assert again[2] == pytest.approx(accuracy)


class _Images(metrics_base.Samples):
  """Fixed images in place of G's samples."""

  def __init__(self, images, key):
    super().__init__()
    self.images, self.key = images, key

  def _draw(self, num, stream):
    return self.images[:num]


def test_classifier_metrics_separate_real_digits_from_noise(digits_classifier):
  """The classifier-space IS / FID and KID, through the metric plug-ins as --mode=eval runs them."""
  config, _ = digits_classifier
  config.eval.metrics, config.eval.kid_space = ('classifier', 'kid'), 'classifier'
  train_examples = data.load_split(config.data, 'train')
  train = data.to_float(train_examples)
  config.eval.num_samples, config.eval.num_splits = len(train), 4
  noise = np.random.default_rng(0).random(train.shape).astype(np.float32)
  metrics = metrics_lib.build(config, metrics_lib.Context(config, train_examples))
  real = metrics_lib.run(metrics, _Images(train, 'real'))
  fake = metrics_lib.run(metrics, _Images(noise, 'noise'))
  assert real['classifier']['is_mean'] > 6 > fake['classifier']['is_mean']
  assert real['classifier']['fid'] < fake['classifier']['fid'] / 5
  assert abs(real['kid']['kid']) < fake['kid']['kid'] / 20
  assert real['classifier']['classifier_test_accuracy'] > 0.9


def test_unreadable_weights_are_a_clear_error(tmp_path):
  path = tmp_path / 'bad.npz'
  path.write_bytes(b'not an npz')
  with pytest.raises(errors.CheckpointError, match='delete the file to retrain'):
    classifier.load(str(path))
