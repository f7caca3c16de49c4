"""launch/report.py: the row figures hold exactly the logged curves and the published band."""
import json
import os

import numpy as np
import pytest

from launch import report
from launch import tables


def test_published_values_are_parsed():
  assert report.parse_published('225 ± 2') == (225.0, 2.0)
  assert report.parse_published('7.72 ± .13') == (7.72, 0.13)
  assert report.parse_published('2057 ± 26') == (2057.0, 26.0)
  assert report.parse_published('11.24') is None
  assert report.parse_published('not in the paper') is None


def _run(tmp_path, seed, steps_per_epoch, values, selected, torn=False, training=False):
  """A run's workdir: stopped (its stop.json gives the epochs), or `training` (no stop.json yet;
  its records' `epoch` do)."""
  workdir = tmp_path / f'seed={seed}'
  os.makedirs(workdir)
  with open(workdir / 'metrics.jsonl', 'w') as f:
    for step, value in values:
      epoch = {'epoch': step / steps_per_epoch} if training else {}
      f.write(json.dumps({'step': step, 'd_loss': 1.0, **epoch}) + '\n')  # Without the key.
      f.write(json.dumps({'step': step, 'eval/parzen/test_ll': value,
                          'eval/parzen/validation_ll': value - 3}) + '\n')
    if torn:
      f.write('{"step": 99999, "eval/parzen/te')
  last = values[-1][0]
  if not training:
    with open(workdir / 'stop.json', 'w') as f:
      json.dump({'step': last, 'epoch': last / steps_per_epoch, 'stopped_by': 'early_stopping',
                 'reason': 'test'}, f)
  summary = {'selected_step': selected, 'parzen': {'test_ll': dict(values)[selected]},
             'reference': {'parzen': {'test_ll': 240.5}}}
  return {'workdir': str(workdir), 'seed': seed, 'summary': summary}


def test_row_figure_plots_the_logged_values_band_reference_and_selection(tmp_path):
  runs = [_run(tmp_path, 0, 500, [(5000, 100.0), (10000, 150.0), (15000, 149.0)], 10000),
          _run(tmp_path, 1, 500, [(5000, 90.0), (10000, 120.0), (15000, 160.5), (20000, 158.0)],
               15000, torn=True),
          _run(tmp_path, 2, 250, [(5000, 80.0), (10000, 110.0)], 10000, training=True)]
  path = str(tmp_path / 'out' / 'fig.png')
  drawn = report.row_figure(path, 'GAN, MNIST', 'parzen', 'test_ll', '225 ± 2', runs)
  assert os.path.getsize(path) > 0
  for run in runs:  # Read back independently of the report's reader.
    with open(os.path.join(run['workdir'], 'metrics.jsonl')) as f:
      logged = [json.loads(l) for l in f if l.endswith('\n')]
    per_epoch = 250 if run['seed'] == 2 else 500
    expected = [(r['step'] / per_epoch, r['eval/parzen/test_ll']) for r in logged
                if 'eval/parzen/test_ll' in r]
    np.testing.assert_array_equal(drawn['lines'][run['seed']], expected)
  assert drawn['band'] == pytest.approx((223.0, 227.0))
  assert drawn['reference'] == 240.5
  assert drawn['selected'] == {0: (20.0, 150.0), 1: (30.0, 160.5), 2: (40.0, 110.0)}
  # The zoomed panel: epochs 20..40 (the second half of the longest run, seed 1's and seed 2's 40)
  # and a range holding every value drawn there, the band and the real-data line.
  (x0, x1), (y0, y1) = drawn['zoom']
  assert x0 == 20.0 and 40.0 < x1 <= 41.0
  # Lowest there: seed 2's 80 at epoch 20; highest: the real-data line; 5 % of the range padded.
  pad = 0.05 * (240.5 - 80.0)
  assert (y0, y1) == pytest.approx((80.0 - pad, 240.5 + pad))


def test_figures_are_embedded_beside_the_table(tmp_path):
  run = _run(tmp_path, 0, 500, [(5000, 100.0), (10000, 150.0)], 10000)
  os.makedirs(os.path.join(run['workdir'], 'figures'))
  with open(os.path.join(run['workdir'], 'figures', 'fig2_samples_nearest_step_010000.png'),
            'wb') as f:
    f.write(b'png')
  row = tables.Row('GAN, MNIST', 'mnist_gan', (tables.PARZEN,), published='225 ± 2')
  table = str(tmp_path / 'tables' / 'gan_parzen.md')
  lines = report.figures_markdown(table, [{'row': row, 'results': [run]}])
  embedded = [l[l.index('](') + 2:-1] for l in lines if l.startswith('![')]
  assert embedded == ['gan_parzen_files/gan_mnist_parzen_test_ll.png',
                      'gan_parzen_files/gan_mnist_fig2_seed0.png']
  for relative in embedded:
    assert os.path.exists(os.path.join(tmp_path, 'tables', relative))


def _fid_run(tmp_path, name, values):
  """A stopped run logging the classifier FID every epoch (100 steps an epoch)."""
  workdir = tmp_path / name
  os.makedirs(workdir)
  with open(workdir / 'metrics.jsonl', 'w') as f:
    for epoch, value in enumerate(values, 1):
      f.write(json.dumps({'step': 100 * epoch, 'eval/classifier/fid': value}) + '\n')
  with open(workdir / 'stop.json', 'w') as f:
    json.dump({'step': 100 * len(values), 'epoch': float(len(values))}, f)
  summary = {'classifier': {'fid': values[-1]}, 'reference': {'classifier': {'fid': 1.5}}}
  return {'workdir': str(workdir), 'seed': 0, 'summary': summary}


def test_the_comparison_figure_draws_each_row_s_mean_and_standard_error_over_seeds(tmp_path):
  """GAN vs DFM: per epoch, the mean over seeds and s.e. = std (ddof 1) / sqrt(n), computed
  here from the numbers written; epochs not every seed reached are left out; the real-data
  row is the line, from its summary's reference."""
  gan = [_fid_run(tmp_path, 'gan0', [30.0, 20.0, 10.0]), _fid_run(tmp_path, 'gan1', [34.0, 22.0]),
         _fid_run(tmp_path, 'gan2', [32.0, 27.0, 11.0])]
  dfm = [_fid_run(tmp_path, 'dfm0', [25.0, 15.0, 12.0])]
  compare = ('Fashion 32', tables.CLASSIFIER, 'fid')
  rows = [tables.Row('real', 'fashion_mnist_32_gan', (tables.CLASSIFIER,), real_data=True,
                     compare=compare),
          tables.Row('GAN', 'fashion_mnist_32_gan', (tables.CLASSIFIER,), compare=compare),
          tables.Row('DFM', 'fashion_mnist_32_dfm', (tables.CLASSIFIER,), compare=compare)]
  results = [[_fid_run(tmp_path, 'real', [1.5])], gan, dfm]
  table = str(tmp_path / 'tables' / 'offline.md')
  lines = report.figures_markdown(table, [{'row': r, 'results': s}
                                          for r, s in zip(rows, results)])
  assert lines == ['![Fashion 32: classifier fid against epochs]'
                   '(offline_files/fashion_32_classifier_fid.png)', '',
                   '- DFM against GAN, classifier fid as in the table: 12.00 against 14.33 (1 and '
                   '3 seed(s)), difference -2.33: one seed on a side, no s.e.', '']
  drawn = report.comparison_figure(str(tmp_path / 'f.png'), 'Fashion 32', 'classifier', 'fid',
                                   [('GAN', gan), ('DFM', dfm)], 1.5)
  epochs, mean, se = drawn['GAN']
  np.testing.assert_array_equal(epochs, [1.0, 2.0])
  np.testing.assert_allclose(mean, [32.0, 23.0])
  second = np.std([20.0, 22.0, 27.0], ddof=1)
  np.testing.assert_allclose(se, [2.0 / np.sqrt(3), second / np.sqrt(3)])
  epochs, mean, se = drawn['DFM']
  np.testing.assert_array_equal(mean, [25.0, 15.0, 12.0])
  assert np.isnan(se).all()  # One seed: no band.


def test_a_score_computed_only_at_the_end_is_compared_too_where_the_rows_name_it(tmp_path):
  """compare_also: the real-pool3 FID of the final checkpoints (no curve), GAN 60, 170, 160
  against DFM 50, 50, 150: difference -46.67, s.e. by hand sqrt(3,700 / 3 + 3,333.3 / 3) =
  48.42, so 1.0 s.e.; a row whose seeds lack that score (no Inception weights) prints no line."""
  def runs(side, classifier, pool3):
    made = [_fid_run(tmp_path, f'{side}{i}', [v]) for i, v in enumerate(classifier)]
    for run, value in zip(made, pool3):
      run['summary'][tables.INCEPTION] = {'fid': value}
    return made
  compare = ('Fashion 32', tables.CLASSIFIER, 'fid')
  also = ((tables.INCEPTION, 'fid'),)
  rows = [tables.Row(name, 'fashion_mnist_32_gan', (tables.CLASSIFIER, tables.INCEPTION),
                     compare=compare, compare_also=also) for name in ('GAN', 'DFM')]
  gan, dfm = runs('gan', (8.0, 88.0, 77.0), (60.0, 170.0, 160.0)), runs('dfm', (4.0, 7.0, 80.0),
                                                                         (50.0, 50.0, 150.0))
  lines = report.figures_markdown(str(tmp_path / 'tables' / 'offline.md'),
                                  [{'row': r, 'results': s} for r, s in zip(rows, (gan, dfm))])
  stderr = np.sqrt(np.var([60, 170, 160], ddof=1) / 3 + np.var([50, 50, 150], ddof=1) / 3)
  assert stderr == pytest.approx(48.42, abs=0.01)
  assert lines[2:] == [
      '- DFM against GAN, classifier fid as in the table: 30.33 against 57.67 (3 and 3 seed(s)), '
      'difference -27.33 ± 35.27 (s.e.), 0.8 s.e.: not more than 2 s.e.',
      '- DFM against GAN, inception fid as in the table: 83.33 against 130.00 (3 and 3 seed(s)), '
      'difference -46.67 ± 48.42 (s.e.), 1.0 s.e.: not more than 2 s.e.', '']
  for run in dfm:
    del run['summary'][tables.INCEPTION]
  lines = report.figures_markdown(str(tmp_path / 'tables' / 'offline.md'),
                                  [{'row': r, 'results': s} for r, s in zip(rows, (gan, dfm))])
  assert [line for line in lines if 'inception' in line] == []


def test_a_row_against_another_is_the_difference_of_means_and_its_welch_standard_error(tmp_path):
  """Finals GAN 10, 22, 11 and DFM 12, 14: difference 13 - 14.33 = -1.33; s.e. by hand:
  sqrt(44.33 / 3 + 2 / 2) = 3.97, so 0.3 s.e.; DFM 1, 2 against GAN 30, 31 is 29 s.e. away."""
  gan = [_fid_run(tmp_path, f'gan{i}', [v]) for i, v in enumerate((10.0, 22.0, 11.0))]
  dfm = [_fid_run(tmp_path, f'dfm{i}', [v]) for i, v in enumerate((12.0, 14.0))]
  assert report.verdicts('classifier', 'fid', [('GAN', gan), ('DFM', dfm)]) == [
      '- DFM against GAN, classifier fid as in the table: 13.00 against 14.33 (2 and 3 seed(s)), '
      'difference -1.33 ± 3.97 (s.e.), 0.3 s.e.: not more than 2 s.e.']
  difference, stderr = report.seed_difference([30.0, 31.0], [1.0, 2.0])
  assert difference == -29.0 and stderr == pytest.approx(np.sqrt(0.5 / 2 + 0.5 / 2))
  assert report.verdicts('classifier', 'fid', [('GAN', gan[:0]), ('DFM', dfm)]) == []
  assert report.verdicts('classifier', 'fid', []) == []  # Only the real-data row so far.
  same = [_fid_run(tmp_path, f'same{i}', [0.5]) for i in range(2)]
  assert report.verdicts('classifier', 'fid', [('GAN', same), ('DFM', same)]) == [
      '- DFM against GAN, classifier fid as in the table: 0.50 against 0.50 (2 and 2 seed(s)), '
      'difference +0.00 (every seed the same on both sides: no spread)']


def test_the_comparison_axis_is_logarithmic_only_for_positive_curves_spanning_a_decade():
  assert report._spans_decades([np.array([275.0, 30.0]), np.array([12.0, np.nan])])
  assert not report._spans_decades([np.array([12.0, 30.0]), np.array([5.0])])  # 6x.
  assert not report._spans_decades([np.array([-250.0, 200.0])])  # A log-likelihood.
  assert not report._spans_decades([np.array([np.nan])])
