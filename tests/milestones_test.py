"""launch/milestones.py: a row at given epochs, newest against best by validation, across seeds."""
import json

import numpy as np

from launch import milestones


def _workdir(tmp_path, name, curve):
  """A run of 10 steps an epoch that logged (validation, test) at each epoch of `curve`."""
  workdir = tmp_path / name
  workdir.mkdir()
  with open(workdir / 'metrics.jsonl', 'w') as f:
    for epoch, (valid, test) in curve.items():
      f.write(json.dumps({'step': 10 * epoch, 'epoch': float(epoch), 'd_loss': 1.0}) + '\n')
      f.write(json.dumps({'step': 10 * epoch, 'epoch': float(epoch),
                          'eval/parzen/validation_ll': valid, 'eval/parzen/test_ll': test,
                          'eval/parzen/test_stderr': 2.0}) + '\n')
  return str(workdir)


def test_newest_and_best_by_validation_at_each_epoch_across_seeds(tmp_path):
  # Seed 0's validation peaks at epoch 2 (test 150), then its test keeps rising; seed 1 rises
  # throughout; seed 2 stopped at epoch 3.
  workdirs = {
      0: _workdir(tmp_path, 's0', {1: (100, 110), 2: (130, 150), 3: (120, 160), 4: (125, 170)}),
      1: _workdir(tmp_path, 's1', {1: (90, 100), 2: (95, 120), 3: (99, 130), 4: (101, 140)}),
      2: _workdir(tmp_path, 's2', {1: (80, 90), 2: (85, 95), 3: (88, 99)})}
  lines = milestones.markdown('GAN, MNIST', '225 ± 2', workdirs, (2, 4, 8))
  rows = {line.split(' | ')[0].lstrip('| '): line.split(' | ') for line in lines
          if line.startswith('| ') and line[2].isdigit()}
  # Epoch 2: all three seeds; newest = best by validation for each (150, 120, 95).
  newest = [150, 120, 95]
  assert rows['2'][1] == '0, 1, 2'
  assert rows['2'][2] == f'{np.mean(newest):.2f} ± {np.std(newest, ddof=1) / np.sqrt(3):.2f}'
  assert rows['2'][5] == 'seed 0: 150.00 ± 2.00 |'
  # Epoch 4: seeds 0 and 1; seed 0's best by validation is epoch 2's checkpoint (test 150).
  assert rows['4'][1] == '0, 1'
  for column, values in ((2, [170, 140]), (3, [150, 140])):
    assert rows['4'][column] == (f'{np.mean(values):.2f} ± '
                                 f'{np.std(values, ddof=1) / np.sqrt(2):.2f}')
  assert rows['4'][4] == '0: 170.00 ± 2.00 / 150.00 (2); 1: 140.00 ± 2.00 / 140.00 (4)'
  # Epoch 8: nobody yet, and where each seed stands.
  assert rows['8'][1] == 'none yet'
  assert 'seed 0 at epoch 4, seed 1 at epoch 4, seed 2 at epoch 3' in ' | '.join(rows['8'])


def test_a_run_without_an_evaluation_at_the_epoch_has_not_reached_it():
  logged = [{'step': 10, 'eval/parzen/test_ll': 1.0, 'eval/parzen/validation_ll': 1.0},
            {'step': 15, 'd_loss': 1.0}]
  assert milestones.at_epoch(logged, 15, 'parzen', 'validation_ll', 'test_ll') is None
  for score in milestones.at_epoch(logged, 10, 'parzen', 'validation_ll', 'test_ll'):
    assert (score.value, score.step) == (1.0, 10) and np.isnan(score.stderr)
