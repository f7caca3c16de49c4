"""Checkpoints that are not what their place says: a step name and content that disagree, a
link, a file named like a step, another run's checkpoint, one without a record of its run, a
workdir whose config.json was edited (WORKSPACE.md, the fault table). Training never resumes from
nor deletes one it cannot show is this run's.
"""
import json
import os
import shutil

import pytest

from gan_jax import errors
from gan_jax import train

from conftest import assert_states_identical, small_config


def _steps(workdir):
  return sorted(os.listdir(os.path.join(workdir, 'checkpoints')))


def _trained_to_4(tmp_path):
  """(workdir, its checkpoints directory) of a run trained to step 4 (checkpoints 2 and 4)."""
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(num_train_steps=4), workdir)
  return workdir, os.path.join(workdir, 'checkpoints')


def test_a_checkpoint_whose_name_and_content_disagree_is_set_aside(tmp_path, caplog):
  """A copy of step 4 named 6: resuming used to restore '6' (holding 4) and fail on saving 6."""
  workdir, directory = _trained_to_4(tmp_path)
  shutil.copytree(os.path.join(directory, '4'), os.path.join(directory, '6'))
  state = train.train_and_evaluate(small_config(num_train_steps=6), workdir)
  assert int(state.step) == 6
  assert 'it holds step 4, not the 6 of its name' in caplog.text
  assert '6.corrupt' in _steps(workdir) and '6' in _steps(workdir)  # Resumed from 4, saved 6.


def test_a_step_directory_that_links_to_another_is_set_aside(tmp_path, caplog):
  workdir, directory = _trained_to_4(tmp_path)
  os.symlink(os.path.join(directory, '2'), os.path.join(directory, '8'))
  state = train.train_and_evaluate(small_config(num_train_steps=6), workdir)
  assert int(state.step) == 6 and 'it holds step 2, not the 8 of its name' in caplog.text
  assert os.path.islink(os.path.join(directory, '8.corrupt'))
  assert os.path.isdir(os.path.join(directory, '2'))  # The link's target is untouched.


def _seed_0_with_seed_1s_step_6(tmp_path) -> str:
  """Seed 0's workdir trained to step 4, holding a copy of seed 1's checkpoint of step 6."""
  ours, theirs = str(tmp_path / 'seed0'), str(tmp_path / 'seed1')
  train.train_and_evaluate(small_config(num_train_steps=4), ours)
  train.train_and_evaluate(small_config(num_train_steps=6, seed=1), theirs)
  shutil.copytree(os.path.join(theirs, 'checkpoints', '6'),
                  os.path.join(ours, 'checkpoints', '6'))
  return ours


def test_a_checkpoint_of_another_seed_is_set_aside_not_adopted(tmp_path, caplog):
  ours = _seed_0_with_seed_1s_step_6(tmp_path)
  straight = train.train_and_evaluate(small_config(num_train_steps=6), str(tmp_path / 'straight'))
  state = train.train_and_evaluate(small_config(num_train_steps=6), ours)
  assert 'of another run (seed=1 where this run has seed=0)' in caplog.text
  assert '6.foreign' in _steps(ours)
  # Resumed from its own step 4: the result is seed 0's, bit for bit, not seed 1's.
  assert_states_identical(state, straight)


def test_eval_sets_aside_a_foreign_checkpoint_and_scores_its_own(tmp_path, caplog):
  from gan_jax import evaluate  # pylint: disable=g-import-not-at-top
  ours = _seed_0_with_seed_1s_step_6(tmp_path)
  summary = evaluate.evaluate(small_config(num_train_steps=6), ours)
  assert summary['selected_step'] == 4 and '6.foreign' in _steps(ours)


def test_a_file_named_like_a_step_is_set_aside_not_deleted(tmp_path, caplog):
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(small_config(num_train_steps=4), workdir)
  with open(os.path.join(workdir, 'checkpoints', '6'), 'w') as f:
    f.write('my notes')  # Orbax deleted it when it saved step 6.
  state = train.train_and_evaluate(small_config(num_train_steps=6), workdir)
  assert int(state.step) == 6 and 'is a file, not a checkpoint' in caplog.text
  assert open(os.path.join(workdir, 'checkpoints', '6.corrupt')).read() == 'my notes'
  assert os.path.isdir(os.path.join(workdir, 'checkpoints', '6'))


def _remove_run_records(checkpoints, steps):
  for step in steps:
    shutil.rmtree(os.path.join(checkpoints, str(step), 'run'))


def test_a_checkpoint_without_its_run_record_is_never_trained_on(tmp_path):
  """Seed 1's step 6 copied in as older versions wrote it (no run record): refused in one line,
  every file left (it was adopted: resumed from, exit 0)."""
  ours = _seed_0_with_seed_1s_step_6(tmp_path)
  _remove_run_records(os.path.join(ours, 'checkpoints'), [6])
  before = _steps(ours)
  with pytest.raises(errors.CheckpointError, match=r'at step\(s\) \[6\] in .* carry no record of '
                     r'the run .* launch.adopt_checkpoints --workdir='):
    train.train_and_evaluate(small_config(num_train_steps=8), ours)
  assert _steps(ours) == before


def test_a_run_s_own_unrecorded_checkpoints_resume_once_adopted(tmp_path):
  """A workdir of an older version (no checkpoint records its run): refused, then
  launch.adopt_checkpoints records config.json in them and the same command resumes, ending as
  an uninterrupted run."""
  from launch import adopt_checkpoints  # pylint: disable=g-import-not-at-top
  workdir, checkpoints = _trained_to_4(tmp_path)
  _remove_run_records(checkpoints, [2, 4])
  with pytest.raises(errors.CheckpointError, match=r'\[2, 4\]'):
    train.train_and_evaluate(small_config(num_train_steps=6), workdir)
  assert adopt_checkpoints.adopt(workdir) == [2, 4]
  assert adopt_checkpoints.adopt(workdir) == []  # Recorded ones are left alone.
  state = train.train_and_evaluate(small_config(num_train_steps=6), workdir)
  straight = train.train_and_evaluate(small_config(num_train_steps=6), str(tmp_path / 'straight'))
  assert_states_identical(state, straight)


def test_another_run_s_checkpoint_under_an_older_step_is_set_aside_not_deleted(tmp_path, caplog):
  """Seed 1's step 2 copied beside seed 0's step 4: the keep policy (here 1) deleted it unread
  when step 6 was saved; it is moved to 2.foreign first."""
  ours, theirs = str(tmp_path / 'seed0'), str(tmp_path / 'seed1')
  train.train_and_evaluate(small_config(num_train_steps=4, checkpoint_every_steps=4), ours)
  train.train_and_evaluate(small_config(num_train_steps=2, seed=1), theirs)
  shutil.copytree(os.path.join(theirs, 'checkpoints', '2'), os.path.join(ours, 'checkpoints', '2'))
  train.train_and_evaluate(
      small_config(num_train_steps=6, checkpoint_every_steps=4, keep_checkpoints=1), ours)
  assert 'step 2 is of another run (seed=1 where this run has seed=0)' in caplog.text
  assert '2.foreign' in _steps(ours) and '6' in _steps(ours)


def test_a_workdir_whose_config_json_was_edited_is_refused_naming_the_keys(tmp_path):
  """config.json edited to seed 1, and the command given seed 1: every checkpoint was set aside
  as .foreign and training restarted at step 0 next to the old metrics, exit 0."""
  workdir, _ = _trained_to_4(tmp_path)
  path = os.path.join(workdir, 'config.json')
  with open(path) as f:
    config = json.load(f)
  config['seed'] = 1
  with open(path, 'w') as f:
    json.dump(config, f)
  before = _steps(workdir)
  with pytest.raises(errors.WorkdirError, match=r"no checkpoint in .* is this run's: they were "
                     r'written with seed=0 where this run has seed=1; if config.json was edited'):
    train.train_and_evaluate(small_config(num_train_steps=6, seed=1), workdir)
  assert _steps(workdir) == before


def test_the_adopt_command_is_one_line_either_way(tmp_path):
  import processes  # pylint: disable=g-import-not-at-top
  workdir, checkpoints = _trained_to_4(tmp_path)
  _remove_run_records(checkpoints, [4])
  done = processes.run('launch.adopt_checkpoints', [f'--workdir={workdir}'])
  assert done.returncode == 0, done.stderr[-2000:]
  assert done.stdout.strip() == f'{workdir}: the run of config.json recorded in checkpoint(s) [4]'
  os.remove(os.path.join(workdir, 'config.json'))
  refused = processes.run('launch.adopt_checkpoints', [f'--workdir={workdir}'])
  assert refused.returncode == 1
  assert refused.stderr.strip().splitlines()[-1].startswith(
      f'launch.adopt_checkpoints: error: {workdir}/config.json does not exist')
