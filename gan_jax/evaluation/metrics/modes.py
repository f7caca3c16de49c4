"""Mode coverage of the toy mixtures (ring / grid of Gaussians): modes covered, the fraction of
high-quality samples and the KL of the mode histogram from uniform (evaluation/scores.py)."""
from typing import Dict, List

from gan_jax import errors
from gan_jax.data import toy
from gan_jax.evaluation import scores
from gan_jax.evaluation.metrics import base


class Modes(base.Metric):
  """On the Parzen samples (stream 0, config.eval.num_samples of them)."""
  name = 'modes'

  @classmethod
  def validate(cls, config) -> None:
    if not (config.data.source == 'toy' and config.data.name in ('ring', 'grid')):
      raise errors.ConfigError(
          "config.eval.metrics has 'modes', which needs a mixture with known modes "
          "(config.data.source='toy', name 'ring' or 'grid'); drop it for this dataset")

  def __call__(self, samples: base.Samples) -> Dict:
    data_config = self.config.data
    return scores.mode_coverage(samples.take(self.config.eval.num_samples),
                                toy.centres(data_config), data_config.std)

  @staticmethod
  def describe(result: Dict) -> str:
    return (f'{result["modes_covered"]}/{result["num_modes"]} modes, '
            f'{100 * result["high_quality_fraction"]:.1f}% high quality')

  @staticmethod
  def table_cell(results: List[Dict]) -> str:
    return (f'modes {base.spread([r["modes_covered"] for r in results], None, 1)} of '
            f'{results[0]["num_modes"]}, high quality '
            f'{base.spread([100 * r["high_quality_fraction"] for r in results], None, 1)} %')
