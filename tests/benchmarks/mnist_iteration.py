r"""Benchmark: one mnist_gan iteration (batch 100) and one epoch with the input pipeline.

  python tests/benchmarks/mnist_iteration.py [--steps=300] [--update_rule=simultaneous]

Uses the real MNIST-shaped Fashion-MNIST files when installed (same sizes as MNIST), otherwise
random uint8 images of MNIST's shape. Prints ms per iteration, the epoch's wall time, and the
share of the epoch spent in the input pipeline. Targets on the 2-core CPU: <= 17 ms per
iteration, pipeline < 10 % of the epoch.
"""
import functools
import os
import sys
import time

from absl import app
from absl import flags
import jax
import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(os.path.dirname(_HERE)), _HERE]
import bare_jax_reference  # pylint: disable=g-import-not-at-top
from experiments import mnist_gan  # pylint: disable=g-import-not-at-top
from gan_jax import data
from gan_jax import steps
from gan_jax import state as state_lib

_STEPS = flags.DEFINE_integer('steps', 300, 'Timed iterations for the per-iteration figure.')
_REFERENCE = flags.DEFINE_bool('reference', True, 'Also time the bare-JAX reference here.')
_UPDATE_RULE = flags.DEFINE_enum('update_rule', None, ['alternating', 'simultaneous'],
                                 'Override mnist_gan.update_rule.')


def _examples(config):
  try:
    return data.load_split(data.default_config('idx'), 'train'), 'Fashion-MNIST IDX files'
  except data.errors.DatasetUnavailableError:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (50000, 28, 28, 1), dtype=np.uint8), 'random MNIST-shaped images'


def main(argv):
  del argv
  config = mnist_gan.get_config()
  if _UPDATE_RULE.value:
    config.update_rule = _UPDATE_RULE.value
  spec = steps.StepSpec.from_config(config)
  examples, source = _examples(config)
  batches = data.batch_pipeline(examples, batch_size=config.batch_size,
                                batches_per_step=spec.batches_per_step, seed=0)
  dataset = data.Dataset(examples=examples, batches=batches, batch_size=config.batch_size,
                         batches_per_step=spec.batches_per_step)
  state = state_lib.create_train_state(config, dataset, spec, jax.random.PRNGKey(0))
  train_step = jax.jit(functools.partial(steps.train_step, spec=spec), donate_argnums=0)
  rng = jax.random.PRNGKey(1)
  iterator = iter(dataset.batches)

  batch = jax.device_put(next(iterator))
  for _ in range(20):  # Compile and warm up.
    state, metrics = train_step(state, batch, rng)
  jax.block_until_ready(state)

  start = time.perf_counter()
  for _ in range(_STEPS.value):
    state, metrics = train_step(state, batch, rng)
  jax.block_until_ready(state)
  per_iteration = (time.perf_counter() - start) / _STEPS.value

  start = time.perf_counter()
  for _ in range(dataset.steps_per_epoch):
    next(iterator)
  pipeline_alone = time.perf_counter() - start

  # One epoch exactly as train.py runs it: host batches, asynchronous dispatch, metrics kept.
  history = []
  start = time.perf_counter()
  for _ in range(dataset.steps_per_epoch):
    state, metrics = train_step(state, next(iterator), rng)
    history.append(metrics)
  jax.block_until_ready((state, history))
  epoch = time.perf_counter() - start
  compute_only = per_iteration * dataset.steps_per_epoch

  print(f'device: {jax.devices()[0].device_kind} x{jax.device_count()}  data: {source}')
  print(f'update_rule={config.update_rule} batch={config.batch_size} '
        f'G={tuple(config.generator.hidden_dims)} D=maxout{tuple(config.discriminator.hidden_units)}'
        f'x{config.discriminator.num_pieces}')
  print(f'iteration: {per_iteration * 1e3:.2f} ms ({_STEPS.value} timed)')
  print(f'epoch ({dataset.steps_per_epoch} iterations, {len(examples)} examples): {epoch:.2f} s; '
        f'{epoch / dataset.steps_per_epoch * 1e3:.2f} ms per iteration with the pipeline')
  print(f'input pipeline alone: {pipeline_alone / dataset.steps_per_epoch * 1e3:.3f} ms per batch '
        f'({100 * pipeline_alone / epoch:.1f} % of the epoch if it were not overlapped)')
  print(f'pipeline cost in the epoch (epoch - compute): '
        f'{100 * max(epoch - compute_only, 0) / epoch:.1f} %')
  if _REFERENCE.value:
    reference = bare_jax_reference.time_iteration(_STEPS.value)
    print(f'bare-JAX reference, same machine: {reference * 1e3:.2f} ms per iteration '
          f'(gan_jax / bare = {per_iteration / reference:.3f})')


if __name__ == '__main__':
  app.run(main)
