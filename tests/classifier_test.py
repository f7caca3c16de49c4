import numpy as np
import pytest

from gan_jax import data
from gan_jax import errors
from gan_jax.evaluation import classifier
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


def test_classifier_scores_separate_real_digits_from_noise(digits_classifier):
  config, (params, num_classes, _) = digits_classifier
  test = data.to_float(data.load_split(config.data, 'test'))
  train = data.to_float(data.load_split(config.data, 'train'))
  noise = np.random.default_rng(0).random(train.shape).astype(np.float32)
  real = classifier.classifier_scores(params, num_classes, train, test, num_splits=4)
  fake = classifier.classifier_scores(params, num_classes, noise, test, num_splits=4)
  assert real['is_mean'] > 6 > fake['is_mean']
  assert real['fid'] < fake['fid'] / 5


def test_unreadable_weights_are_a_clear_error(tmp_path):
  path = tmp_path / 'bad.npz'
  path.write_bytes(b'not an npz')
  with pytest.raises(errors.CheckpointError, match='delete the file to retrain'):
    classifier.load(str(path))
