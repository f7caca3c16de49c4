"""Checkpoints under workdir/checkpoints with orbax: the GANState and the data iterator's position.

Restoring walks back from the newest step: a checkpoint that cannot be read is reported, moved
aside to `<step>.corrupt` (never deleted) and the previous one is tried. A readable checkpoint of
a different model (the code changed its parameters) is not corruption: it is refused, untouched.
"""
import json
import os
from typing import Any, List, Optional, Tuple

from absl import logging
import flax
import jax
import orbax.checkpoint as ocp

from gan_jax import errors


# What a damaged checkpoint raises from orbax/tensorstore: unreadable or missing files and
# malformed metadata. Anything else is a bug and propagates.
_READ_ERRORS = (ValueError, OSError, KeyError, TypeError, RuntimeError)


class Checkpointer:
  """Saves every `save_interval_steps` (and when forced), keeping the newest `keep`."""

  def __init__(self, directory: str, keep: int, save_interval_steps: int,
               read_only: bool = False):
    self.directory = os.path.abspath(directory)
    self._read_only = read_only
    self._options = ocp.CheckpointManagerOptions(
        max_to_keep=keep, save_interval_steps=save_interval_steps, create=not read_only,
        read_only=read_only)
    self._manager = self._open()

  def _open(self) -> ocp.CheckpointManager:
    return ocp.CheckpointManager(self.directory, options=self._options,
                                 item_names=('state', 'data'))

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> List[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, state: Any, data_state: dict, force: bool = False) -> bool:
    return self._manager.save(
        step, force=force,
        args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                data=ocp.args.JsonSave(data_state)))

  def restore(self, template: Any, step: Optional[int] = None) -> Optional[Tuple[int, Any, dict]]:
    """(step, state, data_state) from the newest readable checkpoint (or from `step` only),
    or None if there is none."""
    for step in [step] if step is not None else sorted(self._manager.all_steps(), reverse=True):
      try:
        restored = self._manager.restore(
            step, args=ocp.args.Composite(state=ocp.args.StandardRestore(template),
                                          data=ocp.args.JsonRestore()))
      except _READ_ERRORS as e:
        self._check_same_model(step, template)
        if self._read_only:
          raise errors.CheckpointError(
              f'the checkpoint at step {step} in {self.directory} is unreadable ({type(e).__name__})'
              '; resume training once to set it aside, or evaluate another step') from e
        self._set_aside(step, e)
        continue
      return step, restored['state'], restored['data']
    return None

  def _check_same_model(self, step: int, template: Any) -> None:
    """Raises CheckpointError if the checkpoint's metadata is readable and names other
    parameters than `template` has (a model changed by the code, not a damaged file)."""
    path = os.path.join(self.directory, str(step), 'state', '_METADATA')
    try:
      with open(path, encoding='utf-8') as f:
        saved = set(json.load(f)['tree_metadata'])
    except (OSError, ValueError, KeyError, TypeError):
      return  # No readable metadata: a damaged checkpoint.
    expected = {str(k) for k in flax.traverse_util.flatten_dict(
        flax.serialization.to_state_dict(jax.device_get(template)))}
    missing, unexpected = sorted(expected - saved), sorted(saved - expected)
    if missing or unexpected:
      example = (missing or unexpected)[0]
      raise errors.CheckpointError(
          f'the checkpoint at step {step} in {self.directory} holds a different model '
          f'({len(missing)} parameters missing, {len(unexpected)} unexpected, e.g. {example}): '
          'the code or config that wrote it differs; use that version, or a new --workdir')

  def _set_aside(self, step: int, error: Exception) -> None:
    source = os.path.join(self.directory, str(step))
    target = source + '.corrupt'
    if jax.process_index() != 0:  # Process 0 moves it; every process falls back.
      return
    suffix = 1
    while os.path.exists(target):
      target, suffix = f'{source}.corrupt{suffix}', suffix + 1
    logging.warning('Checkpoint at step %d is unreadable (%s: %s); moved to %s, falling back to '
                    'the previous one.', step, type(error).__name__,
                    str(error).splitlines()[0] if str(error) else '', target)
    os.rename(source, target)
    self._manager.close()
    self._manager = self._open()

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()

