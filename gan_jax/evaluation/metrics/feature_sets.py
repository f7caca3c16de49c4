"""The metrics that compare two sets of features in one space (config.eval.<prefix>_space: the
FID InceptionV3 or the dataset's classifier): G's samples, or for the reference the held-out
real rows, against the test split. KID, precision and recall, density and coverage are each a
`compare` of the two sets; this class loads the space, draws the samples that space's IS / FID
score (context.samples_of: one pass of the network for all of them) and checks the keys."""
from typing import Any, ClassVar, Dict, List, Tuple

import numpy as np

from gan_jax import errors
from gan_jax.evaluation.metrics import base
from gan_jax.evaluation.metrics import context as context_lib
from gan_jax.evaluation.metrics import feature_scores


class FeatureSetMetric(base.Metric):
  prefix: ClassVar[str] = ''  # Its config.eval keys begin '<prefix>_': <prefix>_space, ...
  # Its integer keys with their least value, checked by `validate`.
  minimums: ClassVar[Dict[str, int]] = {}

  @classmethod
  def space_of(cls, config) -> str:
    return config.eval[f'{cls.prefix}_space']

  @classmethod
  def unlogged(cls, config) -> Dict[str, Any]:
    return {'space': cls.space_of(config)}

  @classmethod
  def validate(cls, config) -> None:
    ev, space = config.eval, cls.space_of(config)
    if space not in context_lib.SPACES:
      raise errors.ConfigError(f'config.eval.{cls.prefix}_space={space!r} is unknown; use one of '
                               f'{list(context_lib.SPACES)}')
    if space == 'inception':  # The Inception metric's samples and preprocessing.
      feature_scores.Inception.validate(config)
    for key, least in cls.minimums.items():
      if not (isinstance(ev[key], int) and not isinstance(ev[key], bool) and ev[key] >= least):
        raise errors.ConfigError(f'config.eval.{key}={ev[key]!r} must be an integer >= {least}')

  @classmethod
  def missing_input(cls, config):
    if cls.space_of(config) == 'inception':
      return context_lib.inception_weights_missing(config.eval)
    return None

  def __init__(self, config, context):
    super().__init__(config, context)
    self.space = self.space_of(config)
    self.features = context.space(self.space)

  def __call__(self, samples: base.Samples) -> Dict:
    return self._score(samples, reference=False)

  def reference(self, real: base.RealRows) -> Dict:
    return self._score(real, reference=True)

  def _score(self, samples: base.Samples, reference: bool) -> Dict:
    _, features = self.features.outputs(
        samples, *context_lib.samples_of(self.space, self.config.eval, reference))
    return {**self.compare(features, self.features.test_features), 'space': self.space,
            'num_samples': len(features)}

  def compare(self, features: np.ndarray, test_features: np.ndarray) -> Dict[str, Any]:
    """The metric of G's (or the reference's) features against the test split's."""
    raise NotImplementedError


class NeighbourBalls(FeatureSetMetric):
  """Two fractions from the k-NN balls of the sets (nearest_neighbours.py), on the first
  config.eval.<prefix>_rows vectors of each set with k = config.eval.<prefix>_k."""
  keys: ClassVar[Tuple[str, str]] = ('', '')  # The two numbers' names in the result.

  @staticmethod
  def measure(real: np.ndarray, fake: np.ndarray, k: int) -> Dict[str, float]:
    raise NotImplementedError

  def compare(self, features, test_features) -> Dict:
    ev = self.config.eval
    k = ev[f'{self.prefix}_k']
    rows = min(ev[f'{self.prefix}_rows'], len(features), len(test_features))
    if rows <= k:
      raise errors.ConfigError(
          f'config.eval.{self.prefix}_k={k} needs more than {k} vectors in each set; there are '
          f'{len(features)} samples and {len(test_features)} test rows: lower it or score more')
    return {**self.measure(test_features[:rows], features[:rows], k), 'k': k, 'rows': rows}

  @classmethod
  def describe(cls, result: Dict) -> str:
    first, second = cls.keys
    return (f'{first} {result[first]:.3f}, {second} {result[second]:.3f} '
            f'({result["space"]}, k={result["k"]})')

  @classmethod
  def table_cell(cls, results: List[Dict]) -> str:
    """'P 0.712, R 0.634 (inception)': each number's initial, mean ± s.e. over seeds."""
    return ', '.join(f'{key[0].upper()} {base.spread([r[key] for r in results], None, 3)}'
                     for key in cls.keys) + f' ({results[0]["space"]})'
