"""What a metric is: a class scoring generator samples (and, as the reference, real data in their
place), with the config.eval keys it alone reads, their checks, and how it is reported.

Samples reach a metric as a `Samples` (GeneratedSamples for G, RealRows for the reference):
`samples.take(num, stream)` returns `num` float examples, cached, so metrics asking for the same
images (the Inception score and the KID) share them; `samples.key` names them for caches of
their features.
"""
from typing import Any, ClassVar, Dict, List, Optional

import numpy as np

from gan_jax import data
from gan_jax.evaluation import sampling


class Samples:
  """Float examples [num, ...] on demand; `key` identifies the source (for feature caches);
  `real`: real data, the same for every run of a dataset (their features may be kept on disk)."""
  key: str = ''
  real: bool = False

  def __init__(self):
    self._cache = {}

  def take(self, num: int, stream: int = 0) -> np.ndarray:
    if (num, stream) not in self._cache:
      self._cache[(num, stream)] = self._draw(num, stream)
    return self._cache[(num, stream)]

  def _draw(self, num: int, stream: int) -> np.ndarray:
    raise NotImplementedError


class GeneratedSamples(Samples):
  """G's samples from the fixed z of each stream (gan_jax/evaluation/sampling.py)."""

  def __init__(self, config, g_state, key: str):
    super().__init__()
    self.config, self.g_state, self.key = config, g_state, key

  def _draw(self, num, stream):
    return sampling.generate(self.g_state, sampling.noise(self.config, num, stream),
                             self.config.eval.sample_batch_norm)


class RealRows(Samples):
  """The reference: held-out real training rows in place of G's samples, the first `num` of one
  random order (config.eval.seed) whatever the stream; the Parzen reference's rows too."""
  key = 'reference'
  real = True

  def __init__(self, training: np.ndarray, seed: int):
    super().__init__()
    self.training = training
    self.permutation = np.random.default_rng(seed).permutation(len(training))

  def _draw(self, num, stream):
    del stream
    return data.to_float(np.asarray(self.training[np.sort(self.permutation[:num])]))


class Metric:
  """One metric. Subclasses set `name` (its key in config.eval.metrics and in eval/*.json) and
  `defaults` (the config.eval keys only it reads), and implement __call__."""
  name: ClassVar[str] = ''
  defaults: ClassVar[Dict[str, Any]] = {}
  # A key of the result on which checkpoints are selected (higher is better), or None.
  selection_key: ClassVar[Optional[str]] = None
  # The key of the number a table reports, drawn against epochs in the reproduction report
  # when it is evaluated during training; None: no curve.
  curve_key: ClassVar[Optional[str]] = None

  @classmethod
  def validate(cls, config) -> None:
    """Raises errors.ConfigError (one line) for a bad value of this metric's keys."""

  @classmethod
  def missing_input(cls, config) -> Optional[str]:
    """Why this metric cannot run here (a file it needs is not configured), or None."""
    return None

  def __init__(self, config, context):
    """Loads what the metric needs (through `context`, shared with the other metrics), so that a
    missing input fails before any work."""
    self.config, self.context = config, context

  def __call__(self, samples: Samples) -> Dict:
    raise NotImplementedError

  def reference(self, real: RealRows) -> Dict:
    """The metric of real data in place of G's samples (by default: the same computation)."""
    return self(real)

  @staticmethod
  def describe(result: Dict) -> str:
    """One clause of the evaluation log line."""
    raise NotImplementedError

  @staticmethod
  def scalars(result: Dict) -> Dict[str, float]:
    """The result's numbers as scalars for curves during training: its top-level numbers."""
    return {k: float(v) for k, v in result.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}

  @staticmethod
  def table_cell(results: List[Dict]) -> str:
    """The metric's part of a table cell, over one result per seed."""
    raise NotImplementedError

  @classmethod
  def unlogged(cls, config) -> Dict[str, Any]:
    """The result's fields that table_cell reads and `scalars` does not log during training (a
    progress table rebuilds results from metrics.jsonl), from the config that computed them."""
    del config
    return {}


def spread(values: List[float], within: Optional[float], digits: int) -> str:
  """One seed: value ± its within-run uncertainty; several: mean ± s.e. over seeds (sample std
  / sqrt(seeds)), the tables' one convention across seeds."""
  if len(values) == 1:
    return f'{values[0]:.{digits}f}' + (f' ± {within:.{digits}f}' if within is not None else '')
  stderr = np.std(values, ddof=1) / np.sqrt(len(values))
  return f'{np.mean(values):.{digits}f} ± {stderr:.{digits}f}'
