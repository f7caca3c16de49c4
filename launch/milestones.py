"""A row at given epochs (the reproduction issue: the MNIST row at 1,000, 1,500 and 2,000 epochs).

For each seed and epoch E, from the evaluations its run logged during training (the numbers
--mode=eval gives the same checkpoints):
- newest: the evaluation at E, the model a run stopped at E would be (the paper's way: the
  released yaml trains until it is killed, and the last pickle is scored);
- best by validation: among the evaluations up to E, the one with the highest validation score
  (the table's way, the checkpoint the best-checkpoint policy keeps);
then, over the seeds that reached E, the mean ± s.e. (std with ddof 1 / sqrt(seeds)) of each,
and the best seed (the highest newest score).
"""
import dataclasses
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

from gan_jax import metrics_log
from launch import report


@dataclasses.dataclass(frozen=True)
class Score:
  value: float
  stderr: float
  step: int


def at_epoch(logged: Sequence[dict], step: int, metric: str, selection: str, score: str
             ) -> Optional[Tuple[Score, Score]]:
  """(newest, best by validation) at `step`, or None when the run has no evaluation there yet."""
  keys = [f'eval/{metric}/{k}' for k in (selection, score, f'{score.rsplit("_", 1)[0]}_stderr')]
  evaluated = [r for r in logged if r['step'] <= step and keys[1] in r]
  if not evaluated or evaluated[-1]['step'] != step:
    return None

  def as_score(r):
    return Score(float(r[keys[1]]), float(r.get(keys[2], math.nan)), r['step'])

  valid = [r for r in evaluated if math.isfinite(r.get(keys[0], math.nan))]
  best = max(valid, key=lambda r: r[keys[0]]) if valid else evaluated[-1]  # Earliest of equals.
  return as_score(evaluated[-1]), as_score(best)


def _across(values: List[float]) -> str:
  if len(values) == 1:
    return f'{values[0]:.2f} (one seed)'
  from gan_jax.evaluation.metrics import base  # pylint: disable=g-import-not-at-top  (JAX: late)
  return base.spread(values, None, 2)  # Mean ± s.e. across seeds, as every table cell.


def markdown(label: str, published: str, workdirs: Dict[int, str], epochs: Sequence[int],
             metric: str = 'parzen', selection: str = 'validation_ll', score: str = 'test_ll'
             ) -> List[str]:
  """The section of launch.reproduce's table for one row."""
  lines = [f'### {label} at {", ".join(f"{e:,}" for e in epochs)} epochs', '',
           f'{metric} {score} of the newest checkpoint (the paper\'s way) and of the best by '
           f'{selection} so far (the table\'s way), from the evaluations logged in training; '
           f'mean ± s.e. across the seeds that reached the epoch. Published: {published}.', '',
           '| epoch | seeds | newest: mean ± s.e. | best by validation: mean ± s.e. | per seed: '
           'newest / best (its epoch) | best seed |', '| --- | --- | --- | --- | --- | --- |']
  logged = {seed: metrics_log.last_of_each_step(os.path.join(w, 'metrics.jsonl'))
            for seed, w in workdirs.items()}
  per_epoch = {seed: report.steps_per_epoch(w) for seed, w in workdirs.items()}
  for epoch in epochs:
    found = {}
    for seed, records in logged.items():
      if per_epoch[seed]:
        found[seed] = at_epoch(records, round(epoch * per_epoch[seed]), metric, selection, score)
    reached = {seed: scores for seed, scores in found.items() if scores}
    if not reached:
      where = ', '.join(f'seed {s} at epoch {r[-1]["step"] / per_epoch[s]:,.0f}'
                        for s, r in logged.items() if r and per_epoch[s])
      lines.append(f'| {epoch:,} | none yet | | | {where or "nothing logged"} | |')
      continue
    per_seed = '; '.join(
        f'{s}: {n.value:.2f} ± {n.stderr:.2f} / {b.value:.2f} ({b.step / per_epoch[s]:,.0f})'
        for s, (n, b) in reached.items())
    top = max(reached, key=lambda s: reached[s][0].value)
    lines.append(f'| {epoch:,} | {", ".join(str(s) for s in reached)} | '
                 f'{_across([n.value for n, _ in reached.values()])} | '
                 f'{_across([b.value for _, b in reached.values()])} | {per_seed} | '
                 f'seed {top}: {reached[top][0].value:.2f} ± {reached[top][0].stderr:.2f} |')
  return lines + ['']
