r"""Benchmark: one cifar10_dfm iteration (batch 64) against cifar10_dcgan, the same config
without the denoiser, on this machine's default device.

  python tests/benchmarks/dfm_iteration.py [--steps=20]

Prints ms per iteration for both, the denoiser's overhead in %, and images/s (generated images
per second, one batch of samples per iteration).
"""
import functools
import os
import sys
import time

from absl import app
from absl import flags
import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from experiments import cifar10_dcgan  # pylint: disable=g-import-not-at-top
from experiments import cifar10_dfm
from gan_jax import data
from gan_jax import steps
from gan_jax import state as state_lib

_STEPS = flags.DEFINE_integer('steps', 20, 'Timed iterations.')


def time_iteration(config) -> float:
  spec = steps.StepSpec.from_config(config)
  examples = np.random.default_rng(0).integers(0, 256, (1024, 32, 32, 3), dtype=np.uint8)
  dataset = data.Dataset(examples=examples, batches=None, batch_size=config.batch_size,
                         batches_per_step=spec.batches_per_step)
  state = state_lib.create_train_state(config, dataset, spec, jax.random.PRNGKey(0))
  step = jax.jit(functools.partial(steps.train_step, spec=spec), donate_argnums=0)
  batch = jax.device_put(data.to_float(examples[:config.batch_size])[None])
  rng = jax.random.PRNGKey(1)
  for _ in range(3):
    state, _ = step(state, batch, rng)
  jax.block_until_ready(state)
  start = time.perf_counter()
  for _ in range(_STEPS.value):
    state, _ = step(state, batch, rng)
  jax.block_until_ready(state)
  return (time.perf_counter() - start) / _STEPS.value


def main(argv):
  del argv
  base, dfm = cifar10_dcgan.get_config(), cifar10_dfm.get_config()
  base_s, dfm_s = time_iteration(base), time_iteration(dfm)
  print(f'device: {jax.devices()[0].device_kind} x{jax.device_count()}; batch {dfm.batch_size}; '
        f'denoiser {dfm.dfm.denoiser.num_layers} x n_h')
  print(f'cifar10_dcgan: {base_s * 1e3:.1f} ms/iteration ({base.batch_size / base_s:.0f} images/s)')
  print(f'cifar10_dfm:   {dfm_s * 1e3:.1f} ms/iteration ({dfm.batch_size / dfm_s:.0f} images/s)')
  print(f'denoiser overhead: {100 * (dfm_s / base_s - 1):.1f} %')


if __name__ == '__main__':
  app.run(main)
