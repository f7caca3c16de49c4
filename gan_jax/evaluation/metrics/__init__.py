"""The evaluation metrics, selected by name in config.eval.metrics.

A metric is one class (gan_jax/evaluation/metrics/base.py): it declares the config.eval keys only
it reads, checks them, loads what it needs, scores G's samples and real data in their place, and
says how it is logged and tabled. --mode=eval (gan_jax/evaluate.py), the evaluations during
training (config.eval.every_steps), model selection and launch's tables loop over what is
configured. To add one: a module here with a base.Metric subclass, and its entry in METRICS.
"""
from typing import Dict, Optional, Tuple

import ml_collections

from gan_jax import errors
from gan_jax.evaluation import sampling
from gan_jax.evaluation.metrics import base
from gan_jax.evaluation.metrics import context as context_lib
from gan_jax.evaluation.metrics import density_coverage
from gan_jax.evaluation.metrics import feature_scores
from gan_jax.evaluation.metrics import kid
from gan_jax.evaluation.metrics import modes
from gan_jax.evaluation.metrics import parzen
from gan_jax.evaluation.metrics import precision_recall

METRICS = {m.name: m for m in (parzen.Parzen, feature_scores.Inception,
                               feature_scores.Classifier, modes.Modes, kid.KID,
                               precision_recall.PrecisionRecall,
                               density_coverage.DensityCoverage)}

Context = context_lib.Context


def default_config() -> ml_collections.ConfigDict:
  """config.eval: the keys every metric shares, then each metric's own."""
  config = ml_collections.ConfigDict(dict(
      metrics=('parzen',),  # Names from METRICS, computed for each checkpoint evaluated.
      # Also during training, every this many steps (TensorBoard curves, metrics.jsonl keys
      # 'eval/<metric>/<name>'); 0: only --mode=eval. Checkpoints are selected by --mode=eval.
      every_steps=0,
      seed=1234,  # z of the evaluation samples and choice of the reference rows.
      num_samples=10_000,  # G's samples: the Parzen centres; also classifier scores and modes.
      num_test=0,  # First rows of the test split (0: the whole split).
      num_reference=10_000,  # Held-out real training rows in place of samples: the reference.
      num_splits=10,  # Inception scores: mean ± std over this many equal splits of the samples.
      # Batch norm in G while sampling for scores and figures: 'batch' (the statistics of each
      # batch of generated samples, as the original DCGAN / improved-GAN code scored them) or
      # 'running' (the running averages); gan_jax/evaluation/sampling.py.
      sample_batch_norm='batch',
  ))
  for metric in METRICS.values():
    for key, value in metric.defaults.items():
      assert key not in config, f'{metric.name}: config.eval.{key} is already another\'s key'
      config[key] = value
  return config


def names(config) -> Tuple[str, ...]:
  """The metric names of config.eval.metrics; an entry may hold several, comma-separated, as
  `--config.eval.metrics=parzen,kid` gives ('parzen,kid',)."""
  return tuple(n.strip() for entry in config.eval.metrics for n in str(entry).split(',')
               if n.strip())


def get(name: str):
  if name not in METRICS:
    raise errors.ConfigError(f'config.eval.metrics names {name!r}, which is unknown; use some of '
                             f'{sorted(METRICS)}')
  return METRICS[name]


def validate(config) -> None:
  """The shared keys, then each configured metric's own."""
  ev = config.eval
  configured = names(config)
  if len(set(configured)) != len(configured):
    raise errors.ConfigError(f'config.eval.metrics={configured} names a metric twice')
  for key in ('num_test', 'num_reference'):
    if not (isinstance(ev[key], int) and ev[key] >= 0):
      raise errors.ConfigError(f'config.eval.{key}={ev[key]!r} must be an integer >= 0 (0: the '
                               'whole split)')
  errors.require(isinstance(ev.seed, int) and 0 <= ev.seed < 2**32,
                 f'config.eval.seed={ev.seed!r} must be an integer in [0, 2**32)')
  for key in ('num_splits', 'num_samples'):
    if not (isinstance(ev[key], int) and ev[key] > 0):
      raise errors.ConfigError(f'config.eval.{key}={ev[key]!r} must be a positive integer')
  if ev.sample_batch_norm not in sampling.BATCH_NORM_MODES:
    raise errors.ConfigError(f'config.eval.sample_batch_norm={ev.sample_batch_norm!r} is unknown; '
                             f'use one of {list(sampling.BATCH_NORM_MODES)}')
  if not (isinstance(ev.every_steps, int) and ev.every_steps >= 0):
    raise errors.ConfigError(f'config.eval.every_steps={ev.every_steps!r} must be an integer >= 0 '
                             '(0: evaluate only with --mode=eval)')
  for name in configured:
    get(name).validate(config)


def missing_input(config) -> Optional[str]:
  """Why a configured metric cannot run (an input not configured), or None."""
  for name in names(config):
    missing = get(name).missing_input(config)
    if missing:
      return missing
  return None


def build(config, context: context_lib.Context) -> Dict[str, base.Metric]:
  """The configured metrics, each with its inputs loaded (a missing one fails here)."""
  missing = missing_input(config)
  if missing:
    raise errors.ConfigError(missing)
  return {name: get(name)(config, context) for name in names(config)}


def run(metrics: Dict[str, base.Metric], samples: base.Samples,
        reference: bool = False) -> Dict[str, Dict]:
  """{metric name: its result} of `samples` (G's, or real rows for the reference)."""
  return {name: metric.reference(samples) if reference else metric(samples)
          for name, metric in metrics.items()}


def describe(results: Dict[str, Dict]) -> str:
  """The log line of one evaluation: each metric's clause."""
  return '; '.join(get(name).describe(result) for name, result in results.items())


def selection_key(config) -> Optional[tuple]:
  """(metric, key) on which checkpoints are selected: the first configured metric that has one
  (the Parzen validation LL); None selects the newest checkpoint."""
  for name in names(config):
    if get(name).selection_key:
      return name, get(name).selection_key
  return None


def scalars(results: Dict[str, Dict]) -> Dict[str, float]:
  """'eval/<metric>/<name>': every number of every metric's result, for curves."""
  return {f'eval/{name}/{key}': value for name, result in results.items()
          for key, value in get(name).scalars(result).items()}
