"""--mode=eval: a run's checkpoints scored, the model selected, and the papers' figures drawn.

For each checkpoint evaluated, eval/step_NNNNNN.json holds the result of every metric named in
config.eval.metrics (gan_jax/evaluation/metrics: Parzen LL, Inception IS / FID, classifier-space
IS / FID, KID, mode coverage), each under its name. eval/reference.json holds the same metrics of
real data: held-out training rows in place of G's samples. eval/summary.json selects, among every
checkpoint evaluated so far, the one with the best value of the first configured metric that
selects (the Parzen validation LL), or the newest one when none does (the DCGAN experiments), and
reports its scores beside the reference. figures/ gets Fig. 2 (samples and their nearest training
examples), Fig. 3 (interpolations in z) and, for 1-D toy data, Fig. 1.
"""
import glob
import hashlib
import json
import os
from typing import Dict, List

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import checkpointing
from gan_jax import config_checks
from gan_jax import data
from gan_jax import errors
from gan_jax import interrupts
from gan_jax import lock
from gan_jax import records as records_lib
from gan_jax import state as state_lib
from gan_jax import steps
from gan_jax import workdir as workdir_lib
from gan_jax.data import toy
from gan_jax.evaluation import figures
from gan_jax.evaluation import metrics as metrics_lib
from gan_jax.evaluation import parzen
from gan_jax.evaluation import sampling
from gan_jax.evaluation.metrics import base as metrics_base


def provenance(config, examples) -> Dict:
  """What an evaluation was computed from: the evaluation settings (config.eval but the list of
  metrics) and a digest of the data every metric may read (the training, validation and test
  splits). A record whose metric was computed from other settings or other data is stale."""
  settings = json.loads(json.dumps(config.eval.to_dict()))  # As read back from JSON.
  settings.pop('metrics', None)
  digest = hashlib.sha256()
  for split in data.SPLITS:
    try:
      rows = examples if split == 'train' else data.load_split(config.data, split)
    except errors.GanJaxError:  # A source without this split: nothing of it to read.
      continue
    if not isinstance(rows, np.ndarray):  # Read from disk on demand (ImageNet): not all read.
      digest.update(f'{split}{len(rows)}{json.dumps(config.data.to_dict(), default=str)}'.encode())
      continue
    rows = np.ascontiguousarray(rows)
    digest.update(f'{split}{rows.dtype.str}{rows.shape}'.encode())
    digest.update(rows.tobytes())
  return {'settings': settings, 'data': digest.hexdigest()}


def fresh(record: Dict, name: str, made_from: Dict) -> bool:
  """Whether `record` holds metric `name` computed from `made_from` (settings and data)."""
  return name in record and record.get('computed_with', {}).get(name) == made_from


def merged(record: Dict, results: Dict, made_from: Dict) -> Dict:
  """`record` with `results` written over it, each marked as made from `made_from`; a metric not
  computed now keeps its earlier value and provenance."""
  return {**{k: v for k, v in record.items() if k != 'eval_config'}, **results,
          'computed_with': {**record.get('computed_with', {}),
                            **{name: made_from for name in results}}}


def _evaluated(workdir: str, run: 'Run') -> Dict[int, Dict]:
  """Every eval/step_*.json of this run's checkpoint at its step, by step. A record of another
  checkpoint (one copied in from another run, or made before its step was trained again
  differently) or without that identity (an older version) is not this run's number: it is left
  out, with a warning, and computed again where the checkpoint is kept."""
  records, kept = {}, set(run.checkpointer.all_steps())
  for path in sorted(glob.glob(os.path.join(workdir, 'eval', 'step_*.json'))):
    record = records_lib.read(path)
    if 'step' not in record:
      continue
    why = run.foreign(record, kept)
    if why:
      logging.warning('%s %s; it is not used (computed again where its checkpoint is kept).',
                      path, why)
      continue
    records[record['step']] = record
  return records


def _no_checkpoints(directory: str):
  raise errors.CheckpointError(f'no checkpoints in {directory}; train first with the same '
                               '--config and --workdir')


def _checkpoints(workdir: str) -> str:
  """workdir/checkpoints, refused in one line when there is none."""
  directory = os.path.join(workdir, 'checkpoints')
  if not os.path.isdir(directory):
    _no_checkpoints(directory)
  return directory


class Run:
  """A trained run's workdir, read-only except for eval/ and figures/."""

  def __init__(self, config, workdir: str):
    workdir_lib.check_usable(workdir)
    config_checks.validate(config, training=False)
    self.config, self.workdir = config, workdir
    directory = _checkpoints(workdir)
    changed = workdir_lib.changed_keys(workdir, config)
    if changed is None:
      _no_checkpoints(directory)
    # The model must be the one trained (checked before anything is built); eval.* and the
    # run's length/cadence may differ.
    workdir_lib.check_same_run(workdir, changed, config)
    spec = steps.StepSpec.from_config(config)
    self.dataset = data.get_dataset(config.data, 'train', batch_size=config.batch_size,
                                    batches_per_step=spec.batches_per_step, seed=config.seed)
    self.template = state_lib.create_train_state(config, self.dataset, spec,
                                                 jax.random.PRNGKey(0))
    self.checkpointer = checkpointing.Checkpointer(directory, keep=config.keep_checkpoints,
                                                   save_interval_steps=1, read_only=True,
                                                   config=config)

  def checkpoint_id(self, step: int):
    """The identity of the checkpoint at `step` (a digest of its arrays' checksums), or None."""
    return self.checkpointer.identity(step)

  def foreign(self, record: Dict, kept) -> str:
    """Why an eval record is not of this run's checkpoint at its step ('' if it is); `kept`:
    the steps whose checkpoints are on disk."""
    if 'checkpoint' not in record or 'run' not in record:
      return 'records no checkpoint identity (written by an older version)'
    differ = workdir_lib.identifying(workdir_lib.differing_keys(record['run'], self.config),
                                     self.config)
    if differ:
      return f'was computed for another run ({", ".join(differ[:3])} differ)'
    if record['step'] in kept and (
        record['checkpoint'] != self.checkpoint_id(record['step'])):
      return f'was computed from another checkpoint than the one now at step {record["step"]}'
    return ''

  def state(self, step: int):
    """The state saved at `step`, or None if that checkpoint was bad (and is now set aside)."""
    restored = self.checkpointer.restore(self.template, step)
    return None if restored is None else restored[1]

  def noise(self, num: int, stream: int) -> jax.Array:
    return sampling.noise(self.config, num, stream)


def evaluate(config, workdir: str, all_checkpoints: bool = False) -> Dict:
  if not metrics_lib.names(config):
    raise errors.ConfigError(f'config.eval.metrics={config.eval.metrics!r} names no metric; '
                             'name at least one, as in --config.eval.metrics=parzen '
                             f'(known: {", ".join(sorted(metrics_lib.METRICS))})')
  workdir_lib.check_usable(workdir)
  _checkpoints(workdir)
  # Evaluation holds the workdir's lock, as training does, from before it opens a checkpoint: a
  # run training there would delete checkpoints it reads (its keep policy), so it is refused in
  # one line naming the holder (its numbers meanwhile: eval.every_steps, launch.reproduce
  # --progress); and no training starts while it scores.
  with lock.WorkdirLock(workdir, purpose='evaluation'):
    return _evaluate_held(config, workdir, Run(config, workdir), all_checkpoints)


def _evaluate_held(config, workdir: str, run: Run, all_checkpoints: bool) -> Dict:
  available = run.checkpointer.all_steps()
  if not available:
    raise errors.CheckpointError(f'no checkpoint in {workdir}/checkpoints; train first')
  # Every input a metric needs is loaded (and checked) before any work.
  metrics = metrics_lib.build(config, metrics_lib.Context(config, run.dataset.examples))
  made_from = provenance(config, run.dataset.examples)
  records = _evaluated(workdir, run)

  def stale(record):
    return [name for name in metrics if not fresh(record, name, made_from)]

  # Every kept checkpoint, or the newest good one (a bad newest is set aside: the one before).
  for step in available if all_checkpoints else reversed(available):
    missing = stale(records.get(step, {}))
    if not missing:
      if all_checkpoints:
        continue
      break
    interrupts.check()  # (One a library swallowed: acted on between checkpoints.)
    state = run.state(step)
    if state is None:  # Damaged or foreign: set aside (and named in the log) by the checkpointer.
      continue
    results = metrics_lib.run({name: metrics[name] for name in missing},
                              metrics_base.GeneratedSamples(config, state.generator,
                                                            f'step_{step}'))
    records[step] = merged(records.get(step, {}), results, made_from)
    records[step].update(step=step, checkpoint=run.checkpoint_id(step),
                         run=workdir_lib.as_dict(config))
    records_lib.write(os.path.join(workdir, 'eval', f'step_{step:06d}.json'), records[step])
    logging.info('step %d: %s', step, metrics_lib.describe(results))
    if not all_checkpoints:
      break

  reference_path = os.path.join(workdir, 'eval', 'reference.json')
  reference = records_lib.read(reference_path) if os.path.exists(reference_path) else {}
  missing = stale(reference)
  if missing:
    real = metrics_base.RealRows(run.dataset.examples, config.eval.seed)
    results = metrics_lib.run({name: metrics[name] for name in missing}, real, reference=True)
    reference = merged(reference, results, made_from)
    reference['num_training_rows'] = int(min(len(run.dataset.examples),
                                             config.eval.num_reference))
    records_lib.write(reference_path, reference)
  logging.info('reference (real training rows): %s',
               metrics_lib.describe({name: reference[name] for name in metrics}))

  available = run.checkpointer.all_steps()
  # Checkpoints are compared on what this evaluation computed: records fresh in every metric.
  records = [r for r in records.values() if not stale(r)]
  if not records:
    raise errors.CheckpointError(f'no checkpoint in {workdir}/checkpoints could be read; train '
                                 'again with the same command')
  selection = metrics_lib.selection_key(config)
  if selection:
    name, key = selection

    def score(record):
      return record[name][key]
    how = f'the checkpoint with the highest {name} {key}'
  else:  # No validation metric to select on: the newest checkpoint evaluated, as in the paper.

    def score(record):
      return record['step']
    how = f'the last checkpoint evaluated (no metric of {list(metrics)} selects)'
  best = max(records, key=score)
  # Every metric the selected checkpoint's record holds: those computed now and, kept, those of
  # earlier evaluations (each record says what it was computed from).
  earlier = [n for n, made in best.get('computed_with', {}).items() if n not in metrics
             and reference.get('computed_with', {}).get(n) == made]
  summary = {'num_samples': config.eval.num_samples, 'selection': how,
             'selected_step': best['step'],
             'evaluated_steps': sorted(r['step'] for r in records),
             **{name: best[name] for name in (*metrics, *earlier)},
             'computed_with': {name: best['computed_with'][name] for name in (*metrics, *earlier)},
             'reference': {'what': f'{reference["num_training_rows"]} held-out real training '
                                   'examples in place of the samples',
                           **{name: reference[name] for name in (*metrics, *earlier)}}}
  records_lib.write(os.path.join(workdir, 'eval', 'summary.json'), summary)
  logging.info('Selected step %d (%s).', best['step'], how)
  # Figures from the selected model, or the best one whose checkpoint is still kept.
  kept = [r for r in records if r['step'] in available]
  chosen = max(kept, key=score)['step'] if kept else available[-1]
  write_figures(run, chosen, available)
  return summary


_MAX_NEIGHBOUR_ROWS = 100_000  # Fig. 2's nearest neighbours are searched among at most this many.


def write_figures(run: Run, step: int, available: List[int]) -> None:
  """Fig. 2 and 3 for images; Fig. 1 for 1-D toy data."""
  out = os.path.join(run.workdir, 'figures')
  examples = run.dataset.examples
  mode = run.config.eval.sample_batch_norm
  if examples.ndim == 4:
    g = run.state(step).generator
    rows, columns = 6, 5
    samples = sampling.generate(g, run.noise(rows * columns, sampling.FIGURE_2), mode)
    if len(examples) > _MAX_NEIGHBOUR_ROWS:  # ImageNet: a fixed random subset of the split.
      examples = examples[np.sort(np.random.default_rng(0).permutation(len(examples))[
          :_MAX_NEIGHBOUR_ROWS])]
    training = data.to_float(np.asarray(examples))
    nearest = parzen.nearest_neighbours(samples[columns - 1::columns], training)[:, 0]
    scale = max(1, 480 // ((columns + 1) * (examples.shape[2] + 1)))
    figures.write_png(os.path.join(out, f'fig2_samples_nearest_step_{step:06d}.png'),
                      figures.samples_with_nearest(samples, training[nearest], columns), scale)
    ends = run.noise(2 * 8, sampling.FIGURE_3).reshape(8, 2, -1)
    weights = jnp.linspace(0.0, 1.0, 10)[None, :, None]
    path = ends[:, :1] * (1 - weights) + ends[:, 1:] * weights  # Linear in z (Fig. 3).
    images = sampling.generate(g, path.reshape(-1, path.shape[-1]), mode)
    images = images.reshape(8, 10, *examples.shape[1:])
    figures.write_png(os.path.join(out, f'fig3_interpolation_step_{step:06d}.png'),
                      figures.interpolation_grid(images), scale)
  elif (run.config.data.source == 'toy' and examples.shape[1] == 1):
    picks = sorted({available[int(i)] for i in np.linspace(0, len(available) - 1, 4)})
    figures.write_toy_1d_figure(os.path.join(out, 'fig1_toy_1d.png'),
                                [toy_panel(run, s) for s in picks])


def toy_panel(run: Run, step: int) -> Dict:
  """One panel of Fig. 1 at `step`: p_data, G's density (a KDE of its samples), D(x) and D*(x)."""
  from scipy import stats  # pylint: disable=g-import-not-at-top
  state = run.state(step)
  data_config = run.config.data
  x = np.linspace(data_config.mean - 6 * data_config.std, data_config.mean + 6 * data_config.std,
                  400)
  p_data = toy.density(data_config, x[:, None])
  samples = sampling.generate(state.generator, run.noise(5000, sampling.FIGURE_1),
                              run.config.eval.sample_batch_norm)[:, 0]
  p_g = stats.gaussian_kde(samples)(x) if np.std(samples) > 0 else np.zeros_like(x)
  logits = state.discriminator.apply_fn({'params': state.discriminator.params},
                                        jnp.asarray(x[:, None], jnp.float32), train=False)[0]
  return {'step': step, 'x': x, 'p_data': p_data, 'p_g': p_g,
          'd': np.asarray(jax.nn.sigmoid(logits)),
          # D* is defined where either density has mass.
          'd_star': np.where(p_data + p_g > 1e-3, p_data / np.maximum(p_data + p_g, 1e-300),
                             np.nan)}
