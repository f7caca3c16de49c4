"""--mode=eval: a run's checkpoints scored, the model selected, and the papers' figures drawn.

For each checkpoint evaluated, eval/step_NNNNNN.json holds what config.eval asks for: the Parzen
protocol on `config.eval.num_samples` generator samples (eval.parzen), Inception score and FID
with the FID InceptionV3 (eval.inception_scores), the same in a small classifier's space
(eval.classifier_scores), mode coverage for toy mixtures. eval/summary.json selects, among every
checkpoint evaluated so far, the one with the best validation log-likelihood (the newest one when
there is no Parzen validation set, as for the DCGAN experiments) and reports its scores beside
the reference: the same metrics with held-out real training examples in place of the samples. figures/ gets Fig. 2 (samples and their nearest training examples), Fig. 3
(interpolations in z) and, for 1-D toy data, Fig. 1.
"""
import glob
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
from gan_jax import steps
from gan_jax import train
from gan_jax import workdir as workdir_lib
from gan_jax.data import toy
from gan_jax.evaluation import classifier as evaluation_classifier
from gan_jax.evaluation import figures
from gan_jax.evaluation import inception
from gan_jax.evaluation import parzen
from gan_jax.evaluation import protocols
from gan_jax.evaluation import scores
from gan_jax.models import prior

_BATCH = 1000  # Generator samples per jitted call.


@jax.jit
def _generate_batch(g, z):
  return g.forward(g.params, z, train=False)[0]


def generate(g_state, z: jax.Array) -> np.ndarray:
  return np.concatenate([np.asarray(_generate_batch(g_state, z[i:i + _BATCH]))
                         for i in range(0, len(z), _BATCH)])


def _write_json(path: str, record: Dict) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path + '.tmp', 'w', encoding='utf-8') as f:
    json.dump(record, f, indent=2, sort_keys=True)
  os.replace(path + '.tmp', path)


def _read_json(path: str):
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def _evaluated(workdir: str, eval_config: Dict) -> List[Dict]:
  """Every eval/step_*.json made with this evaluation config."""
  records = [_read_json(p) for p in sorted(glob.glob(os.path.join(workdir, 'eval', 'step_*.json')))]
  return [r for r in records if r.get('eval_config') == eval_config]


class _Run:
  """A trained run's workdir, read-only except for eval/ and figures/."""

  def __init__(self, config, workdir: str):
    workdir_lib.check_usable(workdir)
    config_checks.validate(config)
    self.config, self.workdir = config, workdir
    spec = steps.StepSpec.from_config(config)
    self.dataset = data.get_dataset(config.data, 'train', batch_size=config.batch_size,
                                    batches_per_step=spec.batches_per_step, seed=config.seed)
    self.template = train.create_train_state(config, self.dataset, spec, jax.random.PRNGKey(0))
    directory = os.path.join(workdir, 'checkpoints')
    changed = workdir_lib.changed_keys(workdir, config)
    if changed is None or not os.path.isdir(directory):
      raise errors.CheckpointError(f'no checkpoints in {directory}; train first with the same '
                                   '--config and --workdir')
    # The model must be the one trained; eval.* and the run's length/cadence may differ.
    workdir_lib.check_same_run(workdir, changed, config)
    self.checkpointer = checkpointing.Checkpointer(directory, keep=config.keep_checkpoints,
                                                   save_interval_steps=1, read_only=True)

  def state(self, step: int):
    """The state saved at `step`, or None if that checkpoint was bad (and is now set aside)."""
    restored = self.checkpointer.restore(self.template, step)
    return None if restored is None else restored[1]

  def noise(self, num: int, seed_offset: int = 0) -> jax.Array:
    ev, noise = self.config.eval, self.config.noise
    return prior.sample_noise(jax.random.PRNGKey(ev.seed + seed_offset), num, noise.dim,
                              noise.prior)


def inception_variables(eval_config):
  """The FID InceptionV3's weights, or a one-line error naming the key and the converter."""
  if not eval_config.inception_weights:
    raise errors.ConfigError(
        f'{inception.WEIGHTS_CONFIG_KEY} is not set: Inception score and FID need the FID '
        f'InceptionV3 weights as an .npz; convert pytorch-fid\'s {inception.WEIGHTS_FILE} with '
        '`python -m gan_jax.evaluation.convert_inception_weights --input=PTH --output=NPZ` and '
        f'pass --{inception.WEIGHTS_CONFIG_KEY}=NPZ (or set config.eval.inception_scores=False)')
  return inception.load_variables(eval_config.inception_weights)


class _Scorers:
  """The metrics config.eval asks for, each a function of generator samples (or real rows)."""

  def __init__(self, config, run: '_Run'):
    ev = config.eval
    self.config, self.run = config, run
    # Every input that can be missing is checked before any work.
    self.inception_variables = inception_variables(ev) if ev.inception_scores else None
    self.sets = protocols.load_sets(config, run.dataset.examples) if ev.parzen else None
    self.classifier = None
    if ev.classifier_scores:
      params, num_classes, accuracy = evaluation_classifier.get_classifier(
          config.data, ev, run.dataset.examples)
      test_images = data.to_float(data.load_split(config.data, 'test'))
      self.classifier = lambda images: {
          **evaluation_classifier.classifier_scores(params, num_classes, images, test_images,
                                                    ev.num_splits),
          'classifier_test_accuracy': accuracy}
    self._inception_test = None

  def _inception(self, images: np.ndarray) -> Dict:
    """IS of `images` (config.eval.num_splits splits) and FID against the test split."""
    ev = self.config.eval
    if self._inception_test is None:  # The test split's features, once per evaluation.
      test = data.load_split(self.config.data, 'test')
      test = test[:ev.num_test] if ev.num_test else test
      self._inception_test = inception.outputs(self.inception_variables,
                                               data.to_float(np.asarray(test)))[1]
    probs, features = inception.outputs(self.inception_variables, images)
    is_mean, is_std = scores.inception_score(probs, ev.num_splits)
    fid = scores.feature_frechet_distance(features, self._inception_test)
    return {'is_mean': is_mean, 'is_std': is_std, 'fid': fid, 'num_samples': len(images)}

  def generator(self, g_state) -> Dict:
    """Every metric asked for, of the generator `g_state`."""
    config, result = self.config, {}
    samples = generate(g_state, self.run.noise(config.eval.num_samples))
    if self.sets is not None:
      result.update(protocols.evaluate(lambda _: samples, self.sets, config.eval))
    if config.data.source == 'toy' and config.data.name in ('ring', 'grid'):
      result['mode_coverage'] = scores.mode_coverage(samples, toy.centres(config.data),
                                                     config.data.std)
    if self.classifier:
      result['classifier'] = self.classifier(samples)
    if self.inception_variables is not None:
      # Its own z: the standard protocol's 50,000 samples, more than the Parzen window's.
      result['inception'] = self._inception(
          generate(g_state, self.run.noise(config.eval.inception_samples, seed_offset=4)))
    return result

  def reference(self) -> Dict:
    """The same metrics of real data: held-out training rows in place of G's samples."""
    ev, result = self.config.eval, {}
    if self.sets is not None:
      result.update(protocols.evaluate(lambda s: s.reference, self.sets, ev))
    training = self.run.dataset.examples
    permutation = np.random.default_rng(ev.seed).permutation(len(training))

    def rows(num):  # The first `num` of one random order: the Parzen reference's rows too.
      return data.to_float(np.asarray(training[np.sort(permutation[:num])]))

    if self.classifier:
      result['classifier'] = self.classifier(rows(ev.num_reference))
    if self.inception_variables is not None:
      result['inception'] = self._inception(rows(ev.inception_samples))
    result['num_training_rows'] = int(min(len(training), ev.num_reference))
    return result


def _log_result(step: int, result: Dict) -> None:
  parts = []
  if 'test_ll' in result:
    parts.append(f'validation LL {result["validation_ll"]:.2f}, test LL {result["test_ll"]:.2f} '
                 f'± {result["test_stderr"]:.2f}')
  for name in ('inception', 'classifier'):
    if name in result:
      parts.append(f'{name} IS {result[name]["is_mean"]:.2f} ± {result[name]["is_std"]:.2f}, '
                   f'FID {result[name]["fid"]:.2f}')
  if 'mode_coverage' in result:
    coverage = result['mode_coverage']
    parts.append(f'{coverage["modes_covered"]}/{coverage["num_modes"]} modes, '
                 f'{100 * coverage["high_quality_fraction"]:.1f}% high quality')
  logging.info('step %s: %s', step, '; '.join(parts))


def evaluate(config, workdir: str, all_checkpoints: bool = False) -> Dict:
  run = _Run(config, workdir)
  available = run.checkpointer.all_steps()
  if not available:
    raise errors.CheckpointError(f'no checkpoint in {workdir}/checkpoints; train first')
  scorers = _Scorers(config, run)
  eval_config = json.loads(json.dumps(config.eval.to_dict()))  # As read back from JSON.
  done = {r['step'] for r in _evaluated(workdir, eval_config)}
  for step in available if all_checkpoints else available[-1:]:
    if step in done:
      continue
    state = run.state(step)
    if state is None:  # Damaged: set aside (and named in the log) by the checkpointer.
      continue
    result = scorers.generator(state.generator)
    _write_json(os.path.join(workdir, 'eval', f'step_{step:06d}.json'),
                {'step': step, 'protocol': config.eval.protocol, 'eval_config': eval_config,
                 **result})
    _log_result(step, result)

  reference_path = os.path.join(workdir, 'eval', 'reference.json')
  if not (os.path.exists(reference_path)
          and _read_json(reference_path).get('eval_config') == eval_config):
    _write_json(reference_path, {'eval_config': eval_config, **scorers.reference()})
  reference = _read_json(reference_path)
  _log_result('reference (real training rows)', reference)

  records = _evaluated(workdir, eval_config)
  available = run.checkpointer.all_steps()
  if not records:
    raise errors.CheckpointError(f'no checkpoint in {workdir}/checkpoints could be read; train '
                                 'again with the same command')
  summary = {'num_samples': config.eval.num_samples,
             'evaluated_steps': sorted(r['step'] for r in records),
             'reference': {'what': f'{reference["num_training_rows"]} held-out real training '
                                   'examples in place of the samples'}}
  if config.eval.parzen:
    best = max(records, key=lambda r: r['validation_ll'])
    summary.update({
        'selection': 'checkpoint with the highest validation Parzen log-likelihood',
        'validation_ll': best['validation_ll'], 'test_ll': best['test_ll'],
        'test_stderr': best['test_stderr'], 'sigma': [s['sigma'] for s in best['sets']],
        'protocol': config.eval.protocol})
    summary['reference'].update({'test_ll': reference['test_ll'],
                                 'test_stderr': reference['test_stderr'],
                                 'sigma': [s['sigma'] for s in reference['sets']]})
  else:  # No validation metric to select on: the newest checkpoint evaluated, as in the paper.
    best = max(records, key=lambda r: r['step'])
    summary['selection'] = 'the last checkpoint evaluated (no Parzen validation set)'
  summary['selected_step'] = best['step']
  for name in ('inception', 'classifier', 'mode_coverage'):
    if name in best:
      summary[name] = best[name]
      summary['reference'][name] = reference.get(name)
  _write_json(os.path.join(workdir, 'eval', 'summary.json'), summary)
  logging.info('Selected step %d (%s).', best['step'], summary['selection'])
  # Figures from the selected model, or the best one whose checkpoint is still kept.
  kept = [r for r in records if r['step'] in available]
  chosen = (max(kept, key=lambda r: r['validation_ll'] if config.eval.parzen else r['step'])['step']
            if kept else available[-1])
  write_figures(run, chosen, available)
  return summary


_MAX_NEIGHBOUR_ROWS = 100_000  # Fig. 2's nearest neighbours are searched among at most this many.


def write_figures(run: _Run, step: int, available: List[int]) -> None:
  """Fig. 2 and 3 for images; Fig. 1 for 1-D toy data."""
  out = os.path.join(run.workdir, 'figures')
  examples = run.dataset.examples
  if examples.ndim == 4:
    g = run.state(step).generator
    rows, columns = 6, 5
    samples = generate(g, run.noise(rows * columns, seed_offset=1))
    if len(examples) > _MAX_NEIGHBOUR_ROWS:  # ImageNet: a fixed random subset of the split.
      examples = examples[np.sort(np.random.default_rng(0).permutation(len(examples))[
          :_MAX_NEIGHBOUR_ROWS])]
    training = data.to_float(np.asarray(examples))
    nearest = parzen.nearest_neighbours(samples[columns - 1::columns], training)[:, 0]
    scale = max(1, 480 // ((columns + 1) * (examples.shape[2] + 1)))
    figures.write_png(os.path.join(out, f'fig2_samples_nearest_step_{step:06d}.png'),
                      figures.samples_with_nearest(samples, training[nearest], columns), scale)
    ends = run.noise(2 * 8, seed_offset=2).reshape(8, 2, -1)
    weights = jnp.linspace(0.0, 1.0, 10)[None, :, None]
    path = ends[:, :1] * (1 - weights) + ends[:, 1:] * weights  # Linear in z (Fig. 3).
    images = generate(g, path.reshape(-1, path.shape[-1])).reshape(8, 10, *examples.shape[1:])
    figures.write_png(os.path.join(out, f'fig3_interpolation_step_{step:06d}.png'),
                      figures.interpolation_grid(images), scale)
  elif (run.config.data.source == 'toy' and examples.shape[1] == 1):
    picks = sorted({available[int(i)] for i in np.linspace(0, len(available) - 1, 4)})
    figures.write_toy_1d_figure(os.path.join(out, 'fig1_toy_1d.png'),
                                [_toy_panel(run, s) for s in picks])


def _toy_panel(run: _Run, step: int) -> Dict:
  from scipy import stats  # pylint: disable=g-import-not-at-top
  state = run.state(step)
  data_config = run.config.data
  x = np.linspace(data_config.mean - 6 * data_config.std, data_config.mean + 6 * data_config.std,
                  400)
  p_data = toy.density(data_config, x[:, None])
  samples = generate(state.generator, run.noise(5000, seed_offset=3))[:, 0]
  p_g = stats.gaussian_kde(samples)(x) if np.std(samples) > 0 else np.zeros_like(x)
  logits = state.discriminator.apply_fn({'params': state.discriminator.params},
                                        jnp.asarray(x[:, None], jnp.float32), train=False)[0]
  return {'step': step, 'x': x, 'p_data': p_data, 'p_g': p_g,
          'd': np.asarray(jax.nn.sigmoid(logits)),
          # D* is defined where either density has mass.
          'd_star': np.where(p_data + p_g > 1e-3, p_data / np.maximum(p_data + p_g, 1e-300),
                             np.nan)}
