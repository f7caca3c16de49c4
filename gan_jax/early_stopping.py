"""When training may end before config.num_train_steps: the selection metric stopped improving.

The selection metric is the one --mode=eval selects checkpoints on (the Parzen validation LL for
the 2014 experiments; higher is better), evaluated during training every config.eval.every_steps.
The run ends after `patience` evaluations in a row none of which beat the best so far by more
than `min_delta`; num_train_steps stays the hard cap; patience 0 turns the rule off.

The rule is a pure function of the evaluations logged so far, and those are read back from
metrics.jsonl on resume (records past the checkpoint resumed from are dropped by the log), so a
run killed in the middle of a patience window stops at the same step as one never interrupted.
"""
import dataclasses
from typing import Iterable, Optional, Sequence, Tuple

import ml_collections

from gan_jax import errors
from gan_jax.evaluation import metrics as metrics_lib


def default_config() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(
      patience=0,  # Evaluations without improvement before training ends; 0: train to the cap.
      min_delta=0.0,  # An evaluation improves only if it beats the best by more than this.
  ))


def validate(config, training: bool = True) -> None:
  """The rule's keys; in training, that its selection metric is evaluated (--mode=eval selects
  checkpoints on its own metrics and may score others: the rule does not apply there)."""
  es = config.early_stopping
  errors.require(isinstance(es.patience, int) and es.patience >= 0,
                 f'config.early_stopping.patience={es.patience!r} must be an integer >= 0 '
                 '(0 turns the rule off)')
  errors.require(isinstance(es.min_delta, (int, float)) and 0 <= es.min_delta < float('inf'),
                 f'config.early_stopping.min_delta={es.min_delta!r} must be a finite number >= 0')
  if es.patience and training:
    errors.require(config.eval.every_steps > 0 and monitored_key(config) is not None,
                   f'config.early_stopping.patience={es.patience} needs a selection metric '
                   'evaluated during training: set config.eval.every_steps > 0 and name a metric '
                   'that selects (e.g. parzen) in config.eval.metrics')


def monitored_key(config) -> Optional[str]:
  """The metrics.jsonl key of the selection metric ('eval/parzen/validation_ll'), or None."""
  selection = metrics_lib.selection_key(config)
  return None if selection is None else 'eval/{}/{}'.format(*selection)


@dataclasses.dataclass(frozen=True)
class Progress:
  """Where the rule stands after the evaluations seen so far."""
  best_step: Optional[int] = None
  best_value: float = float('-inf')
  since_best: int = 0  # Evaluations after best_step that did not improve on it.
  last_step: Optional[int] = None


def update(state: Progress, step: int, value: float, min_delta: float) -> Progress:
  """One more evaluation: it improves if it beats the best by more than min_delta (the first
  always does; a NaN never does)."""
  if value > state.best_value + min_delta:
    return Progress(step, value, 0, step)
  return dataclasses.replace(state, since_best=state.since_best + 1, last_step=step)


def progress(evaluations: Iterable[Tuple[int, float]], min_delta: float) -> Progress:
  """The state after (step, value) pairs, in step order."""
  state = Progress()
  for step, value in evaluations:
    state = update(state, step, value, min_delta)
  return state


def should_stop(state: Progress, patience: int) -> bool:
  return patience > 0 and state.since_best >= patience


def counts(step: int, every_steps: int) -> bool:
  """Whether the evaluation at `step` counts for the rule: only those every eval.every_steps do,
  not the extra one at the last step of a run whose cap was later raised."""
  return every_steps > 0 and step % every_steps == 0


def evaluations(records: Sequence[dict], key: str, every_steps: int) -> list:
  """(step, value) of `key` in metrics.jsonl's records, of the evaluations that count."""
  return [(r['step'], r[key]) for r in records if key in r and counts(r['step'], every_steps)]


def reason(state: Progress, key: str, patience: int, min_delta: float) -> str:
  """The log line (and metrics.jsonl's 'stopped' record) of a run the rule ended."""
  return (f'{key} has not exceeded {state.best_value:.6g} (step {state.best_step}) by more than '
          f'{min_delta:g} in {state.since_best} evaluations (patience {patience}), the last at step '
          f'{state.last_step}')
