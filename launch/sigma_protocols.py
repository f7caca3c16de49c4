r"""How much of Table 1's gap is the Parzen protocol's: every kept checkpoint of a row's seeds
scored under three ways of choosing σ, with the same 10,000 samples and the same 10,000 test
images (the reproduction issue, item 2):

  released   σ on the first 1,000 validation rows over logspace(-1, 0, 10): parzen_ll.py as
             released, and this project's table;
  log15_10k  σ on all 10,000 validation rows over 15 log-spaced points of the same range: the
             authors' script of the week before the paper;
  refined    the released grid, then a finer pass around its best σ (config.eval.refine_sigma).

  python -m launch.sigma_protocols --config=experiments/mnist_gan.py \
    --workdirs=/tmp/gan_jax_runs/mnist_gan/seed=0,/tmp/gan_jax_runs/mnist_gan/seed=1 \
    [--output=FILE.md]

launch.reproduce --table=gan_parzen writes the same table beside its own for the MNIST row.
Each workdir's seed is its config.json's. A checkpoint's scores are kept in
<workdir>/eval/sigma_protocols/step_NNNNNN.json with the checkpoint's identity and each
protocol's settings, so that the next call scores only what is new. Like --mode=eval, it holds
the workdir's lock (refused, in one line, while the run trains there).
"""
from gan_jax import cli  # pylint: disable=g-bad-import-order

if __name__ == '__main__':
  cli.install()  # A Ctrl-C from here on ends in one line.
import copy
import json
import os
from typing import Dict, List, Sequence

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags
import numpy as np

from gan_jax import errors
from gan_jax import lock
from gan_jax import records
from gan_jax import workdir as workdir_lib

PROTOCOLS = {
    'released': dict(sigmas=tuple(float(s) for s in np.logspace(-1, 0, 10)), num_validation=1000,
                     refine_sigma=False),
    'log15_10k': dict(sigmas=tuple(float(s) for s in np.logspace(-1, 0, 15)),
                      num_validation=10_000, refine_sigma=False),
    'refined': dict(sigmas=tuple(float(s) for s in np.logspace(-1, 0, 10)), num_validation=1000,
                    refine_sigma=True),
}
TITLES = {'released': 'released (10 σ, 1,000 rows)', 'log15_10k': '15 log σ, 10,000 rows',
          'refined': 'refined σ'}


def protocol_config(config, name: str):
  """config with its Parzen evaluation set to the protocol `name`."""
  changed = copy.deepcopy(config)
  with changed.unlocked():
    changed.eval.update(PROTOCOLS[name])
  return changed


def score_workdir(config, workdir: str) -> Dict[int, Dict[str, Dict]]:
  """{step: {protocol: the Parzen result (validation_ll, test_ll, test_stderr, sigma)}} for every
  kept checkpoint of the run in `workdir`, computed where not kept from an earlier call."""
  from gan_jax import evaluate  # pylint: disable=g-import-not-at-top  (JAX: after flags)
  from gan_jax.evaluation import protocols  # pylint: disable=g-import-not-at-top
  from gan_jax.evaluation.metrics import base  # pylint: disable=g-import-not-at-top
  workdir_lib.check_usable(workdir)
  with lock.WorkdirLock(workdir, purpose='evaluation'):
    run = evaluate.Run(config, workdir)
    configs = {name: protocol_config(config, name) for name in PROTOCOLS}
    settings = _as_json({name: c.eval.to_dict() for name, c in configs.items()})
    sets = {}
    scored = {}
    for step in run.checkpointer.all_steps():
      path = os.path.join(workdir, 'eval', 'sigma_protocols', f'step_{step:06d}.json')
      kept = records.read(path) if os.path.exists(path) else {}
      identity = run.checkpoint_id(step)
      if kept.get('checkpoint') == identity and kept.get('settings') == settings:
        scored[step] = kept['protocols']
        continue
      state = run.state(step)
      if state is None:  # Damaged or foreign: set aside by the checkpointer, which says so.
        continue
      centres = base.GeneratedSamples(config, state.generator, f'step_{step}').take(
          config.eval.num_samples)
      results = {}
      for name, changed in configs.items():
        if name not in sets:  # Read once, at the first checkpoint that needs them.
          sets[name] = protocols.load_sets(changed, run.dataset.examples)
        result = protocols.evaluate(lambda _, c=centres: c, sets[name], changed.eval)
        results[name] = {k: float(result[k]) for k in ('validation_ll', 'test_ll', 'test_stderr')}
        results[name]['sigma'] = float(result['sets'][0]['sigma'])
      records.write(path, {'step': step, 'checkpoint': identity, 'settings': settings,
                           'protocols': results})
      logging.info('%s step %d: %s', workdir, step, ', '.join(
          f'{n} {r["test_ll"]:.2f} (σ {r["sigma"]:.3g})' for n, r in results.items()))
      scored[step] = results
  return scored


def _as_json(value):
  """As records.read gives it back (tuples as lists)."""
  return json.loads(json.dumps(value))


def markdown(label: str, scores: Dict[int, Dict[int, Dict[str, Dict]]],
             steps_per_epoch: Dict[int, float]) -> List[str]:
  """The protocol table of one row: {seed: score_workdir(...)} -> Markdown lines."""
  names = list(PROTOCOLS)
  lines = [f'### {label}: test LL of every kept checkpoint under three σ protocols', '',
           'The same 10,000 samples and 10,000 test images in each column; σ in parentheses. '
           'released: σ on the first 1,000 validation rows over logspace(-1, 0, 10), as '
           '`parzen_ll.py` and the table; 15 log σ: 15 log-spaced widths of the same range on '
           'all 10,000 validation rows (the authors\' earlier script); refined: a finer second '
           'pass around the released grid\'s best σ.', '',
           '| seed | epoch | ' + ' | '.join(TITLES[n] for n in names) + ' |',
           '| --- | --- | ' + ' | '.join('---' for _ in names) + ' |']
  gains = {n: [] for n in names[1:]}
  for seed, by_step in scores.items():
    for step, results in sorted(by_step.items()):
      per_epoch = steps_per_epoch.get(seed)
      epoch = f'{step / per_epoch:,.0f}' if per_epoch else f'step {step:,}'
      cells = [f'{results[n]["test_ll"]:.2f} ± {results[n]["test_stderr"]:.2f} '
               f'({results[n]["sigma"]:.3g})' for n in names]
      lines.append(f'| {seed} | {epoch} | ' + ' | '.join(cells) + ' |')
      for n in names[1:]:
        gains[n].append(results[n]['test_ll'] - results['released']['test_ll'])
  if not any(gains.values()):
    return lines + ['', 'No checkpoint scored yet.', '']
  lines.append('')
  for n, values in gains.items():
    over = f'{len(values)} checkpoint{"s" if len(values) > 1 else ""}'
    lines.append(f'- {TITLES[n]} − released: {np.mean(values):+.2f} nats on average over {over} '
                 f'(from {min(values):+.2f} to {max(values):+.2f}).')
  return lines + ['']


def seed_config(config, workdir: str):
  saved = workdir_lib.read_config(workdir)
  if saved is None or not isinstance(saved.get('seed'), int):
    raise errors.WorkdirError(f'{workdir} has no config.json with a seed; give the workdirs of '
                              'a row\'s trained seeds')
  single = copy.deepcopy(config)
  with single.unlocked():
    single.seed = saved['seed']
  return single


def table(config, workdirs: Sequence[str], label: str) -> str:
  from launch import report  # pylint: disable=g-import-not-at-top
  scores, per_epoch = {}, {}
  for workdir in workdirs:
    single = seed_config(config, workdir)
    scores[single.seed] = score_workdir(single, workdir)
    per_epoch[single.seed] = report.steps_per_epoch(workdir)
  return '\n'.join(markdown(label, scores, per_epoch))


@cli.one_line('launch.sigma_protocols')
def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not FLAGS.workdirs:
    raise errors.ConfigError('--workdirs is empty; give the seeds\' workdirs, separated by commas')
  text = table(FLAGS.config, FLAGS.workdirs, FLAGS.label)
  if FLAGS.output:
    records.write_text(os.path.abspath(FLAGS.output), text)
  print(text)


def _define_flags():
  """The command's flags: defined only when it runs as one (launch.reproduce imports this)."""
  config_flags.DEFINE_config_file('config', None, 'The row\'s experiment file '
                                  '(experiments/*.py).', lock_config=True)
  flags.DEFINE_list('workdirs', [], 'The seeds\' workdirs (each seed is its config.json\'s).')
  flags.DEFINE_string('output', '', 'Also write the Markdown here.')
  flags.DEFINE_string('label', 'GAN, MNIST', 'The row\'s name in the table\'s title.')
  flags.mark_flag_as_required('config')


FLAGS = flags.FLAGS

if __name__ == '__main__':
  _define_flags()
  cli.run('launch.sigma_protocols', main)
