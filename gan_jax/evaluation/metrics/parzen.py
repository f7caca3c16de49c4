"""Parzen-window log-likelihood of test data under G's samples (Goodfellow et al., 2014, §5 and
Table 1; Breuleux et al., 2011): the protocol of gan_jax/evaluation/protocols.py. Its validation
LL selects the checkpoint (the 2014 paper's model selection)."""
from typing import Dict, List

import numpy as np

from gan_jax import errors
from gan_jax.evaluation import protocols
from gan_jax.evaluation.metrics import base


class Parzen(base.Metric):
  name = 'parzen'
  defaults = dict(
      protocol='holdout',  # or 'tfd_folds'.
      sigmas=tuple(float(s) for s in np.logspace(-1, 0, 10)),  # The released grid.
      refine_sigma=False,  # A finer second pass around the best σ of the grid.
      num_validation=1000,  # First rows of the validation split (the released code: 1,000).
      folds=(0, 1, 2, 3, 4),  # tfd_folds only.
  )
  selection_key = 'validation_ll'
  curve_key = 'test_ll'

  @classmethod
  def validate(cls, config) -> None:
    ev = config.eval
    errors.require(ev.protocol in protocols.PROTOCOLS, f'config.eval.protocol={ev.protocol!r} is '
             f'unknown; use one of {list(protocols.PROTOCOLS)}')
    errors.require(len(ev.sigmas) > 0 and all(
        isinstance(s, (int, float)) and 0 < s < float('inf') for s in ev.sigmas),
             f'config.eval.sigmas={tuple(ev.sigmas)} must be a non-empty grid of finite widths > 0')
    errors.require(isinstance(ev.num_validation, int) and ev.num_validation >= 0,
             f'config.eval.num_validation={ev.num_validation!r} must be an integer >= 0 (0: the '
             'whole split)')
    if ev.protocol == 'tfd_folds':
      errors.require(len(ev.folds) > 1 and all(0 <= f < 5 for f in ev.folds),
               f'config.eval.folds={tuple(ev.folds)} must name at least two TFD folds in 0..4')
    if ev.protocol == 'holdout':
      errors.require(config.data.get('num_validation', 1) != 0,
               "config.eval.metrics has 'parzen', which needs validation rows to choose σ, but "
               'config.data.num_validation=0; hold some out or drop parzen from '
               'config.eval.metrics')

  def __init__(self, config, context):
    super().__init__(config, context)
    self.sets = protocols.load_sets(config, context.training)

  def __call__(self, samples: base.Samples) -> Dict:
    centres = samples.take(self.config.eval.num_samples)  # G's samples as the centres.
    return {'protocol': self.config.eval.protocol,
            **protocols.evaluate(lambda _: centres, self.sets, self.config.eval)}

  def reference(self, real: base.RealRows) -> Dict:
    del real  # Each set (TFD fold) has its own held-out training rows.
    return {'protocol': self.config.eval.protocol,
            **protocols.evaluate(lambda s: s.reference, self.sets, self.config.eval)}

  @staticmethod
  def sigmas(result: Dict) -> Dict[str, float]:
    """The σ chosen on validation rows: 'sigma' for one set, 'sigma/<fold>' for each TFD fold.
    A jump of the test s.e. along a curve is most often σ moving to the next width of the grid."""
    sets = result['sets']
    if len(sets) == 1:
      return {'sigma': float(sets[0]['sigma'])}
    return {f'sigma/{s["name"]}': float(s['sigma']) for s in sets}

  @classmethod
  def scalars(cls, result: Dict) -> Dict[str, float]:
    return {**base.Metric.scalars(result), **cls.sigmas(result)}

  @classmethod
  def describe(cls, result: Dict) -> str:
    sigmas = ', '.join(f'{s:.3g}' for s in cls.sigmas(result).values())
    return (f'validation LL {result["validation_ll"]:.2f}, test LL {result["test_ll"]:.2f} ± '
            f'{result["test_stderr"]:.2f} (σ {sigmas})')

  @staticmethod
  def table_cell(results: List[Dict]) -> str:
    """One seed: test LL ± s.e. over test examples. Several: the mean over seeds ± the s.e.
    across seeds (std / sqrt(seeds)), then each seed's LL ± s.e."""
    means = [r['test_ll'] for r in results]
    stderrs = [r['test_stderr'] for r in results]
    if len(means) == 1:
      return f'Parzen LL {means[0]:.2f} ± {stderrs[0]:.2f}'
    across = np.std(means, ddof=1) / np.sqrt(len(means))
    per_seed = ', '.join(f'{m:.2f} ± {s:.2f}' for m, s in zip(means, stderrs))
    return (f'Parzen LL {np.mean(means):.2f} ± {across:.2f} (s.e. across {len(means)} seeds; '
            f'per seed: {per_seed})')

