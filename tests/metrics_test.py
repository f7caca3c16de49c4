"""The metric plug-ins: the registry, config checks, and a new metric added as one class."""
import numpy as np
import pytest

from gan_jax import data
from gan_jax import errors
from gan_jax import evaluate
from gan_jax import train
from gan_jax.evaluation import metrics
from gan_jax.evaluation import sampling
from gan_jax.evaluation.metrics import base
from launch import reproduce
from launch import tables

from conftest import small_config


def test_names_accept_the_comma_separated_flag_form():
  config = small_config()
  config.eval.metrics = ('parzen,kid',)  # What --config.eval.metrics=parzen,kid gives.
  assert metrics.names(config) == ('parzen', 'kid')
  config.eval.metrics = ('parzen', 'classifier')
  assert metrics.names(config) == ('parzen', 'classifier')


@pytest.mark.parametrize('change, fragment', [
    ({'metrics': ('parzen', 'fid_typo')}, "names 'fid_typo', which is unknown"),
    ({'metrics': ('parzen', 'parzen')}, 'names a metric twice'),
    ({'metrics': ('kid',), 'kid_space': 'pixels'}, "config.eval.kid_space='pixels' is unknown"),
    ({'metrics': ('kid',), 'kid_subset_size': 1}, 'config.eval.kid_subset_size=1 must be'),
    ({'metrics': ('precision_recall',), 'pr_k': 0}, 'config.eval.pr_k=0 must be an integer >= 1'),
    ({'metrics': ('density_coverage',), 'dc_space': 'pixels'}, "config.eval.dc_space='pixels'"),
    ({'metrics': ('density_coverage',), 'dc_rows': -1}, 'config.eval.dc_rows=-1 must be'),
    ({'metrics': ('modes',)}, "has 'modes', which needs a mixture"),
    ({'every_steps': -1}, 'config.eval.every_steps=-1'),
    ({'sample_batch_norm': 'train'}, "config.eval.sample_batch_norm='train' is unknown"),
])
def test_each_metric_checks_its_own_keys_in_one_line(change, fragment):
  config = small_config()
  config.eval.update(change)
  with pytest.raises(errors.ConfigError) as info:
    metrics.validate(config)
  assert fragment in str(info.value) and '\n' not in str(info.value)


def test_every_metric_owns_distinct_keys_and_the_inception_ones_name_their_input():
  config = small_config()
  owned = [k for m in metrics.METRICS.values() for k in m.defaults]
  assert len(owned) == len(set(owned)) and set(owned) <= set(config.eval)
  config.eval.metrics = ('parzen', 'kid')
  assert 'config.eval.inception_weights is not set' in metrics.missing_input(config)
  config.eval.kid_space = 'classifier'
  assert metrics.missing_input(config) is None


class _MeanPixel(base.Metric):
  """A metric written for this test: the mean pixel of the samples."""
  name = 'mean_pixel'

  def __call__(self, samples):
    return {'mean': float(np.mean(samples.take(self.config.eval.num_samples)))}

  @staticmethod
  def describe(result):
    return f'mean pixel {result["mean"]:.3f}'

  @staticmethod
  def table_cell(results):
    return f'mean pixel {base.spread([r["mean"] for r in results], None, 3)}'


def test_a_new_metric_is_one_class_and_one_registry_entry(tmp_path, monkeypatch):
  monkeypatch.setitem(metrics.METRICS, _MeanPixel.name, _MeanPixel)
  config, workdir = small_config(num_train_steps=2, checkpoint_every_steps=2), str(tmp_path)
  config.eval.metrics = ('parzen', 'mean_pixel')
  config.eval.num_samples, config.eval.num_validation, config.eval.num_test = 100, 20, 20
  train.train_and_evaluate(config, workdir)
  summary = evaluate.evaluate(config, workdir)
  # The samples' mean, recomputed from the restored G and the same fixed z.
  run = evaluate.Run(config, workdir)
  samples = sampling.generate(run.state(2).generator, sampling.noise(config, 100))
  assert summary['mean_pixel']['mean'] == pytest.approx(float(samples.mean()), rel=1e-6)
  # Its reference is the mean of the held-out real rows, the Parzen reference's rows.
  real = base.RealRows(run.dataset.examples, config.eval.seed).take(100)
  assert summary['reference']['mean_pixel']['mean'] == pytest.approx(float(real.mean()))
  assert abs(summary['reference']['mean_pixel']['mean']
             - float(np.mean(data.to_float(run.dataset.examples)))) < 0.05
  row = tables.Row('digits', 'digits_gan', ('mean_pixel',))
  assert reproduce.format_metrics(row, [{'summary': summary}]) == (
      f'mean pixel {summary["mean_pixel"]["mean"]:.3f}')


def test_a_cell_over_seeds_is_the_mean_and_standard_error():
  """metrics.base.spread: one seed keeps its own uncertainty; several give mean ± std / sqrt(n):
  1, 2, 6 -> 3 ± sqrt(7 / 3) = 3.00 ± 1.53."""
  assert base.spread([1.0], 0.5, 2) == '1.00 ± 0.50'
  assert base.spread([1.0], None, 2) == '1.00'
  assert base.spread([1.0, 2.0, 6.0], None, 2) == '3.00 ± 1.53'
