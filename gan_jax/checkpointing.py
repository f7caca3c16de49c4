"""Checkpoints under workdir/checkpoints with orbax: the GANState, the data iterator's position,
and a checksum of every array and of that position, so that restoring verifies what it read.

Restoring walks back from the newest step. A checkpoint that cannot be read, or whose contents
do not match their checksums (a flipped byte, a truncated file), is reported in one line, moved
aside to `<step>.corrupt` (never deleted) and the previous one is tried: in training and in
evaluation alike. A readable checkpoint of a different model (the code changed its parameters)
is not corruption: it is refused, untouched. Checkpoints written before checksums existed are
restored unverified, with a warning.

A checkpoint the keep policy drops is first renamed into `deleted/` (one atomic rename), then
removed there: orbax's own deletion removes a step's files one by one, so a `kill -9` during it
left `<step>/` with some items and no run record, which the next start refused (CI, 2026-12-07).
"""
import contextlib
import errno
import json
import os
import shutil
from typing import Any, Dict, List, Optional, Sequence, Tuple

from absl import logging
import jax
import numpy as np
import orbax.checkpoint as ocp

from gan_jax import checksums as checksums_lib
from gan_jax import errors
from gan_jax import workdir as workdir_lib


# Where dropped checkpoints are renamed before they are removed (orbax's todelete_subdir).
DELETED = 'deleted'

# What a damaged checkpoint raises from orbax/tensorstore: unreadable or missing files and
# malformed metadata; orbax wraps a failed array read in a bare `Exception` (matched by exact
# type below). Anything else is a bug and propagates.
_READ_ERRORS = (ValueError, OSError, KeyError, TypeError, RuntimeError, EOFError)


def _is_read_error(error: Exception) -> bool:
  return isinstance(error, _READ_ERRORS) or type(error) is Exception  # pylint: disable=unidiomatic-typecheck
# 'run': the config of the run that wrote the checkpoint (a copy of another seed's checkpoint
# has the same shapes; only this tells them apart). Checkpoints written before it existed lack
# it: training refuses them until `python -m launch.adopt_checkpoints` records the workdir's run
# in them (Checkpointer._check_origins); evaluation reads them.
_ITEMS = ('state', 'data', 'checksums', 'run')
# Where a checkpoint keeps its run's config (orbax's JsonSave of the item 'run').
RUN_RECORD = ('run', 'metadata')


class CorruptCheckpoint(Exception):
  """A checkpoint was read but its contents differ from what was saved, or from its name."""


class ForeignCheckpoint(Exception):
  """A readable checkpoint that another run wrote (another seed, say): copied in by mistake."""


def _get(tree: dict, dotted: str):
  for part in dotted.split('.'):
    tree = tree.get(part) if isinstance(tree, dict) else None
  return tree


def _metric_value(best_metric: str):
  """A checkpoint's rank by `best_metric` (higher is better; NaN or absent ranks lowest)."""
  def value(metrics) -> float:
    v = float(metrics.get(best_metric, float('nan')))
    return v if np.isfinite(v) else float('-inf')
  return value


def _retention(keep: int, best_metric: Optional[str], keep_steps: Sequence[int] = ()) -> dict:
  """The newest `keep` checkpoints, the best one by `best_metric` among those saved with it,
  and those at `keep_steps` (a long run's milestones, e.g. the MNIST row at epochs 1,000, 1,500
  and 2,000): what model selection and a report need of a long run, not all of it. As
  CheckpointManagerOptions fields: `best_fn` too, because only with it does orbax write each
  step's metrics to disk (<step>/metrics); without them a resumed run's manager knows no old
  checkpoint's metric and deletes the best one as soon as it is not among the newest."""
  policies = ocp.checkpoint_managers.preservation_policy
  kept = [policies.LatestN(n=keep)]
  if keep_steps:
    kept.append(policies.CustomSteps(steps=[int(s) for s in keep_steps]))
  if best_metric is None:
    return dict(preservation_policy=policies.AnyPreservationPolicy(kept))
  value = _metric_value(best_metric)
  kept.append(policies.BestN(get_metric_fn=value, n=1, keep_checkpoints_without_metrics=False))
  return dict(preservation_policy=policies.AnyPreservationPolicy(kept), best_fn=value,
              best_mode='max')


def _describe_difference(saved: dict, config, differ: List[str]) -> str:
  """'seed=1 where this run has seed=0' for the first three differing keys."""
  ours = workdir_lib.as_dict(config)
  return (f'{", ".join(f"{k}={_get(saved, k)!r}" for k in differ[:3])} where this run has '
          f'{", ".join(f"{k}={_get(ours, k)!r}" for k in differ[:3])}')


def _free_name(path: str, suffix: str) -> str:
  """`path + suffix`, or with a number after it if that is taken (nothing set aside before is
  overwritten)."""
  target, number = path + suffix, 1
  while os.path.lexists(target):
    target, number = f'{path}{suffix}{number}', number + 1
  return target


class Checkpointer:
  """Saves every `save_interval_steps` (and when forced), keeping the newest `keep`, those at
  `keep_steps` and, with `best_metric`, the best checkpoint saved with that metric."""

  def __init__(self, directory: str, keep: int, save_interval_steps: int,
               read_only: bool = False, best_metric: Optional[str] = None, config=None,
               keep_steps: Sequence[int] = ()):
    self.directory = os.path.abspath(directory)
    self._read_only = read_only
    self._config = config  # The run's: recorded in each save, compared on restore.
    self._options = ocp.CheckpointManagerOptions(
        **_retention(keep, best_metric, keep_steps),
        save_interval_steps=save_interval_steps, create=not read_only,
        read_only=read_only,
        # A checkpoint whose writing was cut short (kill -9, a full disk) leaves a temporary
        # directory that never counts as a checkpoint; a writer removes those when it opens.
        cleanup_tmp_directories=not read_only,
        todelete_subdir=None if read_only else DELETED)
    self._set_aside_unopenable(writer=not read_only)
    if not read_only and config is not None:
      self._check_origins()
    self._purge_deleted()
    self._manager = self._open()

  def _set_aside_unopenable(self, writer: bool) -> None:
    """What orbax cannot open is moved aside as `<step>.corrupt`, with a warning: a step's
    metrics file that is not a JSON object (orbax's JSONDecodeError when it opens the
    directory: no resume, no evaluation); and, for a writer, a file (not a directory) named
    like a step, which orbax would delete when that step is saved."""
    if not os.path.isdir(self.directory) or jax.process_index() != 0:
      return
    for name in sorted(os.listdir(self.directory)):
      path = os.path.join(self.directory, name)
      if not name.isdigit():
        continue
      if not os.path.isdir(path):
        if writer:
          target = _free_name(path, '.corrupt')
          os.rename(path, target)
          logging.warning('%s is a file, not a checkpoint; moved to %s so that saving step %s '
                          'does not delete it.', path, target, name)
        continue
      metrics = os.path.join(path, 'metrics', 'metrics')  # orbax's <step>/metrics/metrics.
      if os.path.isfile(metrics):
        try:
          with open(metrics, encoding='utf-8') as f:
            readable = isinstance(json.load(f), dict)
        except (OSError, ValueError, UnicodeDecodeError):
          readable = False
        if not readable:
          target = _free_name(path, '.corrupt')
          try:
            os.rename(path, target)
          except OSError as e:  # A read-only checkpoints/: orbax will fail on it, in one line.
            logging.warning('The checkpoint at step %s is unreadable (its metrics file is not a '
                            'JSON object) and cannot be moved aside (%s).', name, e.strerror)
            continue
          logging.warning('The checkpoint at step %s is unreadable (its metrics file is not a '
                          'JSON object); moved to %s, falling back to the previous one.', name,
                          target)

  def _check_origins(self) -> None:
    """Training never resumes from, nor lets the keep policy delete, a checkpoint it cannot show
    is this run's (each records the run's config, `run/`):
    - one without a record (written before records existed, or copied from such a run) is
      refused in one line, every file left as it is; `python -m launch.adopt_checkpoints`
      records the workdir's run in those that are its own;
    - when no recorded one is this run's, the workdir is refused in one line naming the keys
      (config.json changed after they were written, or the directory holds another run's);
    - else each other run's is moved to `<step>.foreign` (set aside, never deleted)."""
    if not os.path.isdir(self.directory):
      return
    unrecorded, foreign, own = [], {}, []
    for name in sorted((n for n in os.listdir(self.directory) if n.isdigit()), key=int):
      path = os.path.join(self.directory, name, *RUN_RECORD)
      if not os.path.exists(path):
        unrecorded.append(int(name))
        continue
      try:
        with open(path, encoding='utf-8') as f:
          saved = json.load(f)
      except (OSError, ValueError, UnicodeDecodeError) as e:
        saved = e
      if not isinstance(saved, dict):
        self._set_aside(int(name), f'corrupt (its run record is unreadable: {saved})'[:300],
                        reopen=False)
        continue
      differ = workdir_lib.identifying(workdir_lib.differing_keys(saved, self._config),
                                       self._config)
      if differ:
        foreign[int(name)] = _describe_difference(saved, self._config, differ)
      else:
        own.append(int(name))
    if unrecorded:
      raise errors.CheckpointError(
          f'the checkpoint(s) at step(s) {unrecorded} in {self.directory} carry no record of '
          'the run that wrote them (gan_jax before such records, or copied in), so training '
          'will not resume from or delete them: if they are this run\'s, record it in them with '
          f'`python -m launch.adopt_checkpoints --workdir={os.path.dirname(self.directory)}`, '
          'else move them out of checkpoints/')
    if foreign and not own:
      raise errors.WorkdirError(
          f'no checkpoint in {self.directory} is this run\'s: they were written with '
          f'{next(iter(foreign.values()))}; if config.json was edited after they were written, '
          'restore it, else choose a new --workdir')
    for step, difference in foreign.items():
      self._set_aside(step, f'of another run ({difference})', suffix='.foreign', reopen=False)

  def _purge_deleted(self) -> None:
    """Removes what the keep policy renamed into deleted/ (a removal a kill cut short included:
    nothing there is a checkpoint any more). Orbax renames in its finalizing thread; each rename
    is whole, and a step is dropped once, so nothing being removed here is still being moved."""
    if self._read_only or jax.process_index() != 0:
      return
    deleted = os.path.join(self.directory, DELETED)
    for name in (os.listdir(deleted) if os.path.isdir(deleted) else ()):
      shutil.rmtree(os.path.join(deleted, name), ignore_errors=True)

  def _open(self) -> ocp.CheckpointManager:
    return ocp.CheckpointManager(self.directory, options=self._options, item_names=_ITEMS)

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> List[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, state: Any, data_state: dict, force: bool = False,
           metrics: Optional[Dict[str, float]] = None) -> bool:
    """Starts writing the checkpoint (asynchronously; `wait` finishes it); `metrics` are those
    evaluated at this step, which the best-checkpoint policy ranks."""
    if not force and not self._manager.should_save(step):
      return False
    self._purge_deleted()  # What earlier saves dropped.
    items = dict(state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state),
                 checksums=ocp.args.JsonSave(checksums_lib.checksums(state, data_state)))
    if self._config is not None:
      items['run'] = ocp.args.JsonSave(workdir_lib.as_dict(self._config))
    with self._storage_errors(step):
      return self._manager.save(
          step, force=force, metrics=dict(metrics) if metrics else None,
          args=ocp.args.Composite(**items))

  @contextlib.contextmanager
  def _storage_errors(self, step: Optional[int] = None):
    """A write that fails for lack of space (or of permission) is one line naming what is
    kept; the checkpoint being written is left incomplete, which restoring ignores."""
    try:
      yield
    except Exception as e:  # orbax and tensorstore wrap OSErrors in their own types.
      text = str(e)
      reasons = {errno.ENOSPC: 'the disk is full (No space left on device)',
                 errno.EROFS: 'the storage is read-only (Read-only file system)',
                 errno.EACCES: 'permission was denied',
                 errno.ENAMETOOLONG: 'a path in it is too long for the file system (File name '
                                     'too long): choose a shorter --workdir'}
      reason = reasons.get(getattr(e, 'errno', None)) or next(
          (r for code, r in reasons.items() if os.strerror(code) in text), None)
      if reason is None:
        raise
      kept = sorted(int(n) for n in os.listdir(self.directory) if n.isdigit())
      raise errors.WorkdirError(
          f'could not write the checkpoint{f" at step {step}" if step else ""} in '
          f'{self.directory}: {reason}; the checkpoints kept are {kept or "none"}; fix the '
          'storage and run the same command to resume') from e

  def restore(self, template: Any, step: Optional[int] = None) -> Optional[Tuple[int, Any, dict]]:
    """(step, state, data_state) from the newest good checkpoint (or from `step` only), or None
    if there is none; every bad one met on the way is set aside."""
    for step in [step] if step is not None else sorted(self._manager.all_steps(), reverse=True):
      try:
        return (step, *self._read_verified(step, template))
      except CorruptCheckpoint as e:
        self._set_aside(step, f'corrupt ({e})')
      except ForeignCheckpoint as e:
        self._set_aside(step, f'of another run ({e})', suffix='.foreign')
      except Exception as e:  # pylint: disable=broad-except
        if not _is_read_error(e):
          raise
        self._check_same_model(step, template)
        self._set_aside(step, f'unreadable ({errors.brief(e)})')
    return None

  def identity(self, step: int) -> Optional[str]:
    """A digest of the array checksums saved with the checkpoint at `step` (what a score
    computed from it records), or None when it has none or they cannot be read. Reads only
    the checksums, not the arrays."""
    if not os.path.isdir(os.path.join(self.directory, str(step), 'checksums')):
      return None
    try:
      saved = self._manager.restore(step, args=ocp.args.Composite(
          checksums=ocp.args.JsonRestore()))['checksums']
      return checksums_lib.of_json(saved['state'])[:32]
    except Exception as e:  # pylint: disable=broad-except
      if not _is_read_error(e):
        raise
      return None

  def _read_verified(self, step: int, template: Any) -> Tuple[Any, dict]:
    has = lambda item: os.path.isdir(os.path.join(self.directory, str(step), item))
    has_checksums = has('checksums')
    items = dict(state=ocp.args.StandardRestore(template), data=ocp.args.JsonRestore())
    if has_checksums:
      items['checksums'] = ocp.args.JsonRestore()
    if has('run') and self._config is not None:
      items['run'] = ocp.args.JsonRestore()
    restored = self._manager.restore(step, args=ocp.args.Composite(**items))
    state, data_state = restored['state'], restored['data']
    if 'run' in items:
      saved = restored['run']
      saved = saved if isinstance(saved, dict) else {}
      differ = workdir_lib.identifying(workdir_lib.differing_keys(saved, self._config),
                                       self._config)
      if differ:
        raise ForeignCheckpoint(_describe_difference(saved, self._config, differ))
    inside = getattr(state, 'step', None)
    inside = None if inside is None else int(np.asarray(jax.device_get(inside)))
    if inside is not None and inside != step:
      raise CorruptCheckpoint(f'it holds step {inside}, not the {step} of its name: a copy or a '
                              'link of another checkpoint')
    if not has_checksums:
      logging.warning('The checkpoint at step %d in %s has no checksums (written by an older '
                      'version): restored unverified.', step, self.directory)
      return state, data_state
    saved, found = restored['checksums'], checksums_lib.checksums(state, data_state)
    bad = sorted(k for k in set(saved['state']) | set(found['state'])
                 if saved['state'].get(k) != found['state'].get(k))
    if saved.get('data') != found['data']:
      bad.append('the data position')
    if bad:
      raise CorruptCheckpoint(f'{len(bad)} array(s) differ from their checksums, e.g. {bad[0]}')
    return state, data_state

  def _check_same_model(self, step: int, template: Any) -> None:
    """Raises CheckpointError if the checkpoint's metadata is readable and names other
    parameters than `template` has (a model changed by the code, not a damaged file)."""
    path = os.path.join(self.directory, str(step), 'state', '_METADATA')
    try:
      with open(path, encoding='utf-8') as f:
        saved = set(json.load(f)['tree_metadata'])
    except (OSError, ValueError, KeyError, TypeError):
      return  # No readable metadata: a damaged checkpoint.
    expected = set(checksums_lib.flatten(jax.device_get(template)))
    missing, unexpected = sorted(expected - saved), sorted(saved - expected)
    if missing or unexpected:
      example = (missing or unexpected)[0]
      raise errors.CheckpointError(
          f'the checkpoint at step {step} in {self.directory} holds a different model '
          f'({len(missing)} parameters missing, {len(unexpected)} unexpected, e.g. {example}): '
          'the code or config that wrote it differs; use that version, or a new --workdir')

  def _set_aside(self, step: int, why: str, suffix: str = '.corrupt', reopen: bool = True) -> None:
    source = os.path.join(self.directory, str(step))
    if not os.path.lexists(source):  # Vanished meanwhile (another process removed it).
      logging.warning('The checkpoint at step %d vanished while it was read; falling back to the '
                      'previous one.', step)
    else:
      target = _free_name(source, suffix)
      if jax.process_index() == 0:  # Process 0 moves it; every process falls back.
        os.rename(source, target)
      logging.warning('The checkpoint at step %d is %s; moved to %s, falling back to the previous '
                      'one.', step, why, target)
    if reopen:
      self._manager.close()
      self._manager = self._open()

  def wait(self) -> None:
    with self._storage_errors():
      self._manager.wait_until_finished()
    self._purge_deleted()

  def close(self) -> None:
    self._manager.close()
