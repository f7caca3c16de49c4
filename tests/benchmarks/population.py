r"""Benchmark: a table row's seeds as one program, against the seeds one after another.

  python tests/benchmarks/population.py [--seeds=3] [--iterations=500] [--rounds=3] [--json=PATH]

Times the MNIST iteration (mnist_gan, batch 100, data on the device, --per_call iterations a
call) for a population of --seeds seeds in both forms of gan_jax/population.py, interleaved
round by round:
  one seed   a single run's calls (the reference: ms per iteration);
  loop       each seed's calls in turn in one process ('auto' on a CPU);
  vmap       the seeds' states stacked, one vmapped call for all ('auto' elsewhere).
Figures: ms per seed-iteration (lower is better) and seed-epochs per hour. One process per core
(launch/cpu_seeds.sh) is the single run's figure with each process on its own core: run this
benchmark under `taskset -c 0` beside a copy under `taskset -c 1` to measure it.
"""
import functools
import json
import os
import sys
import time

from absl import app
from absl import flags
import jax
import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(os.path.dirname(_HERE)), _HERE]
from experiments import mnist_gan  # pylint: disable=g-import-not-at-top
from gan_jax import calls  # pylint: disable=g-import-not-at-top
from gan_jax import data
from gan_jax import parallel
from gan_jax import population
from gan_jax import state as state_lib
from gan_jax.data import on_device
from mnist_iteration import _examples  # pylint: disable=g-import-not-at-top

_SEEDS = flags.DEFINE_integer('seeds', 3, 'Seeds in the population.')
_ITERATIONS = flags.DEFINE_integer('iterations', 500, 'Iterations per seed, form and round.')
_PER_CALL = flags.DEFINE_integer('per_call', 100, 'Iterations per compiled call.')
_ROUNDS = flags.DEFINE_integer('rounds', 3, 'Interleaved rounds (the median is reported).')
_JSON = flags.DEFINE_string('json', '', 'Also write the figures here.')


def main(argv):
  del argv
  config = mnist_gan.get_config()
  spec = parallel.step_spec(config)
  examples, source = _examples(config)
  seeds = list(range(_SEEDS.value))
  per_call, n = _PER_CALL.value, _ITERATIONS.value
  datasets = [data.dataset_of(examples, batch_size=config.batch_size, seed=s) for s in seeds]
  initial = [state_lib.create_train_state(config, d, spec, jax.random.PRNGKey(s))
             for s, d in zip(seeds, datasets)]
  rngs = [jax.random.PRNGKey(100 + s) for s in seeds]

  def single(count):
    runs = []
    for s in range(count):
      train_calls = parallel.TrainCalls(spec, datasets[s], 'device', seeds[s])
      train_calls.start(0)
      runs.append([train_calls, parallel.replicate(initial[s])])

    def run(iterations):
      for _ in range(iterations // per_call):
        for entry, rng in zip(runs, rngs):
          entry[1], _ = entry[0].run(entry[1], rng, per_call)
      jax.block_until_ready([entry[1] for entry in runs])
    return run

  def vmapped():
    layout = on_device.Layout(len(examples), config.batch_size, 1)
    keys = [on_device.data_key(s) for s in seeds]
    stack = population._stack  # pylint: disable=protected-access
    split = parallel.replicate(examples)
    keys_d, rngs_d = parallel.replicate(stack(keys)), parallel.replicate(stack(rngs))
    orders = parallel.replicate(stack([on_device.initial_order(k, 0, layout) for k in keys]))
    states = parallel.replicate(stack(initial))
    call = jax.jit(functools.partial(calls.population_batches, spec=spec, layout=layout,
                                     length=per_call), donate_argnums=(0, 1))
    active = np.ones(len(seeds), bool)

    def run(iterations):
      nonlocal states, orders
      for _ in range(iterations // per_call):
        states, orders, metrics = call(states, orders, split, keys_d, np.int32(per_call),
                                       rngs_d, active)
        jax.block_until_ready(metrics)
      jax.block_until_ready(states)
    return run

  forms = {'one seed': (single(1), 1), 'loop': (single(len(seeds)), len(seeds)),
           'vmap': (vmapped(), len(seeds))}
  for run, _ in forms.values():
    run(per_call)  # Compile and warm up.
  times = {name: [] for name in forms}
  for _ in range(_ROUNDS.value):
    for name, (run, count) in forms.items():
      start = time.perf_counter()
      run(n)
      times[name].append((time.perf_counter() - start) / (n * count) * 1e3)
  median = {name: float(np.median(t)) for name, t in times.items()}
  steps_per_epoch = len(examples) // config.batch_size
  print(f'device: {jax.devices()[0].device_kind} x{jax.device_count()}  data: {source}  '
        f'seeds: {len(seeds)}  {per_call} iterations a call, {_ROUNDS.value} rounds')
  for name, ms in median.items():
    print(f'  {name:9s} {ms:7.2f} ms per seed-iteration  '
          f'{3600e3 / (ms * steps_per_epoch):7.1f} seed-epochs per hour  rounds: '
          + ', '.join(f'{t:.2f}' for t in times[name]))
  if _JSON.value:
    with open(_JSON.value, 'w') as f:
      json.dump({'device': jax.devices()[0].device_kind, 'seeds': len(seeds),
                 'ms_per_seed_iteration': median, 'rounds': times}, f, indent=2)


if __name__ == '__main__':
  app.run(main)
