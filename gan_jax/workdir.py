"""A run's workdir belongs to one config: resuming may change only the run's length and cadence
(and evaluation may change eval.*; a run without DFM ignores dfm.*); anything else is another
run and is refused."""
import json
import os

from gan_jax import errors

# Keys that may change when a run is resumed (to train longer, or log differently).
RESUMABLE_KEYS = ('num_train_steps', 'log_every_steps', 'checkpoint_every_steps',
                  'sample_every_steps', 'keep_checkpoints')

# Keys added to the code after runs were made, with the value that gives the behaviour those runs
# had: a config.json without the key is read as having that value (so it still resumes and is
# evaluated, while any other value is a different run).
ADDED_KEYS = {'generator_max_col_norm': 0.0}


def _flatten(tree, prefix=''):
  if isinstance(tree, dict):
    return {k: v for key, sub in tree.items() for k, v in _flatten(sub, f'{prefix}{key}.').items()}
  return {prefix[:-1]: tree}


def changed_keys(workdir: str, config):
  """Config keys whose values differ from workdir/config.json (None if there is none)."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    return None
  with open(path, encoding='utf-8') as f:
    old = {**ADDED_KEYS, **_flatten(json.load(f))}
  new = _flatten(json.loads(config.to_json_best_effort()))
  return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _unused(key: str, config) -> bool:
  """Keys that cannot change this run: the DFM settings of a run without DFM."""
  return key.startswith('dfm.') and key != 'dfm.enabled' and not config.dfm.enabled


def check_same_run(workdir: str, changed, config) -> None:
  refused = [k for k in changed if k not in RESUMABLE_KEYS and not k.startswith('eval.')
             and not _unused(k, config)]
  if refused:
    raise errors.WorkdirError(
        f'{workdir} holds a run with a different config ({", ".join(refused)} differ); use its '
        'own config (see its config.json) or choose a new --workdir')


def prepare(workdir: str, config) -> None:
  """Creates workdir and writes config.json; refuses a workdir that holds a different run."""
  os.makedirs(workdir, exist_ok=True)
  changed = changed_keys(workdir, config)
  if changed is not None:
    check_same_run(workdir, changed, config)
    if not changed:
      return
  path = os.path.join(workdir, 'config.json')
  with open(path + '.tmp', 'w', encoding='utf-8') as f:
    f.write(config.to_json_best_effort(indent=2, sort_keys=True))
  os.replace(path + '.tmp', path)
