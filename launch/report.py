"""The reproduction report's figures, beside tables/<table>.md and embedded in it.

For each row whose metric was evaluated during training (a metric with a `curve_key`: the
Parzen test LL), one figure: that number against epochs, one line per seed (from each run's
metrics.jsonl), the published value with its ± band, the real-data reference as a line, and
each seed's selected checkpoint marked; and the first seed's Fig. 2 (samples beside their
nearest training example) of its selected checkpoint. Rows that name a comparison
(tables.Row.compare) share one more figure: a metric against epochs, each row's mean over its
seeds with a ± s.e. band, the real data as a line; and under it, each row against the first:
the difference of their means ± its s.e., and whether it exceeds 2 s.e., for that metric and
for those the rows name in compare_also (scored at the end only: no figure).
"""
import os
import re
import shutil
from typing import Dict, List, Optional, Tuple

import numpy as np

from gan_jax import metrics_log
from gan_jax import records

_PUBLISHED = re.compile(r'^\s*(-?\d+(?:\.\d*)?|-?\.\d+)\s*±\s*(\d+(?:\.\d*)?|\.\d+)')


def parse_published(text: str) -> Optional[Tuple[float, float]]:
  """'225 ± 2' -> (225.0, 2.0); '7.72 ± .13' -> (7.72, 0.13); None if no 'value ± s.e.'."""
  match = _PUBLISHED.match(text or '')
  return (float(match.group(1)), float(match.group(2))) if match else None


def steps_per_epoch(workdir: str) -> Optional[float]:
  """From the run's stop.json (written when training ended), else from the `epoch` of its newest
  metrics.jsonl record (a run still training), or None."""
  stop = records.read(os.path.join(workdir, 'stop.json'))
  try:
    return stop['step'] / stop['epoch']
  except (KeyError, TypeError, ZeroDivisionError):
    pass
  logged = [r for r in metrics_log.read(os.path.join(workdir, 'metrics.jsonl'))
            if isinstance(r.get('epoch'), (int, float)) and r['epoch'] > 0]
  return logged[-1]['step'] / logged[-1]['epoch'] if logged else None


def train_seconds(workdir: str) -> float:
  """Training wall time from metrics.jsonl: each logged interval's steps / its steps per second
  (the last record of each step counts, as a resumed run may log a step twice)."""
  path = os.path.join(workdir, 'metrics.jsonl')
  if not os.path.exists(path):
    return float('nan')
  logged = {r['step']: r for r in metrics_log.read(path) if 'steps_per_sec' in r}
  total, previous = 0.0, 0
  for step in sorted(logged):
    total += (step - previous) / max(float(logged[step]['steps_per_sec']), 1e-12)
    previous = step
  return total


def curve(workdir: str, key: str) -> Tuple[np.ndarray, np.ndarray]:
  """(steps, values) of `key` in metrics.jsonl, one per step (the last logged), in step order."""
  by_step = {r['step']: r[key] for r in metrics_log.read(os.path.join(workdir, 'metrics.jsonl'))
             if key in r}
  steps = np.array(sorted(by_step), dtype=np.int64)
  return steps, np.array([by_step[s] for s in steps], dtype=np.float64)


def _save(fig, path: str) -> None:
  """Writes the figure to `path` atomically and closes it."""
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  fig.tight_layout()
  try:
    with records.atomic(path) as tmp:
      fig.savefig(tmp, dpi=100)
  finally:
    plt.close(fig)


def _slug(text: str) -> str:
  return re.sub(r'[^a-z0-9]+', '_', text.lower()).strip('_')


def _zoom(lines: Dict[int, np.ndarray], extra: List[float]) -> Tuple[Tuple[float, float],
                                                                     Tuple[float, float]]:
  """The second panel's limits: the second half of the epochs, and a value range holding every
  point drawn there and the `extra` levels (the published band, the real-data line), so the
  plateau and its distance to the published number read at a glance."""
  last = max(float(xy[:, 0].max()) for xy in lines.values())
  start = last / 2
  shown = [float(v) for xy in lines.values() for v in xy[xy[:, 0] >= start, 1]] + extra
  low, high = min(shown), max(shown)
  pad = 0.05 * (high - low) or 1.0
  return (start, last + 0.02 * last), (low - pad, high + pad)


def row_figure(path: str, label: str, metric: str, key: str, published: str,
               results: List[Dict]) -> Optional[Dict]:
  """Draws one row's figure to `path`: the whole run, and beside it its second half zoomed in.
  Returns what was drawn (lines, band, reference, marks, the zoomed panel's limits), read back
  from the first panel, or None when no seed logged `key` during training."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  scalar = f'eval/{metric}/{key}'
  seeds = []  # (seed, epochs, values, the selected point or None)
  for result in results:
    steps, values = curve(result['workdir'], scalar)
    per_epoch = steps_per_epoch(result['workdir'])
    if not len(steps) or not per_epoch:
      continue
    summary = result['summary']
    selected = summary.get('selected_step')
    point = ((selected / per_epoch, summary[metric][key])
             if selected is not None and metric in summary else None)
    seeds.append((result['seed'], steps / per_epoch, values, point))
  if not seeds:
    return None
  band = parse_published(published)
  reference = results[0]['summary'].get('reference', {}).get(metric, {}).get(key)
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={'width_ratios': [3, 2]})
  panels = []
  for ax in axes:
    drawn = {'lines': {}, 'band': None, 'reference': None, 'selected': {}}
    for seed, epochs, values, point in seeds:
      (line,) = ax.plot(epochs, values, label=f'seed {seed}', lw=1.2)
      drawn['lines'][seed] = line.get_xydata()  # What the figure holds, read back from it.
      if point is not None:
        (mark,) = ax.plot(*point, marker='*', ms=12, color=line.get_color(), ls='none')
        drawn['selected'][seed] = tuple(mark.get_xydata()[0])
    if band:
      value, pm = band
      span = ax.axhspan(value - pm, value + pm, color='tab:red', alpha=0.15)
      if hasattr(span, 'get_height'):  # A Rectangle (matplotlib >= 3.9), else a Polygon.
        drawn['band'] = (span.get_y(), span.get_y() + span.get_height())
      else:
        ys = np.asarray(span.get_xy())[:, 1]
        drawn['band'] = (float(ys.min()), float(ys.max()))
      ax.axhline(value, color='tab:red', lw=1, label=f'published {published}')
    if reference is not None:
      (real,) = ax.axhline(reference, color='k', ls='--', lw=1,
                           label=f'real data ({reference:.1f})'),
      drawn['reference'] = float(real.get_ydata()[0])
    ax.set_xlabel('epoch')
    ax.grid(alpha=0.3)
    panels.append(drawn)
  whole = panels[0]  # (The zoomed panel draws the same.)
  levels = [*(whole['band'] or ()), *([whole['reference']] if reference is not None else [])]
  whole['zoom'] = _zoom(whole['lines'], levels)
  axes[1].set_xlim(*whole['zoom'][0])
  axes[1].set_ylim(*whole['zoom'][1])
  axes[0].set_ylabel(f'{metric} {key}')
  axes[0].set_title(f'{label}: {key} during training (★ the checkpoint selected)', fontsize=10)
  axes[1].set_title('the second half of training', fontsize=10)
  axes[0].legend(fontsize=8, loc='lower right')
  _save(fig, path)
  return whole


def seed_statistics(curves: List[Tuple[np.ndarray, np.ndarray]]) -> Tuple[np.ndarray, ...]:
  """(epochs, mean, s.e.) over the seeds' (epochs, values) at the epochs every seed logged
  (rounded to 1e-6); s.e. = sample std / sqrt(n), NaN for one seed."""
  rounded = [{round(float(e), 6): float(v) for e, v in zip(*c)} for c in curves]
  epochs = np.array(sorted(set.intersection(*(set(r) for r in rounded))), dtype=np.float64)
  values = np.array([[r[e] for e in epochs] for r in rounded], dtype=np.float64)
  n = len(curves)
  se = values.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(len(epochs), np.nan)
  return epochs, values.mean(axis=0), se


def _spans_decades(curves: List[np.ndarray]) -> bool:
  """Whether positive curves span more than a factor of 10 (then a log axis reads better)."""
  values = np.concatenate([np.asarray(c, dtype=np.float64) for c in curves])
  values = values[np.isfinite(values)]
  return bool(len(values)) and values.min() > 0 and values.max() > 10 * values.min()


def comparison_figure(path: str, title: str, metric: str, key: str,
                      series: List[Tuple[str, List[Dict]]],
                      reference: Optional[float]) -> Optional[Dict[str, Tuple[np.ndarray, ...]]]:
  """Draws to `path` `metric`'s `key` against epochs for several rows: each row's mean over its
  seeds with a ± s.e. band, and the real data as a line. Returns {label: (epochs, mean, s.e.)}
  as drawn, or None when no row logged the key."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  scalar = f'eval/{metric}/{key}'
  drawn = {}
  for label, results in series:
    curves = []
    for result in results:
      steps, values = curve(result['workdir'], scalar)
      per_epoch = steps_per_epoch(result['workdir'])
      if len(steps) and per_epoch:
        curves.append((steps / per_epoch, values))
    if curves:
      drawn[label] = (*seed_statistics(curves), len(curves))
  if not drawn:
    return None
  fig, ax = plt.subplots(figsize=(7.5, 4.5))
  for label, (epochs, mean, se, n) in drawn.items():
    (line,) = ax.plot(epochs, mean, marker='o', ms=3, label=f'{label} (mean of {n} seed(s))')
    if n > 1:
      ax.fill_between(epochs, mean - se, mean + se, color=line.get_color(), alpha=0.2)
  if reference is not None:
    ax.axhline(reference, color='k', ls='--', lw=1, label=f'real data ({reference:.2f})')
  ax.set_xlabel('epoch')
  ax.set_ylabel(f'{metric} {key}')
  if _spans_decades([mean for _, mean, _, _ in drawn.values()]):
    ax.set_yscale('log')  # FID falls from hundreds to a few: the late epochs stay readable.
  ax.set_title(f'{title}: {key} during training (± s.e. over seeds)', fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  _save(fig, path)
  return {label: value[:3] for label, value in drawn.items()}


def seed_difference(baseline: List[float], other: List[float]) -> Tuple[float, Optional[float]]:
  """mean(other) - mean(baseline), and its s.e. from the seeds' spread on each side (Welch:
  sqrt(s_a² / n_a + s_b² / n_b), sample variances); None when a side has one seed."""
  difference = float(np.mean(other) - np.mean(baseline))
  if min(len(baseline), len(other)) < 2:
    return difference, None
  variance = sum(np.var(v, ddof=1) / len(v) for v in (baseline, other))
  return difference, float(np.sqrt(variance))


def verdicts(metric: str, key: str, series: List[Tuple[str, List[Dict]]]) -> List[str]:
  """One line for each row after the first: its mean of `metric`'s `key` over seeds (the
  table's checkpoints) against the first row's, the difference ± its s.e., and whether it
  exceeds 2 s.e.: a yardstick, not a test (with 3 seeds a side, Welch's t has 2-4 degrees of
  freedom, and 2 s.e. is p of about 0.1-0.2)."""
  finals = [(label, [r['summary'][metric][key] for r in results
                     if key in r['summary'].get(metric, {})]) for label, results in series]
  if not finals:
    return []
  (base_label, base), lines = finals[0], []
  for label, values in finals[1:]:
    if not base or not values:
      continue
    difference, stderr = seed_difference(base, values)
    line = (f'- {label} against {base_label}, {metric} {key} as in the table: '
            f'{np.mean(values):.2f} against {np.mean(base):.2f} ({len(values)} and {len(base)} '
            f'seed(s)), difference {difference:+.2f}')
    if stderr is None:
      line += ': one seed on a side, no s.e.'
    elif stderr == 0:
      line += ' (every seed the same on both sides: no spread)'
    else:
      exceeds = abs(difference) > 2 * stderr
      line += (f' ± {stderr:.2f} (s.e.), {abs(difference) / stderr:.1f} s.e.: '
               f'{"more" if exceeds else "not more"} than 2 s.e.')
    lines.append(line)
  return lines


def _comparisons(out: str, folder: str, rows: List[Dict]) -> List[str]:
  """The figures of rows that name one (tables.Row.compare), and their Markdown lines."""
  groups = {}
  for entry in rows:
    if entry['row'].compare and not entry.get('error') and entry['results']:
      groups.setdefault(entry['row'].compare, []).append(entry)
  lines = []
  for (title, metric, key), entries in groups.items():
    real = [e for e in entries if e['row'].real_data]
    reference = (real[0]['results'][0]['summary'].get('reference', {}).get(metric, {}).get(key)
                 if real else None)
    series = [(e['row'].label, e['results']) for e in entries if not e['row'].real_data]
    file = f'{_slug(title)}_{metric}_{key}.png'
    if comparison_figure(os.path.join(out, file), title, metric, key, series, reference):
      lines += [f'![{title}: {metric} {key} against epochs]({folder}/{file})', '']
    differences = verdicts(metric, key, series)
    for also in dict.fromkeys(pair for e in entries for pair in e['row'].compare_also):
      differences += verdicts(*also, series)
    lines += differences + [''] if differences else []
  return lines


def figures_markdown(table_path: str, rows: List[Dict]) -> List[str]:
  """Writes every row's figures into <table>_files/ beside `table_path`; the Markdown lines
  that embed them (relative paths)."""
  from gan_jax.evaluation import metrics  # pylint: disable=g-import-not-at-top
  folder = os.path.splitext(os.path.basename(table_path))[0] + '_files'
  out = os.path.join(os.path.dirname(os.path.abspath(table_path)), folder)
  lines = []
  for entry in rows:
    row, results = entry['row'], entry['results']
    if entry.get('error') or row.real_data or not results:
      continue
    for name in row.metrics:
      key = metrics.get(name).curve_key
      if not key or name in results[0].get('not_computed', {}):
        continue
      file = f'{_slug(row.label)}_{name}_{key}.png'
      if row_figure(os.path.join(out, file), row.label, name, key, row.published, results):
        lines += [f'![{row.label}: {name} {key} against epochs]({folder}/{file})', '']
    first = results[0]
    selected = first['summary'].get('selected_step')
    fig2 = os.path.join(first['workdir'], 'figures',
                        f'fig2_samples_nearest_step_{selected or 0:06d}.png')
    if selected is not None and os.path.exists(fig2):
      file = f'{_slug(row.label)}_fig2_seed{first["seed"]}.png'
      os.makedirs(out, exist_ok=True)
      shutil.copyfile(fig2, os.path.join(out, file))
      lines += [f'![{row.label}, seed {first["seed"]}: Fig. 2 at step {selected} (samples; '
                f'rightmost column: the nearest training example)]({folder}/{file})', '']
  return lines + _comparisons(out, folder, rows)
