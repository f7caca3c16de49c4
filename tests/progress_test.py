"""launch.reproduce --progress: where each seed stands, from its metrics.jsonl, touching nothing."""
import dataclasses
import json
import os
import subprocess
import sys

import pytest

from gan_jax import lock
from gan_jax.evaluation.metrics import parzen
from launch import progress
from launch import reproduce
from launch import rows
from launch import tables

# A row whose runs keep the experiment's stopping rule (the Gaussian-prior one; 'GAN, MNIST'
# trains to the cap with the rule off).
ROW = next(r for r in tables.TABLES['gan_parzen'].rows if r.label == 'GAN, MNIST, z ~ N(0, I)')
KEYS = ('validation_ll', 'test_ll', 'test_stderr')


def _write_run(workdir, evaluations, per_epoch=500, stop=None, extra=()):
  """metrics.jsonl with a training record per 1,000 steps and the given evaluations
  {step: (validation, test, stderr)}; `extra` records are appended as they are."""
  os.makedirs(workdir)
  last = max(evaluations)
  with open(os.path.join(workdir, 'metrics.jsonl'), 'w') as f:
    for step in range(1000, last + 1, 1000):
      record = {'step': step, 'd_loss': 1.3, 'epoch': step / per_epoch, 'steps_per_sec': 10.0}
      if step in evaluations:
        record.update({f'eval/parzen/{k}': v for k, v in zip(KEYS, evaluations[step])})
      f.write(json.dumps(record) + '\n')
    for record in extra:
      f.write(json.dumps(record) + '\n')
  if stop:
    with open(os.path.join(workdir, 'stop.json'), 'w') as f:
      json.dump({'step': last, 'epoch': last / per_epoch, 'stopped_by': stop, 'reason': 'x'}, f)


def _snapshot(root):
  return {os.path.join(d, n): os.stat(os.path.join(d, n)).st_mtime_ns
          for d, _, names in os.walk(root) for n in names}


def test_status_reads_the_lock_without_taking_it(tmp_path):
  workdir = str(tmp_path)
  assert progress.status(workdir) == 'paused'  # Never locked, no stop.json.
  with lock.WorkdirLock(workdir):  # Held by a live process (this one).
    assert progress.status(workdir) == 'training'
  assert progress.status(workdir) == 'paused'  # Released: its record is emptied.
  # A run killed with -9 leaves its record; its PID is gone, so it is not training.
  dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                        capture_output=True, text=True, check=True).stdout.strip()
  with open(tmp_path / lock.LOCK_FILE, 'w') as f:
    json.dump({'pid': int(dead), 'host': lock.socket.gethostname(), 'started': 'x'}, f)
  assert progress.status(workdir) == 'paused'
  if os.path.exists('/proc/locks'):  # (Linux.) Its PID since given to a process that holds no lock.
    with subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']) as reused:
      try:
        with open(tmp_path / lock.LOCK_FILE, 'w') as f:
          json.dump({'pid': reused.pid, 'host': lock.socket.gethostname(), 'started': 'x'}, f)
        assert progress.status(workdir) == 'paused'
      finally:
        reused.kill()
  with open(tmp_path / 'stop.json', 'w') as f:
    json.dump({'step': 5, 'epoch': 1.0, 'stopped_by': 'early_stopping'}, f)
  assert progress.status(workdir) == 'early_stopping'


def test_a_seed_stands_at_its_best_logged_validation_ll(tmp_path):
  config = rows.run_config(ROW, 1, False, '')
  workdir = str(tmp_path / 'seed=1')
  evaluations = {5000: (150.0, 152.0, 2.3), 10000: (181.5, 183.0, 2.3),
                 15000: (181.5, 190.0, 2.2), 20000: (float('nan'), 1e9, 1.0)}
  def record(step, validation, test):
    return {'step': step, 'epoch': step / 500, 'steps_per_sec': 10.0,
            'eval/parzen/validation_ll': validation, 'eval/parzen/test_ll': test,
            'eval/parzen/test_stderr': 2.0}
  # Step 10000 logged again, lower (the last record of a step counts), and a later step equal to
  # the best (of equals the earliest counts, as for orbax's best checkpoint).
  _write_run(workdir, evaluations, extra=[record(10000, 100.0, 101.0),
                                          record(25000, 181.5, 170.0)])
  got = progress.standing(config, workdir, 1, ROW.metrics)
  assert got['summary']['selected_step'] == 15000  # The highest finite validation LL.
  assert got['summary']['parzen'] == dict(zip(KEYS, evaluations[15000]))
  assert got['steps'] == 25000 and got['epochs'] == 50.0
  assert got['stopped_by'] == 'paused' and got['not_computed'] == {}
  assert got['seconds'] == pytest.approx(25000 / 10.0)  # Every step once, at 10 steps/s.
  # The rule (patience 10, min_delta 1, every 5,000 steps) replayed on 150, 100, 181.5, NaN,
  # 181.5: the best gain at 15,000 (epoch 30), 2 evaluations since, so 10 after it at epoch 130.
  assert got['standing'] == (
      'best validation_ll 181.50 at epoch 30 (test_ll 190.00, test_stderr 2.20); the rule: 2 of '
      '10 evaluations without a gain > 1 over 181.50 (epoch 30), so it stops at epoch 130 unless '
      'one comes; 975,000 steps to go (1,950 epochs), ~27.1 h at its recent 10.0 steps/s '
      '(training alone)')
  # A real-data row, and a metric never logged, are said not computed; no log at all is None.
  real = progress.standing(config, workdir, 1, ROW.metrics, real_data=True)
  assert real['not_computed'] == {'parzen': progress.REAL_DATA}
  assert progress.standing(config, workdir, 1, ('kid',))['not_computed'] == {
      'kid': progress.NOT_DURING_TRAINING}
  assert progress.standing(config, str(tmp_path / 'seed=2'), 2, ROW.metrics) is None
  # The time to go is at the median of the last 20 records' rates (a slow call, an evaluation
  # or a loaded machine, moves it little); none past the run's length, nor once it ended.
  logged = [{'step': 1000 * i, 'steps_per_sec': rate}
            for i, rate in enumerate([50.0] * 5 + [20.0] * 19 + [2.0], 1)]
  left = config.num_train_steps - 25000
  assert progress.remaining(config, logged, 500) == (
      f'{left:,} steps to go ({left / 500:,.0f} epochs), ~{left / 20 / 3600:.1f} h at its recent '
      '20.0 steps/s (training alone)')
  assert progress.remaining(config, [{'step': config.num_train_steps}], 500) == ''
  _write_run(str(tmp_path / 'ended'), evaluations, stop='early_stopping')
  assert 'to go' not in progress.standing(config, str(tmp_path / 'ended'), 1, ROW.metrics)[
      'standing']
  # Started, not yet at its first evaluation: said so, not that the metric is never evaluated.
  early = tmp_path / 'seed=3'
  early.mkdir()
  (early / 'metrics.jsonl').write_text(json.dumps({'step': 1000, 'd_loss': 1.3, 'epoch': 2.0}))
  early = str(early)
  assert progress.standing(config, early, 3, ROW.metrics)['not_computed'] == {
      'parzen': f'no evaluation logged yet; the first is at step {config.eval.every_steps:,}'}


def test_progress_table_reports_the_seeds_started_and_writes_nothing_in_them(tmp_path):
  root = str(tmp_path / 'runs')
  runs = {0: ({10000: (180.0, 185.0, 2.3), 20000: (190.0, 198.0, 2.3)}, 'early_stopping'),
          1: ({10000: (170.0, 175.0, 2.3), 15000: (175.0, 181.0, 2.3)}, None)}
  for seed, (evaluations, stop) in runs.items():  # Seed 2 has not started.
    _write_run(os.path.join(root, 'mnist_gan', f'seed={seed}'), evaluations, stop=stop)
  # The Gaussian-prior row's one seed, in the workdir named by its flag.
  _write_run(os.path.join(root, 'mnist_gan', 'noise.prior=normal,seed=0'),
             {5000: (150.0, 160.0, 2.0), 10000: (140.0, 150.0, 2.0)})
  before = _snapshot(root)
  output = str(tmp_path / 'tables' / 'gan_parzen-progress.md')
  text, failed = reproduce.reproduce('gan_parzen', root, False, '', only=['MNIST'],
                                     output=output, progress=True)
  assert _snapshot(root) == before  # Nothing written in, or read-modified of, any workdir.
  line = next(l for l in text.splitlines() if l.startswith('| GAN, MNIST |'))
  expected = parzen.Parzen.table_cell([dict(zip(KEYS, (190.0, 198.0, 2.3))),
                                       dict(zip(KEYS, (175.0, 181.0, 2.3)))])
  assert f'| {expected} |' in line
  assert 'Parzen LL 189.50' in expected  # (198 + 181) / 2: seed 0 at 20000, seed 1 at 15000.
  assert '20,000 (40, stopped), 15,000 (30, paused)' in line
  assert '**Progress**' in text and 'metrics.jsonl holds every number' in text
  # 'GAN, MNIST' trains to the cap (the rule off); the Gaussian-prior row keeps the rule.
  assert ('- GAN, MNIST, seed 0 (early_stopping): best validation_ll 190.00 at epoch 40 (test_ll '
          '198.00, test_stderr 2.30); no stopping rule (trains to num_train_steps)'
          ) in text.splitlines()
  assert (f'- GAN, MNIST, seed 2: not started (nothing logged in '
          f'{os.path.join(root, "mnist_gan", "seed=2")})') in text.splitlines()
  paused = next(l for l in text.splitlines() if l.startswith('- GAN, MNIST, z ~ N(0, I), seed 0'))
  assert paused.startswith(
      '- GAN, MNIST, z ~ N(0, I), seed 0 (paused): best validation_ll 150.00 at epoch 10 '
      '(test_ll 160.00, test_stderr 2.00); the rule: 1 of 10 evaluations without a gain > 1 '
      'over 150.00 (epoch 10), so it stops at epoch 110 unless one comes; ')
  assert ' steps to go (' in paused and paused.endswith(' steps/s (training alone)')
  assert os.path.exists(os.path.join(tmp_path, 'tables', 'gan_parzen-progress_files',
                                     'gan_mnist_parzen_test_ll.png'))
  normal = next(l for l in text.splitlines() if l.startswith('| GAN, MNIST, z ~ N(0, I) |'))
  assert '`--config.noise.prior=normal`' in normal and '| 0 | 10,000 (20, paused) |' in normal
  assert f'| {parzen.Parzen.table_cell([dict(zip(KEYS, (150.0, 160.0, 2.0)))])} |' in normal
  assert failed == []
  # A row none of whose seeds started is reported as such, not an error of the whole table.
  text, failed = reproduce.reproduce('gan_parzen', str(tmp_path / 'empty'), False, '',
                                     only=['GAN, MNIST', 'z ~ N(0, I)'], progress=True)
  assert [r['row'].label for r in failed] == ['GAN, MNIST', 'GAN, MNIST, z ~ N(0, I)']
  assert 'no seed has started' in text


def test_a_progress_cell_of_a_feature_space_metric_names_its_space(tmp_path):
  """KID, precision / recall and density / coverage log only numbers during training; the cell
  names their space from the config (a progress table of the Fashion-MNIST rows crashed on it)."""
  row = next(r for r in tables.TABLES['offline'].rows
             if r.label == 'Fashion-MNIST 32x32, Radford DCGAN')
  config = rows.run_config(row, 0, False, '')
  workdir = str(tmp_path / 'seed=0')
  os.makedirs(workdir)
  with open(os.path.join(workdir, 'metrics.jsonl'), 'w') as f:
    f.write(json.dumps({'step': 781, 'epoch': 1.0, 'steps_per_sec': 1.0,
                        'eval/kid/kid': 0.5, 'eval/kid/kid_std': 0.1,
                        'eval/precision_recall/precision': 0.7,
                        'eval/precision_recall/recall': 0.3}) + '\n')
  got = progress.standing(config, workdir, 0, ('kid', 'precision_recall'))
  assert got['summary']['kid'] == {'space': config.eval.kid_space, 'kid': 0.5, 'kid_std': 0.1}
  cell = reproduce.format_metrics(dataclasses.replace(row, metrics=('kid', 'precision_recall')),
                                  [got])
  assert cell == (f'KID ({config.eval.kid_space}) ×1000 500.00 ± 100.00; '
                  f'P 0.700, R 0.300 ({config.eval.pr_space})')
