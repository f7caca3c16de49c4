"""`python -m gan_jax.summary --config=FILE`: every network of an experiment, layer by layer
with its parameter shapes and counts, then `generator: N parameters` / `discriminator: N
parameters (n_h = ...)` / `denoiser: N parameters`. Nothing is computed or allocated: the train
state is built from shapes (jax.eval_shape). Batch-norm running statistics are state, not
parameters, and are not counted. Without the dataset, the shapes come from stand-in data in its
format (gan_jax/data/mock.py), as the example shape is all that is needed.
"""
from gan_jax import cli  # pylint: disable=g-bad-import-order

if __name__ == '__main__':
  cli.install()  # A Ctrl-C from here on ends in one line.
import contextlib
import functools
import tempfile
from typing import Dict, List

from absl import app
from absl import flags
import flax
import jax
from ml_collections import config_flags
import numpy as np

from gan_jax import data
from gan_jax import errors
from gan_jax import models
from gan_jax import state as state_lib
from gan_jax import steps


def layers(params) -> List[str]:
  """One line per layer: its name, each parameter's shape, and its parameter count."""
  lines = []
  for name, sub in params.items():
    flat = flax.traverse_util.flatten_dict(sub)
    shapes = ', '.join(f'{"/".join(k)} {tuple(v.shape)}' for k, v in flat.items())
    lines.append(f'  {name:<16} {models.parameter_count(sub):>12,}  {shapes}')
  return lines


def summarise(config) -> Dict[str, int]:
  """Prints the summary of `config`'s networks; returns {network: parameter count}."""
  spec = steps.StepSpec.from_config(config)
  load = functools.partial(data.get_dataset, config.data, 'train', batch_size=config.batch_size,
                           batches_per_step=spec.batches_per_step, seed=config.seed)
  with contextlib.ExitStack() as stack:
    try:
      dataset = load()
    except errors.DatasetUnavailableError:
      from gan_jax.data import mock  # pylint: disable=g-import-not-at-top
      # The stand-in's directory goes when the shapes are known (the ExitStack unwinds it last).
      scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix='gan_jax_summary_'))
      stack.enter_context(mock.mock_data(config.data, scratch))
      dataset = load()
    state = jax.eval_shape(lambda r: state_lib.create_train_state(config, dataset, spec, r),
                           jax.random.PRNGKey(0))
  counts = {}
  print(f'examples {dataset.example_shape}, z {config.noise.dim}')
  for role, network, model_config in (('generator', state.generator, config.generator),
                                      ('discriminator', state.discriminator,
                                       config.discriminator),
                                      ('denoiser', state.denoiser, config.dfm.denoiser)):
    if network is None:
      continue
    counts[role] = models.parameter_count(network.params)
    print(f'{role} ({", ".join(f"{k}={v}" for k, v in sorted(model_config.items()))}):')
    print('\n'.join(layers(network.params)))
    extra = ''
    if role == 'discriminator':
      n_h = models.feature_dim(models.build_discriminator(model_config),
                               {'params': network.params, 'batch_stats': network.batch_stats},
                               np.zeros((1, *dataset.example_shape), np.float32))
      extra = f' (n_h = {n_h:,})'
    print(f'{role}: {counts[role]:,} parameters{extra}')
  return counts


@cli.one_line('gan_jax.summary')
def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  summarise(flags.FLAGS.config)


if __name__ == '__main__':
  # Defined here, not at import, so that importing the module defines no --config flag.
  config_flags.DEFINE_config_file('config', None, 'An experiment file.', lock_config=True)
  flags.mark_flag_as_required('config')
  cli.run('gan_jax.summary', main)
