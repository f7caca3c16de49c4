r"""One command per paper table: python -m launch.reproduce --table=NAME [--runlocal].

For every row of launch/tables.py and each of its seeds, trains the experiment in
<--root>/<experiment>/seed=S (the workdir `launch.sweep` gives the same point: a finished run is
reused, an unfinished one resumed), evaluates it with the paper's protocol (--mode=eval over every
kept checkpoint; finished evaluations are reused), and writes a Markdown table: each row the
published number beside ours, with the config, seeds, steps, hardware and training wall time.
A row's seeds train together first where that is faster: as one population on an accelerator,
one process per core on a CPU (each gan_jax.main pinned to its core, log <workdir>/sweep.log;
freed cores go to the seeds still training).
It goes to <root>/tables/<table>.md and to stdout. --row=TEXT runs only the rows whose label
contains TEXT, or the one whose whole label is TEXT (their table goes to <table>-some_rows.md,
leaving the whole table's file alone).
A row one of whose seeds another process is training is not run (one line says which).
--progress trains and evaluates nothing: where each seed stands, from the metrics its run
evaluated during training (launch/progress.py), into <table>-progress.md; safe beside the runs.

--runlocal runs each experiment's `runlocal` variant (tiny networks, 2 steps) and, where a
dataset is absent, tfds's mock data or random files in its format; the table says so. It checks
the whole path in minutes on a CPU; its numbers mean nothing.

Inception scores need the FID InceptionV3 weights: --inception_weights=NPZ (made by
gan_jax.evaluation.convert_inception_weights). Without them a full table stops before training,
except for rows where the Inception metric is optional (the offline table's 32x32 rows); those,
and a runlocal table, leave it out and say why.

  python -m launch.reproduce --table=offline --root=/tmp/runs/reproduce
  python -m launch.reproduce --table=offline --row='Fashion-MNIST 32x32' \
      --inception_weights=~/.cache/gan_jax/inception/inception_pool3.npz
  python -m launch.reproduce --table=gan_parzen --runlocal
  python -m launch.reproduce --table=gan_parzen --row=MNIST --progress
  python -m launch.reproduce --table=dfm_cifar10 --inception_weights=~/inception_fid.npz
"""
from gan_jax import cli  # pylint: disable=g-bad-import-order

if __name__ == '__main__':
  cli.install()  # A Ctrl-C from here on ends in one line.
import contextlib
import datetime
import os
import platform
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # As gan_jax.main: quiet TensorFlow start-up.
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')
from typing import Dict, List, Optional, Sequence

from absl import app
from absl import flags
from absl import logging
import numpy as np

from gan_jax import errors
from gan_jax import records
from gan_jax.data import tfds_source
from launch import fetch_data
from launch import milestones
from launch import overrides
from launch import plan
from launch import progress as progress_lib
from launch import report
from launch import rows as rows_lib
from launch import seed_training
from launch import sigma_protocols
from launch import tables

FLAGS = flags.FLAGS
flags.DEFINE_enum('table', None, sorted(tables.TABLES), 'Which paper table to reproduce.')
flags.DEFINE_string('root', 'workdirs', 'Workdirs go in <root>/<experiment>/seed=S.')
flags.DEFINE_bool('runlocal', False, 'Tiny settings and stand-in data: a quick check on a CPU.')
flags.DEFINE_string('inception_weights', '', 'The FID InceptionV3 .npz (config.eval.'
                    'inception_weights) for the Inception score tables.')
flags.DEFINE_string('output', '', 'Where to write the Markdown (default <root>/tables/).')
flags.DEFINE_bool('fetch', False, 'First obtain the datasets launch.fetch_data can fetch (MNIST) '
                  'that a row needs and lacks.')
flags.DEFINE_string('tfd_path', '', 'Your TFD_48x48.mat, for the TFD row of gan_parzen (TFD is '
                    'not redistributable).')
flags.DEFINE_bool('progress', False, 'Train and evaluate nothing: where each seed stands, from the '
                  'metrics its run evaluated during training (runs may be training), to '
                  '<table>-progress.md.')
flags.DEFINE_multi_string('row', [], 'Only the rows whose label contains this text, or the row '
                          'whose whole label it is (repeat for more); default: every row.')
flags.mark_flag_as_required('table')


def run_seed(row: tables.Row, seed: int, root: str, runlocal: bool, inception_weights: str,
             fetch: bool = False, data_paths: Optional[Dict[str, str]] = None) -> Dict:
  """Trains (or reuses) and evaluates one seed of a row; returns what the table needs."""
  from gan_jax import evaluate  # pylint: disable=g-import-not-at-top  (JAX: after flags)
  from gan_jax import train  # pylint: disable=g-import-not-at-top
  from gan_jax.data import mock  # pylint: disable=g-import-not-at-top
  from gan_jax.evaluation import metrics  # pylint: disable=g-import-not-at-top
  config = rows_lib.run_config(row, seed, runlocal, inception_weights, data_paths)
  workdir = rows_lib.workdir(root, row, seed, runlocal)
  not_computed = rows_lib.leave_out_missing(config, row, runlocal)
  if fetch and fetch_data.fetchable(config.data):
    try:
      fetch_data.fetch(fetch_data.fetchable(config.data), config.data.path)
    except fetch_data.FetchError as e:
      raise errors.DatasetUnavailableError(str(e)) from e
  stand_in = rows_lib.data_available(config, row)
  if stand_in and not runlocal:
    raise errors.DatasetUnavailableError(stand_in)
  context = (mock.mock_data(config.data, os.path.join(workdir, 'stand_in_data'))
             if stand_in else contextlib.nullcontext())
  with context:  # A preempted run raises errors.Preempted here: nothing is evaluated.
    state = train.train_and_evaluate(config, workdir)
    # Every kept checkpoint where a metric selects among them; else the last is the result.
    summary = evaluate.evaluate(config, workdir,
                                all_checkpoints=bool(metrics.selection_key(config)))
    # The kept checkpoints under three σ protocols (launch/sigma_protocols.py), where asked.
    protocols = sigma_protocols.score_workdir(config, workdir) if row.sigma_protocols else None
  stop = records.read(os.path.join(workdir, 'stop.json'))  # (Torn: rewritten by training.)
  return {'summary': summary, 'workdir': workdir, 'seed': seed, 'steps': int(state.step),
          'epochs': stop.get('epoch'), 'stopped_by': stop.get('stopped_by'),
          'seconds': report.train_seconds(workdir), 'stand_in': stand_in,
          'hardware': records.read(os.path.join(workdir, 'hardware.json')).get(
              'description', 'not recorded'),
          'not_computed': not_computed, 'sigma_protocols': protocols,
          'data': tfds_source.describe(config.data) if config.data.source == 'tfds' else ''}


def format_metrics(row: tables.Row, results: List[Dict]) -> str:
  """The 'ours' cell: every metric of the row, over its seeds (each metric formats its own)."""
  from gan_jax.evaluation import metrics  # pylint: disable=g-import-not-at-top
  parts = []
  for name in row.metrics:
    scored = [r for r in results if name not in r.get('not_computed', {})]
    if not scored:
      parts.append(f'{name}: not computed ({results[0]["not_computed"][name].split(":")[0]})')
      continue
    # Of G's samples, or of the real rows in their place.
    found = [(r['summary']['reference'] if row.real_data else r['summary'])[name] for r in scored]
    cell = metrics.get(name).table_cell(found)
    unscored = [r for r in results if name in r.get('not_computed', {})]
    if unscored:  # A progress table: a seed that has not been evaluated yet is left out.
      cell += (f' (without seed {", ".join(str(r["seed"]) for r in unscored)}: '
               f'{unscored[0]["not_computed"][name].split(":")[0].split(";")[0]})')
    parts.append(cell)
  return '; '.join(parts)


def _steps_cell(results: List[Dict]) -> str:
  """Each seed's steps, with its epochs and '(stopped)' where the stopping rule ended it; one
  entry when every seed ran the same."""
  def one(r):
    # Ended by the rule; or, in a progress table, still training / paused.
    how = {'early_stopping': 'stopped', 'training': 'training', 'paused': 'paused'}.get(
        r.get('stopped_by'))
    if r.get('epochs') is None:
      return f'{r["steps"]:,}' + (f' ({how})' if how else '')
    return f'{r["steps"]:,} ({r["epochs"]:.0f}{", " + how if how else ""})'
  cells = [one(r) for r in results]
  return cells[0] if len(set(cells)) == 1 else ', '.join(cells)


def _hours(seconds: float) -> str:
  if not np.isfinite(seconds):
    return '?'
  minutes = seconds / 60
  return f'{minutes:.1f} min' if minutes < 120 else f'{minutes / 60:.1f} h'


def markdown(name: str, table: tables.Table, rows: List[Dict], runlocal: bool,
             command: str, progress: bool = False) -> str:
  lines = [f'# {table.title}{": progress" if progress else ""}', '',
           f'`{command}` on {datetime.date.today().isoformat()} ({platform.node()}).', '']
  if progress:
    lines += ['**Progress**, not the result: each seed\'s numbers are those its run evaluated '
              'during training, at the step with the best selection metric so far (the same '
              'numbers --mode=eval gives that checkpoint); a seed still training may do better. '
              'The table itself is the same command without --progress.', '']
  if runlocal:
    lines += ['**runlocal**: tiny networks trained for 2 steps, stand-in data where the dataset is '
              'absent. This checks the pipeline end to end; the numbers are not results.', '']
  lines += ['| row | published | ours | config | seeds | steps (epochs) | hardware | training time |',
            '| --- | --- | --- | --- | --- | --- | --- | --- |']
  for entry in rows:
    row, results = entry['row'], entry['results']
    config = f'`experiments/{row.experiment}.py' + (':runlocal`' if runlocal else '`')
    shown = rows_lib.identifying(row) if runlocal else row.overrides
    if shown:
      config += ' ' + ' '.join(f'`{f}`' for f in overrides.flags(shown))
    seeds = ', '.join(str(s) for s in row.seeds)
    if entry.get('error'):
      lines.append(f'| {row.label} | {row.published} | not run: {entry["error"]} | {config} | '
                   f'{seeds} | | | |')
      continue
    # The seeds the numbers are of (--progress leaves out those that have not started).
    seeds = ', '.join(str(r['seed']) for r in results)
    ours = format_metrics(row, results)
    if any(r['stand_in'] for r in results):
      ours += ' (stand-in data)'
    described = sorted({r.get('data', '') for r in results} - {''})
    if described:  # Which images (tfds: the dataset and its preprocessing).
      config += f' ({"; ".join(described)})'
    hardware = ', '.join(sorted({r['hardware'] for r in results}))
    if row.real_data:  # Real rows scored as samples: no model of its own was trained.
      steps, wall = 'none (real data)', 'none'
    else:
      steps = _steps_cell(results)
      wall = _hours(sum(r['seconds'] for r in results)) + (' (all seeds)' if len(results) > 1
                                                          else '')
    lines.append(f'| {row.label} | {row.published} | {ours} | {config} | {seeds} | {steps} | '
                 f'{hardware} | {wall} |')
  if progress:  # Each seed against the stopping rule; a row's seeds not started named too.
    lines.append('')
    for e in rows:
      started = {r['seed']: r for r in e['results']}
      for seed in e['row'].seeds if e['results'] else ():
        r = started.get(seed)
        if r is None:
          lines.append(f'- {e["row"].label}, seed {seed}: not started (nothing logged in '
                       f'{rows_lib.workdir(e["root"], e["row"], seed, runlocal)})')
        elif r.get('standing'):
          lines.append(f'- {e["row"].label}, seed {seed} ({r["stopped_by"]}): {r["standing"]}')
  for entry in rows:
    row = entry['row']
    if row.milestones and entry['results']:
      workdirs = {r['seed']: rows_lib.workdir(entry['root'], row, r['seed'], runlocal)
                  for r in entry['results']}
      lines += ['', *milestones.markdown(row.label, row.published, workdirs, row.milestones,
                                         *row.metrics[:1])]
  if table.note:
    lines += ['', table.note]
  if any(r.get('stopped_by') == 'early_stopping' for e in rows for r in e['results']):
    lines += ['', 'Stopped: ended by the stopping rule (config.early_stopping: the selection '
              'metric did not improve for `patience` evaluations; each run\'s stop.json says '
              'why), before num_train_steps.']
  source = 'metrics.jsonl' if progress else 'eval/summary.json'
  variants = ('; a row whose flags make another run: `.../<experiment>/<key>=<value>,seed=S`'
              if any(rows_lib.identifying(e['row']) for e in rows) else '')
  lines += ['', f'Workdirs: `{rows[0]["root"]}/<experiment>{"-runlocal" if runlocal else ""}/seed=S`'
            f'{variants} ({source} holds every number above).']
  return '\n'.join(lines) + '\n'


def progress_seed(row: tables.Row, seed: int, root: str, runlocal: bool, inception_weights: str,
                  fetch: bool = False, data_paths: Optional[Dict[str, str]] = None
                  ) -> Optional[Dict]:
  """Where one seed of a row stands (launch/progress.py); None if it has not started."""
  del fetch  # Nothing is read but the workdir.
  config = rows_lib.run_config(row, seed, runlocal, inception_weights, data_paths)
  return progress_lib.standing(config, rows_lib.workdir(root, row, seed, runlocal), seed, row.metrics,
                               row.real_data)


def reproduce(name: str, root: str, runlocal: bool, inception_weights: str, fetch: bool = False,
              data_paths: Optional[Dict[str, str]] = None, only: Sequence[str] = (),
              output: Optional[str] = None, progress: bool = False) -> str:
  """Runs the table (only the rows whose label contains a text of `only`, if any); returns (its
  Markdown, the rows that could not run, reported in it). With `output` (where the Markdown will
  be written), the rows' figures are written beside it (launch/report.py) and embedded. With
  `progress`, nothing runs: each seed's standing (launch/progress.py); seeds not started are
  left out of the numbers and named under the table, and a row none of whose seeds started is
  reported so."""
  plan.check_root(root)
  table = tables.select(tables.TABLES[name], only)
  if not runlocal and not progress:  # A missing input (the Inception weights) of a metric a row needs stops it
    # before training.
    from gan_jax.evaluation import metrics  # pylint: disable=g-import-not-at-top
    for row in table.rows:
      config = rows_lib.run_config(row, 0, False, inception_weights, data_paths)
      config.eval.metrics = tuple(n for n in config.eval.metrics if n not in row.optional)
      missing = metrics.missing_input(config)
      if missing:
        raise errors.ConfigError(missing)
  rows = []
  for row in table.rows:
    entry = {'row': row, 'results': [], 'root': root}
    try:
      busy = None if progress else rows_lib.in_use(root, row, runlocal)
      if busy:
        raise errors.WorkdirError(busy)
      if not progress and seed_training.train_population(row, root, runlocal, inception_weights,
                                                         data_paths):
        logging.info('%s: %s, seeds %s trained as one population', name, row.label, row.seeds)
      elif not progress and seed_training.train_on_cores(row, root, runlocal, inception_weights,
                                                         data_paths):
        logging.info('%s: %s, seeds %s trained one process per core', name, row.label, row.seeds)
      for seed in row.seeds:
        logging.info('%s: %s, seed %d', name, row.label, seed)
        result = (progress_seed if progress else run_seed)(row, seed, root, runlocal,
                                                           inception_weights, fetch, data_paths)
        if result is not None:
          entry['results'].append(result)
      if not entry['results']:
        raise errors.CheckpointError(f'no seed has started (nothing logged in '
                                     f'{rows_lib.workdir(root, row, row.seeds[0], runlocal)} or its '
                                     'other seeds); train it first')
    except errors.GanJaxError as e:
      entry['error'] = str(e)
      logging.error('%s: %s failed: %s', name, row.label, e)
    rows.append(entry)
  command = 'python -m launch.reproduce ' + ' '.join(sys.argv[1:])
  text = markdown(name, table, rows, runlocal, command, progress)
  if output:
    for entry in rows:
      if entry['results'] and all(r.get('sigma_protocols') for r in entry['results']):
        text += '\n' + sigma_protocol_table(entry, output)
  if output:
    figures = report.figures_markdown(output, rows)
    if figures:
      text += '\n## Curves and samples\n\n' + '\n'.join(figures)
  return text, [r for r in rows if r.get('error')]


def sigma_protocol_table(entry: Dict, output: str) -> str:
  """A row's kept checkpoints under the three σ protocols (scored by run_seed), written beside
  the table as <table>-sigma_protocols.md; returns its Markdown."""
  results = entry['results']
  text = '\n'.join(sigma_protocols.markdown(
      entry['row'].label, {r['seed']: r['sigma_protocols'] for r in results},
      {r['seed']: report.steps_per_epoch(r['workdir']) for r in results}))
  records.write_text(os.path.splitext(os.path.abspath(output))[0] + '-sigma_protocols.md', text)
  return text


@cli.one_line('launch.reproduce')
def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  output = FLAGS.output or os.path.join(
      FLAGS.root, 'tables',
      f'{FLAGS.table}{"-runlocal" if FLAGS.runlocal else ""}{"-some_rows" if FLAGS.row else ""}'
      f'{"-progress" if FLAGS.progress else ""}.md')
  if os.path.isdir(output):
    raise errors.ConfigError(f'--output={output} is a directory; give the path of the Markdown '
                             'file to write')
  text, failed = reproduce(FLAGS.table, FLAGS.root, FLAGS.runlocal, FLAGS.inception_weights,
                           FLAGS.fetch, {'tfd_path': FLAGS.tfd_path}, FLAGS.row, output,
                           FLAGS.progress)
  records.write_text(os.path.abspath(output), text)  # A full disk leaves no torn table.
  print(text)
  if failed:
    print(f'launch.reproduce: error: {len(failed)} row(s) could not run: ' +
          '; '.join(f'{r["row"].label}: {r["error"]}' for r in failed), file=sys.stderr)
    sys.exit(1)


if __name__ == '__main__':
  cli.run('launch.reproduce', main)
