"""A run's workdir belongs to one config: resuming may change only the run's length, cadence and
stopping rule (and evaluation may change eval.*; a run without DFM ignores dfm.*); anything else is another
run and is refused."""
import json
import os

from gan_jax import errors
from gan_jax import records

# Keys that may change when a run is resumed (to train longer, or log differently).
RESUMABLE_KEYS = ('num_train_steps', 'log_every_steps', 'checkpoint_every_steps',
                  'sample_every_steps', 'keep_checkpoints', 'keep_checkpoint_steps',
                  'max_abs_loss',
                  # How the run executes, not what it computes (calls.py, population.py).
                  'steps_per_call', 'call_form', 'seeds', 'population_form',
                  # Whether the data files are checked against their known sums (idx.py).
                  'data.verify')
# Groups of keys that may change on resume as a whole: when the run stops (the length again) and
# what is evaluated.
RESUMABLE_PREFIXES = ('early_stopping.', 'eval.')

# Keys added to the code after runs were made, with the value that gives the behaviour those runs
# had: a config.json without the key is read as having that value (so it still resumes and is
# evaluated, while any other value is a different run).
ADDED_KEYS = {'generator_max_col_norm': 0.0, 'data.pad': 0,
              # Radford's networks before they were made as released (models/radford.py).
              'generator.layout': 'flax', 'discriminator.layout': 'flax',
              'generator.batch_norm_epsilon': 1e-5, 'discriminator.batch_norm_epsilon': 1e-5,
              # tfds images before their preprocessing could be chosen: as stored.
              'data.preprocessing': 'none', 'data.image_size': 32,
              # Runs made before the split could live on the device read the host pipeline.
              'data.placement': 'host'}

# Keys whose value 'auto' is resolved when training starts and recorded resolved in config.json:
# a command's 'auto' matches whatever the workdir recorded (a resumed run keeps its choice).
RESOLVED_AT_START = {'data.placement': 'auto'}

# Keys renamed after runs were made (old name -> new name), the meaning of their values unchanged:
# generator_loss named G's loss when D's was always -V; `loss` names the D/G pair, and the two
# old values are the pairs of the same name.
RENAMED_KEYS = {'generator_loss': 'loss'}


def _flatten(tree, prefix=''):
  if isinstance(tree, dict):
    return {k: v for key, sub in tree.items() for k, v in _flatten(sub, f'{prefix}{key}.').items()}
  return {prefix[:-1]: tree}


# What a run keeps in its workdir: (name, whether it is a directory).
_LAYOUT = (('checkpoints', True), ('samples', True), ('eval', True), ('figures', True),
           ('metrics.jsonl', False), ('config.json', False), ('stop.json', False),
           ('hardware.json', False))


def check_usable(workdir: str) -> None:
  """A one-line WorkdirError for a --workdir that cannot be a run's directory."""
  if not workdir:
    raise errors.WorkdirError('--workdir is empty; give the directory the run should write to')
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise errors.WorkdirError(f'--workdir={workdir} is a file, not a directory; choose another '
                              '--workdir')
  # What a run writes inside it, checked now rather than when it is first written (for
  # samples/, after a whole interval of training that was then lost).
  for name, directory in _LAYOUT:
    path = os.path.join(workdir, name)
    if os.path.exists(path) and os.path.isdir(path) != directory:
      raise errors.WorkdirError(
          f'{path} is a {"file" if directory else "directory"}, where the run keeps its '
          f'{name}{"/" if directory else ""}; move it out of the workdir')


def changed_keys(workdir: str, config):
  """Config keys whose values differ from workdir/config.json (None if there is none)."""
  saved = read_config(workdir)
  return None if saved is None else differing_keys(saved, config)


def read_config(workdir: str):
  """workdir/config.json as a dict; None if there is none; a one-line WorkdirError if it
  cannot be read or holds no config."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    return None
  try:
    with open(path, encoding='utf-8') as f:
      saved = json.load(f)
  except (ValueError, UnicodeDecodeError) as e:
    raise errors.WorkdirError(
        f'{path} is not valid JSON ({e}); restore it from the experiment file and the run\'s '
        'overrides, or choose a new --workdir') from e
  except OSError as e:
    raise errors.WorkdirError(f'cannot read {path} ({e.strerror})') from e
  if not isinstance(saved, dict):
    raise errors.WorkdirError(f'{path} does not hold a config (a JSON object); restore it or '
                              'choose a new --workdir')
  return saved


def as_dict(config) -> dict:
  """The config as config.json holds it (and as each checkpoint records the run that wrote it)."""
  return json.loads(config.to_json_best_effort())


def flattened(config) -> dict:
  """The config as config.json holds it, by dotted key ('eval.metrics': a list)."""
  return _flatten(as_dict(config))


def differing_keys(saved: dict, config):
  """Keys whose values differ between a saved config (a dict read from JSON) and `config`."""
  new = flattened(config)
  # An added key counts as its old value only where the config has it (data.pad: IDX sources).
  old = {**{k: v for k, v in ADDED_KEYS.items() if k in new},
         **{RENAMED_KEYS.get(k, k): v for k, v in _flatten(saved).items()}}
  return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)
                and not (k in RESOLVED_AT_START and new.get(k) == RESOLVED_AT_START[k]))


def recorded(workdir: str, key: str):
  """The value of `key` in workdir/config.json (its ADDED_KEYS value where the file predates
  the key); None without a readable config.json."""
  try:
    with open(os.path.join(workdir, 'config.json'), encoding='utf-8') as f:
      saved = _flatten(json.load(f))
  except (OSError, ValueError, UnicodeDecodeError, AttributeError):
    return None
  return saved.get(key, ADDED_KEYS.get(key))


def _unused(key: str, config) -> bool:
  """Keys that cannot change this run: the DFM settings of a run without DFM."""
  return key.startswith('dfm.') and key != 'dfm.enabled' and not config.dfm.enabled


def identifying(changed, config):
  """Of the differing keys, those that make it another run (not its length, cadence, stopping
  rule or evaluation)."""
  return [k for k in changed if k not in RESUMABLE_KEYS
          and not k.startswith(RESUMABLE_PREFIXES) and not _unused(k, config)]


def check_same_run(workdir: str, changed, config) -> None:
  refused = identifying(changed, config)
  if refused:
    raise errors.WorkdirError(
        f'{workdir} holds a run with a different config ({", ".join(refused)} differ); use its '
        'own config (see its config.json) or choose a new --workdir')


def _has_checkpoints(workdir: str) -> bool:
  directory = os.path.join(workdir, 'checkpoints')
  return os.path.isdir(directory) and any(n.isdigit() for n in os.listdir(directory))


def check_resumable(workdir: str, config) -> None:
  """Refuses, before anything is written, a workdir that holds another run, an unreadable
  config.json, or checkpoints without the config.json that says what they are."""
  changed = changed_keys(workdir, config)
  if changed is None:
    if _has_checkpoints(workdir):
      raise errors.WorkdirError(
          f'{workdir} holds checkpoints but no config.json, so what run they belong to is unknown;'
          ' restore its config.json, or choose a new --workdir')
    return
  check_same_run(workdir, changed, config)


def prepare(workdir: str, config) -> None:
  """Creates workdir and writes config.json; refuses a workdir that holds a different run."""
  check_resumable(workdir, config)
  path = os.path.join(workdir, 'config.json')
  if os.path.exists(path) and not changed_keys(workdir, config):
    return
  records.write_text(path, config.to_json_best_effort(indent=2, sort_keys=True))
