"""Inception score (Salimans et al., 2016) and FID (Heusel et al., 2017) in a feature space: the
FID InceptionV3 (`inception`, the metric of Warde-Farley & Bengio, 2017, Tables 1-3) or a small
classifier trained on the dataset's labels (`classifier`, offline). FID is against the test split,
or in Inception space against published statistics (config.eval.fid_reference_stats).
"""
import os
from typing import Dict, List, Optional

from gan_jax import errors
from gan_jax.evaluation import inception
from gan_jax.evaluation import inception_preprocess
from gan_jax.evaluation import reference_stats
from gan_jax.evaluation import scores
from gan_jax.evaluation.metrics import base
from gan_jax.evaluation.metrics import context as context_lib


class _FeatureScores(base.Metric):
  space = ''
  label = ''

  TEST_SPLIT = 'test split'  # What FID is against when no published statistics are given.

  def __init__(self, config, context):
    super().__init__(config, context)
    self.features = context.space(self.space)
    self.fid_reference, self.stats = self.TEST_SPLIT, None

  def __call__(self, samples: base.Samples) -> Dict:
    return self._score(samples, reference=False)

  def reference(self, real: base.RealRows) -> Dict:
    return self._score(real, reference=True)

  def _score(self, samples: base.Samples, reference: bool) -> Dict:
    probs, features = self.features.outputs(
        samples, *context_lib.samples_of(self.space, self.config.eval, reference))
    if self.stats is None:
      fid = scores.feature_frechet_distance(features, self.features.test_features)
    else:  # Published statistics: the samples' Gaussian against theirs.
      fid = scores.frechet_distance(*scores.gaussian_statistics(features), *self.stats)
    result = {'fid': fid, 'fid_reference': self.fid_reference, 'num_samples': len(features),
              **self.features.extra}
    if probs is None:  # Weights up to pool3 only: FID, and no IS.
      return {**result, 'is_not_computed': self.features.no_posteriors}
    is_mean, is_std = scores.inception_score(probs, self.config.eval.num_splits)
    return {'is_mean': is_mean, 'is_std': is_std, **result}

  @classmethod
  def _against(cls, result: Dict) -> str:
    """' vs NAME.npz' for FID against published statistics (results before the key: the test
    split)."""
    reference = result.get('fid_reference', cls.TEST_SPLIT)
    return '' if reference == cls.TEST_SPLIT else f' vs {reference}'

  @classmethod
  def describe(cls, result: Dict) -> str:
    fid = f'FID{cls._against(result)} {result["fid"]:.2f}'
    if 'is_mean' not in result:
      return f'{cls.name} {fid} (IS not computed: {result["is_not_computed"]})'
    return f'{cls.name} IS {result["is_mean"]:.2f} ± {result["is_std"]:.2f}, {fid}'

  @classmethod
  def table_cell(cls, results: List[Dict]) -> str:
    fid = f'FID{cls._against(results[0])} {base.spread([r["fid"] for r in results], None, 2)}'
    if any('is_mean' not in r for r in results):
      return f'{cls.name} {fid} (pool3-only weights: no IS)'
    return (f'{cls.label} {base.spread([r["is_mean"] for r in results], results[0]["is_std"], 2)}'
            f', {fid}')


class Inception(_FeatureScores):
  """With its own z: the standard protocol's 50,000 samples, 10 splits of 5,000."""
  name = 'inception'
  space = 'inception'
  label = 'IS'
  defaults = dict(
      # The weights: an .npz made by `python -m gan_jax.evaluation.convert_inception_weights`.
      inception_weights='',
      inception_samples=50_000,
      # How images reach the network (evaluation/inception.py): 'tf1', as the published scores
      # were computed (uint8, TF1's legacy bilinear resize, (x - 128) / 128), or 'pytorch_fid'.
      inception_preprocessing='tf1',
      # The Inception outputs of real images (test split, reference rows), kept on disk by the
      # weights' and the images' sha256 (evaluation/feature_cache.py), so a table's runs pay for
      # them once; '' to compute them every time.
      inception_feature_cache='~/.cache/gan_jax/inception_features',
      # FID against published statistics: an .npz with mu [2048] and sigma [2048, 2048] (TTUR's
      # fid_stats_cifar10_train.npz, ...; evaluation/reference_stats.py); '': the test split.
      fid_reference_stats='',
  )

  def __init__(self, config, context):
    super().__init__(config, context)
    path: Optional[str] = config.eval.fid_reference_stats
    if path:
      self.stats = reference_stats.load(path, inception.POOL3_DIM)
      self.fid_reference = os.path.basename(path)

  @classmethod
  def validate(cls, config) -> None:
    ev = config.eval
    errors.require(ev.inception_preprocessing in inception_preprocess.PREPROCESSING,
                   f'config.eval.inception_preprocessing={ev.inception_preprocessing!r} is unknown;'
                   f' use one of {list(inception_preprocess.PREPROCESSING)}')
    if not (isinstance(ev.inception_samples, int) and ev.inception_samples >= ev.num_splits):
      raise errors.ConfigError(
          f'config.eval.inception_samples={ev.inception_samples!r} must be an integer of at '
          f'least config.eval.num_splits={ev.num_splits} (one sample per split)')

  @classmethod
  def missing_input(cls, config):
    return context_lib.inception_weights_missing(config.eval)


class Classifier(_FeatureScores):
  """On the Parzen samples: offline IS and FID; the classifier's accuracy on the test split is
  reported with them."""
  name = 'classifier'
  space = 'classifier'
  label = 'classifier IS'
  defaults = dict(
      classifier_dir='',  # Its cache ('': ~/.cache/gan_jax/classifiers).
      classifier_steps=2000,
  )

  @classmethod
  def validate(cls, config) -> None:
    ev = config.eval
    if not (isinstance(ev.classifier_steps, int) and ev.classifier_steps > 0):
      raise errors.ConfigError(f'config.eval.classifier_steps={ev.classifier_steps!r} must be a '
                               'positive integer')
    if ev.num_samples < ev.num_splits:
      raise errors.ConfigError(f'config.eval.num_samples={ev.num_samples} must be at least '
                               f'config.eval.num_splits={ev.num_splits} (one sample per split)')
