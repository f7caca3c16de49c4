"""The stopping rule (gan_jax/early_stopping.py) and the checkpoints it keeps, in training.

The training tests script the selection metric (run._evaluate returns a value chosen by the
test for each step), so where the run must stop and which checkpoint is best are known exactly.
"""
import json
import logging
import os

import pytest

from gan_jax import early_stopping
from gan_jax import errors
from gan_jax import metrics_log
from gan_jax import run as run_lib
from gan_jax import train

from conftest import small_config

KEY = 'eval/parzen/validation_ll'


def test_rule_counts_evaluations_that_do_not_beat_the_best_by_min_delta():
  values = [(1, 10.0), (2, 12.0), (3, 12.5), (4, 11.0), (5, 13.1), (6, 13.0), (7, 14.05)]
  state = early_stopping.progress(values, min_delta=1.0)
  # 10 -> 12 improves (> 11); 12.5, 11 do not (<= 13); 13.1 does; 13.0, 14.05 (<= 14.1) do not.
  assert (state.best_step, state.best_value, state.since_best, state.last_step) == (5, 13.1, 2, 7)
  assert early_stopping.should_stop(state, patience=2)
  assert not early_stopping.should_stop(state, patience=3)
  assert not early_stopping.should_stop(state, patience=0)  # 0: the rule is off.
  nan_first = early_stopping.progress([(1, float('nan')), (2, 1.0)], 0.0)
  assert (nan_first.best_step, nan_first.since_best) == (2, 0)


def test_rule_is_refused_without_a_metric_evaluated_during_training():
  config = small_config()
  config.early_stopping.patience = 3
  config.eval.every_steps = 0
  with pytest.raises(errors.ConfigError, match='eval.every_steps > 0'):
    train.train_and_evaluate(config, '/nonexistent/never-written')
  config.early_stopping.patience = -1
  with pytest.raises(errors.ConfigError, match='patience=-1 must be an integer >= 0'):
    train.train_and_evaluate(config, '/nonexistent/never-written')


# Step -> the scripted validation LL: best at step 4 (9.0), then nothing beats it by > 0.5.
# Step 7 is the extra evaluation at the last step of a run capped there: it does not count.
_CURVE = {2: 5.0, 4: 9.0, 6: 8.0, 7: 1.0, 8: 9.4, 10: 7.0, 12: 9.5, 14: 20.0, 16: 30.0}


@pytest.fixture
def scripted_metric(monkeypatch):
  calls = []

  def fake_evaluate(config, evaluators, g_state, step):
    del config, evaluators, g_state
    calls.append(step)
    return {KEY: _CURVE[step]}

  monkeypatch.setattr(run_lib, '_evaluate', fake_evaluate)
  return calls


def _config(num_train_steps=16):
  config = small_config(num_train_steps=num_train_steps, checkpoint_every_steps=100,
                        keep_checkpoints=1, log_every_steps=2)
  config.eval.every_steps = 2
  config.early_stopping.patience = 3
  config.early_stopping.min_delta = 0.5
  return config


def _steps_per_epoch(config):
  from gan_jax import data  # pylint: disable=g-import-not-at-top
  return data.get_dataset(config.data, 'train', batch_size=config.batch_size).steps_per_epoch


def _steps(workdir):
  return sorted(int(n) for n in os.listdir(os.path.join(workdir, 'checkpoints')) if n.isdigit())


def test_run_stops_after_patience_evaluations_and_keeps_the_best(tmp_path, scripted_metric,
                                                                 caplog):
  caplog.set_level(logging.INFO)
  workdir = str(tmp_path / 'run')
  state = train.train_and_evaluate(_config(), workdir)
  # Evaluations 6, 8 (9.4 <= 9.5), 10 do not beat 9.0 by more than 0.5: stopped at step 10.
  assert int(state.step) == 10 and scripted_metric == [2, 4, 6, 8, 10]
  assert 'Stopped at step 10 of 16 (epoch ' in caplog.text
  with open(os.path.join(workdir, 'stop.json')) as f:
    stop = json.load(f)
  assert stop['step'] == 10 and stop['stopped_by'] == 'early_stopping'
  assert stop['reason'] in caplog.text
  assert 'has not exceeded 9 (step 4) by more than 0.5 in 3 evaluations' in caplog.text
  # The newest (keep_checkpoints=1) and the best by the metric (9.4 at 8), nothing else.
  assert _steps(workdir) == [8, 10]
  # Run again: it is already stopped (nothing trained, nothing evaluated).
  scripted_metric.clear()
  assert int(train.train_and_evaluate(_config(), workdir).step) == 10
  assert scripted_metric == [] and 'Already stopped at step 10' in caplog.text
  # Resumed with a shorter length: the record still says why and when the rule stopped it.
  assert int(train.train_and_evaluate(_config(num_train_steps=8), workdir).step) == 10
  with open(os.path.join(workdir, 'stop.json')) as f:
    assert json.load(f) == stop


def test_resume_in_the_middle_of_a_patience_window_stops_at_the_same_step(tmp_path,
                                                                           scripted_metric):
  straight = str(tmp_path / 'straight')
  train.train_and_evaluate(_config(), straight)
  resumed = str(tmp_path / 'resumed')
  # Stopped at step 7 (after the evaluations of 4 and 6: one evaluation into the window); step
  # 7's own evaluation, the run's last, is logged but does not count (else it stops at 8).
  assert int(train.train_and_evaluate(_config(num_train_steps=7), resumed).step) == 7
  # A kill after the log was written and before the checkpoint: the log runs ahead of the
  # checkpoint (a record of step 8 claiming an improvement) and ends in a torn line.
  with open(os.path.join(resumed, 'metrics.jsonl'), 'a') as f:
    f.write(json.dumps({'step': 8, KEY: 100.0}) + '\n{"step": 9, "d_lo')
  assert int(train.train_and_evaluate(_config(), resumed).step) == 10
  records = metrics_log.read(os.path.join(resumed, 'metrics.jsonl'))
  assert [r['step'] for r in records if KEY in r] == [2, 4, 6, 7, 8, 10]
  assert [r[KEY] for r in records if KEY in r] == [_CURVE[s] for s in (2, 4, 6, 7, 8, 10)]
  with open(os.path.join(resumed, 'metrics.jsonl')) as f:
    assert all(json.loads(line) for line in f)  # No torn line left.
  assert _steps(resumed) == _steps(straight) == [8, 10]


def test_a_larger_patience_on_resume_trains_on(tmp_path, scripted_metric):
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(_config(), workdir)
  config = _config()
  config.early_stopping.patience = 10
  assert int(train.train_and_evaluate(config, workdir).step) == 16  # To the cap.
  with open(os.path.join(workdir, 'stop.json')) as f:
    assert json.load(f) == {'step': 16, 'epoch': 16 / _steps_per_epoch(config),
                            'stopped_by': 'num_train_steps', 'reason': 'reached num_train_steps=16'}
  assert _steps(workdir) == [16]  # 16 is the best (30.0) and the newest.


def test_metrics_log_truncate_drops_later_steps_and_torn_lines(tmp_path):
  path = str(tmp_path / 'metrics.jsonl')
  with open(path, 'w') as f:
    f.write('{"step": 1, "a": 1.0}\n{"step": 2, "a": 2.0}\n{"step": 3, "a": 3.0}\n{"step": 4')
  assert [r['step'] for r in metrics_log.truncate(path, 2)] == [1, 2]
  with open(path) as f:
    assert f.read() == '{"step": 1, "a": 1.0}\n{"step": 2, "a": 2.0}\n'


def test_the_best_checkpoint_survives_a_resume(tmp_path, monkeypatch):
  # Best at step 4, never beaten. The run is stopped at 6 and resumed: the new process's
  # checkpoint manager must know step 4's metric from disk (orbax writes it only when told the
  # ranking as best_fn), else it deletes 4 as soon as it is not among the newest.
  curve = {2: 5.0, 4: 9.0, 6: 1.0, 8: 2.0, 10: 3.0}
  monkeypatch.setattr(run_lib, '_evaluate', lambda c, e, g, step: {KEY: curve[step]})
  config = _config(num_train_steps=10)
  config.early_stopping.patience = 0  # The best is kept whether or not the rule is on.
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(_config(num_train_steps=6), workdir)
  assert _steps(workdir) == [4, 6]
  train.train_and_evaluate(config, workdir)
  assert _steps(workdir) == [4, 10]
