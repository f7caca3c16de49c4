"""The Parzen protocols of Table 1: which real points choose σ, which are scored, and the
reference that puts real training examples where G's samples would be.

'holdout' (MNIST): σ chosen on the first `num_validation` rows of the validation split (the
released code: 1,000 of train rows 50k-60k), test log-likelihood over the test split, mean ±
standard error over test examples.
'tfd_folds' (TFD): for each fold σ is chosen on that fold's validation set and the fold's test
set is scored; the report is the mean over folds ± the standard error across folds.
"""
import copy
import dataclasses
from typing import Dict, List, Optional, Sequence

import numpy as np

from gan_jax import data
from gan_jax import errors
from gan_jax.evaluation import parzen

PROTOCOLS = ('holdout', 'tfd_folds')


@dataclasses.dataclass(frozen=True)
class ParzenSets:
  """One validation/test pair, and held-out training examples for the real-data reference."""
  name: str
  validation: np.ndarray
  test: np.ndarray
  reference: np.ndarray


def _real(data_config, split: str, num: int) -> np.ndarray:
  examples = data.load_split(data_config, split)
  return data.to_float(examples[:num] if num else examples)


def _held_out_training_rows(train: np.ndarray, num: int, seed: int) -> np.ndarray:
  rows = np.random.default_rng(seed).permutation(len(train))[:num]
  return data.to_float(train[np.sort(rows)])


def load_sets(config, train_examples: Optional[np.ndarray] = None) -> List[ParzenSets]:
  """The protocol's validation/test/reference sets, as float arrays of the data's shape.

  `train_examples`, when the caller already holds config.data's training split, saves reading it
  again for the holdout protocol's reference rows (each TFD fold has its own training split).
  """
  ev = config.eval
  if ev.protocol == 'holdout':
    configs = [('', config.data, train_examples)]
  elif ev.protocol == 'tfd_folds':
    configs = []
    for fold in ev.folds:
      fold_config = copy.deepcopy(config.data)
      fold_config.fold = fold
      configs.append((f'fold_{fold}', fold_config, None))
  else:
    raise errors.ConfigError(f'config.eval.protocol={ev.protocol!r} is unknown; use one of '
                             f'{list(PROTOCOLS)}')
  sets = []
  for name, data_config, train in configs:
    train = data.load_split(data_config, 'train') if train is None else train
    validation, test = (_real(data_config, split, num) for split, num in (
        ('validation', ev.num_validation), ('test', ev.num_test)))
    for split, rows in (('validation', validation), ('test', test)):
      data.check_like_training(rows, train, data_config, split)
    sets.append(ParzenSets(name=name, validation=validation, test=test,
                           reference=_held_out_training_rows(train, ev.num_reference, ev.seed)))
  return sets


def aggregate(per_set: Sequence[Dict]) -> Dict:
  """One set: its test mean ± s.e. over test examples. Several folds: the mean of the folds'
  test means ± the standard error across folds (the TFD protocol)."""
  validation = float(np.mean([r['validation_ll'] for r in per_set]))
  if len(per_set) == 1:
    return {'validation_ll': validation, 'test_ll': per_set[0]['test_ll'],
            'test_stderr': per_set[0]['test_stderr']}
  means = np.array([r['test_ll'] for r in per_set])
  return {'validation_ll': validation, 'test_ll': float(means.mean()),
          'test_stderr': float(means.std(ddof=1) / np.sqrt(len(means)))}


def evaluate(centres_for, sets: Sequence[ParzenSets], eval_config) -> Dict:
  """Runs the protocol with Parzen centres `centres_for(sets_entry)` (G's samples, or the
  held-out real rows for the reference)."""
  per_set = []
  for s in sets:
    result = parzen.evaluate_parzen(centres_for(s), s.validation, s.test,
                                    sigmas=tuple(eval_config.sigmas),
                                    refine=eval_config.refine_sigma)
    per_set.append({'name': s.name, 'sigma': result['sigma'],
                    'validation_ll': result['validation_ll'],
                    'test_ll': result['mean'], 'test_stderr': result['stderr'],
                    'per_sigma': result['per_sigma']})
  return {**aggregate(per_set), 'sets': per_set}
