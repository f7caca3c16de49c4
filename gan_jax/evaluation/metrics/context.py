"""What the metrics of one evaluation share: the run's config and training rows, the test split,
and the feature spaces (the FID InceptionV3, the dataset's small classifier), each loaded once
and with every set of samples' outputs cached, so two metrics of one space pay for one pass."""
import functools
from typing import Dict, Optional, Tuple

import numpy as np

from gan_jax import data
from gan_jax import errors
from gan_jax.evaluation import classifier
from gan_jax.evaluation import feature_cache
from gan_jax.evaluation import inception
from gan_jax.evaluation import sampling

SPACES = ('inception', 'classifier')


def inception_weights_missing(eval_config) -> Optional[str]:
  """Why the FID InceptionV3 cannot be loaded (its weights are not configured), or None."""
  if eval_config.inception_weights:
    return None
  return (f'{inception.WEIGHTS_CONFIG_KEY} is not set: the Inception metrics need the FID '
          f'InceptionV3 weights as an .npz; convert pytorch-fid\'s {inception.WEIGHTS_FILE} with '
          '`python -m gan_jax.evaluation.convert_inception_weights --input=PTH --output=NPZ` and '
          f'pass --{inception.WEIGHTS_CONFIG_KEY}=NPZ (or leave the Inception metrics out of '
          'config.eval.metrics)')


def samples_of(space: str, eval_config, reference: bool) -> Tuple[int, int]:
  """(how many, z stream) of the samples scored in `space`: in Inception space the standard
  protocol's own eval.inception_samples (as many real rows for the reference); in classifier
  space the Parzen samples (eval.num_samples; eval.num_reference real rows)."""
  if space == 'inception':
    return eval_config.inception_samples, sampling.INCEPTION
  return (eval_config.num_reference if reference else eval_config.num_samples), sampling.SAMPLES


class FeatureSpace:
  """A network's (posteriors, features) of samples, cached per (samples, num, stream), and the
  features of the test split that FID and KID compare against."""

  def __init__(self, forward, test_images: np.ndarray, extra: Optional[Dict] = None,
               no_posteriors: str = '', real_forward=None):
    self._forward = forward
    # Of real images (test split, reference rows): through the disk cache where there is one.
    self._real_forward = real_forward or forward
    # Why the network gives no class posteriors (so no Inception score), when it gives none.
    self.no_posteriors = no_posteriors
    self._test_images = test_images
    self._test_features = None
    self._cache = {}
    self.extra = extra or {}  # Facts about the space reported with its scores.

  def outputs(self, samples, num: int, stream: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    key = (samples.key, num, stream)
    if key not in self._cache:
      self._cache = {k: v for k, v in self._cache.items() if k[0] == samples.key}  # One model.
      forward = self._real_forward if samples.real else self._forward
      self._cache[key] = forward(samples.take(num, stream))
    return self._cache[key]

  @property
  def test_features(self) -> np.ndarray:
    if self._test_features is None:
      self._test_features = self._real_forward(self._test_images)[1]
    return self._test_features


class Context:
  """Shared by the metrics of one run: built once per evaluation (or training run)."""

  def __init__(self, config, training: np.ndarray):
    self.config, self.training = config, training
    self._test = None
    self._spaces = {}

  def test_split(self) -> np.ndarray:
    if self._test is None:
      self._test = data.load_split(self.config.data, 'test')
      data.check_like_training(self._test, self.training, self.config.data, 'test')
    return self._test

  def space(self, name: str) -> FeatureSpace:
    """The feature space `name` (one of SPACES), loaded on first use."""
    if name not in self._spaces:
      self._spaces[name] = self._load_space(name)
    return self._spaces[name]

  def _load_space(self, name: str) -> FeatureSpace:
    ev = self.config.eval
    if name == 'inception':
      missing = inception_weights_missing(ev)
      if missing:
        raise errors.ConfigError(missing)
      variables = inception.load_variables(ev.inception_weights)
      test = self.test_split()
      test = test[:ev.num_test] if ev.num_test else test
      no_logits = '' if inception.has_logits(variables) else inception.no_logits(
          ev.inception_weights)
      forward = functools.partial(inception.outputs, variables,
                                  preprocessing=ev.inception_preprocessing)
      real_forward = None
      if ev.inception_feature_cache:
        network = (f'inception|{feature_cache.file_digest(ev.inception_weights)}|'
                   f'{ev.inception_preprocessing}')
        real_forward = functools.partial(feature_cache.cached, forward, network=network,
                                         directory=ev.inception_feature_cache,
                                         width=inception.POOL3_DIM)
      return FeatureSpace(forward, data.to_float(np.asarray(test)), no_posteriors=no_logits,
                          real_forward=real_forward)
    if name == 'classifier':
      params, num_classes, accuracy = classifier.get_classifier(self.config.data, ev,
                                                                self.training)
      return FeatureSpace(lambda images: classifier.outputs(params, images, num_classes),
                          data.to_float(np.asarray(self.test_split())),
                          {'classifier_test_accuracy': accuracy})
    raise errors.ConfigError(f'feature space {name!r} is unknown; use one of {list(SPACES)}')
