"""Where each seed of a table stands, read from its workdir and touching nothing there:
`python -m launch.reproduce --table=NAME --progress`, while the runs train (a CPU's hours, a pod's
sweep) or after. Each seed's numbers are those of its metrics evaluated during training
(config.eval.every_steps), which equal --mode=eval's of the same checkpoint; its selected step is
the one with the best selection metric logged so far (the highest Parzen validation LL), the
checkpoint the best-checkpoint policy keeps. Nothing is trained or evaluated.
"""
import os
from typing import Dict, Optional

import numpy as np

from gan_jax import lock
from gan_jax import metrics_log
from gan_jax import records
from launch import report

NOT_DURING_TRAINING = 'not evaluated during training (config.eval.every_steps)'
REAL_DATA = 'real data is scored by --mode=eval, not during training'


def status(workdir: str) -> str:
  """'training' (a live run holds the workdir's lock), how it ended (stop.json's stopped_by:
  'early_stopping' / 'num_train_steps'), or 'paused' (stopped before either: a kill, a
  session's end; the same command resumes it)."""
  holder = lock.holder(workdir)
  if holder and holder.get('purpose', 'training') == 'training':  # (Not an evaluation's.)
    return 'training'
  return records.read(os.path.join(workdir, 'stop.json')).get('stopped_by') or 'paused'


def _selected(logged, selection: Optional[tuple]) -> Optional[dict]:
  """The evaluation record selection picks: the highest finite selection metric (the earliest
  of equals), or with none configured the newest evaluation."""
  if selection is None:
    evaluated = [r for r in logged if any(k.startswith('eval/') for k in r)]
    return evaluated[-1] if evaluated else None
  key = 'eval/{}/{}'.format(*selection)
  scored = [r for r in logged if isinstance(r.get(key), (int, float)) and np.isfinite(r[key])]
  return max(scored, key=lambda r: r[key]) if scored else None


def rule_line(config, logged, chosen: Optional[dict], per_epoch: Optional[float],
              how: str = 'training') -> str:
  """Where a seed stands against the stopping rule (gan_jax/early_stopping.py, replayed on its
  logged evaluations as training replays them on resume) and its selected evaluation."""
  from gan_jax import early_stopping  # pylint: disable=g-import-not-at-top  (JAX: after flags)
  key = early_stopping.monitored_key(config)
  if key is None:
    return 'no selection metric is evaluated during training (the newest evaluation is shown)'
  if chosen is None:
    return 'no evaluation logged yet'
  epoch = ((lambda step: f'epoch {step / per_epoch:g}') if per_epoch else
           (lambda step: f'step {step:,}'))
  scores = ', '.join(f'{k.split("/")[-1]} {v:.2f}' for k, v in chosen.items()
                     if k.startswith(key.rsplit('/', 1)[0] + '/') and k != key)
  text = f'best {key.split("/")[-1]} {chosen[key]:.2f} at {epoch(chosen["step"])} ({scores})'
  rule = config.early_stopping
  if not rule.patience:
    return text + '; no stopping rule (trains to num_train_steps)'
  state = early_stopping.progress(
      early_stopping.evaluations(logged, key, config.eval.every_steps), rule.min_delta)
  without = (f'{state.since_best} of {rule.patience} evaluations without a gain > '
             f'{rule.min_delta:g} over {state.best_value:.2f} ({epoch(state.best_step)})')
  if how not in ('training', 'paused'):
    return f'{text}; ended at {epoch(logged[-1]["step"])}, the rule at {without}'
  ends = state.best_step + rule.patience * config.eval.every_steps
  return f'{text}; the rule: {without}, so it stops at {epoch(ends)} unless one comes'


def remaining(config, logged, per_epoch: Optional[float]) -> str:
  """How far an unfinished seed is from num_train_steps, and how long that takes at the median
  rate of its last 20 logged records (its training steps alone: evaluations add to it); '' at
  or past its length."""
  left = config.num_train_steps - logged[-1]['step']
  if left <= 0:
    return ''
  text = f'{left:,} steps to go' + (f' ({left / per_epoch:,.0f} epochs)' if per_epoch else '')
  rates = [r['steps_per_sec'] for r in logged[-20:]
           if isinstance(r.get('steps_per_sec'), (int, float)) and r['steps_per_sec'] > 0]
  if not rates:
    return text
  rate = float(np.median(rates))
  return f'{text}, ~{left / rate / 3600:.1f} h at its recent {rate:.1f} steps/s (training alone)'


def standing(config, workdir: str, seed: int, metric_names, real_data: bool = False
             ) -> Optional[Dict]:
  """One seed's entry for launch.reproduce's table (the fields run_seed returns), or None when
  it has logged nothing yet. A `real_data` row (held-out real rows in place of samples) is scored
  only by --mode=eval: its metrics are marked not computed."""
  from gan_jax.evaluation import metrics  # pylint: disable=g-import-not-at-top  (JAX: after flags)
  # The last record of each step counts (a resumed run may log a step twice).
  logged = metrics_log.last_of_each_step(os.path.join(workdir, 'metrics.jsonl'))
  if not logged:
    return None
  chosen = _selected(logged, metrics.selection_key(config))
  summary = {'selected_step': chosen['step'] if chosen else None}
  not_computed = {}
  for name in metric_names:
    prefix = f'eval/{name}/'
    found = {k[len(prefix):]: v for k, v in (chosen or {}).items() if k.startswith(prefix)}
    if real_data:
      not_computed[name] = REAL_DATA
    elif found:
      summary[name] = {**metrics.get(name).unlogged(config), **found}
    elif chosen is None and config.eval.every_steps and name in metrics.names(config):
      not_computed[name] = (f'no evaluation logged yet; the first is at step '
                            f'{config.eval.every_steps:,}')
    else:
      not_computed[name] = NOT_DURING_TRAINING
  per_epoch = report.steps_per_epoch(workdir)
  last = logged[-1]['step']
  how = status(workdir)
  line = '' if real_data else rule_line(config, logged, chosen, per_epoch, how)
  if line and how in ('training', 'paused'):
    line = '; '.join(filter(None, (line, remaining(config, logged, per_epoch))))
  return {'summary': summary, 'workdir': workdir, 'seed': seed, 'steps': last,
          'epochs': last / per_epoch if per_epoch else None, 'stopped_by': how,
          'seconds': report.train_seconds(workdir), 'stand_in': None,
          'hardware': records.read(os.path.join(workdir, 'hardware.json')).get(
              'description', 'not recorded'),
          'not_computed': not_computed, 'data': '', 'standing': line}
