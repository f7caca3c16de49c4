r"""Benchmark: the MNIST epoch as train.py runs it before and after many steps per call.

  python tests/benchmarks/steps_per_call.py [--rounds=3] [--iterations=500] [--json=PATH]

Times, interleaved round by round so that every form sees the same machine load:
  before      one pmapped `steps.train_step` per iteration on a host batch (the loop before
              config.steps_per_call, config.data.placement and jit with shardings);
  host K=1    gan_jax.parallel.TrainCalls on the grain pipeline, one iteration a call;
  device K=1  the split resident on the device, one iteration a call;
  device K=N  the same, N iterations a call (--long; the CPU's default for fully connected
              networks);
  steps form  one dispatch of one compiled iteration at a time (the CPU's default for
              convolutional networks, gan_jax/parallel.py's call_form).
Each figure is the median over rounds of ms per iteration, metrics fetched once per call as the
loop does. Data: the real Fashion-MNIST IDX files when installed (MNIST's sizes), else random
uint8 images of MNIST's shape.
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
from mnist_iteration import _examples  # pylint: disable=g-import-not-at-top
from gan_jax import data
from gan_jax import parallel
from gan_jax import state as state_lib
from gan_jax import steps

_ROUNDS = flags.DEFINE_integer('rounds', 3, 'Interleaved rounds (the median is reported).')
_ITERATIONS = flags.DEFINE_integer('iterations', 500, 'Iterations timed per form and round.')
_LONG = flags.DEFINE_integer('long', 500, 'Iterations per call of the long form.')
_JSON = flags.DEFINE_string('json', '', 'Also write the figures here.')


def main(argv):
  del argv
  config = mnist_gan.get_config()
  spec = parallel.step_spec(config)
  examples, source = _examples(config)
  dataset = data.Dataset(examples=examples, batch_size=config.batch_size, batches_per_step=1,
                         batches=data.batch_pipeline(examples, batch_size=config.batch_size,
                                                     batches_per_step=1, seed=0))
  initial = state_lib.create_train_state(config, dataset, spec, jax.random.PRNGKey(0))
  rng = jax.random.PRNGKey(1)
  n = _ITERATIONS.value

  def before():
    # (One device: pmap's leading device axis of 1 on the state and on each host batch.)
    step = jax.pmap(functools.partial(steps.train_step, spec=spec), axis_name=parallel.AXIS,
                    in_axes=(0, 0, None), donate_argnums=(0,))
    batches = iter(dataset.batches)
    state = jax.tree.map(lambda x: np.asarray(x)[None], jax.device_get(initial))

    def run(iterations):
      nonlocal state
      history = []
      for _ in range(iterations):
        state, metrics = step(state, next(batches)[None], rng)
        history.append(metrics)
      jax.block_until_ready((state, history))
    return run

  def calls(placement, per_call, form='loop'):
    train_calls = parallel.TrainCalls(spec, dataset, placement, seed=0, form=form)
    train_calls.start(0)
    state = parallel.replicate(initial)

    def run(iterations):
      nonlocal state
      history = []
      for _ in range(iterations // per_call):
        state, metrics = train_calls.run(state, rng, per_call)
        history.append(metrics)
      jax.block_until_ready((state, history))
    return run

  long = _LONG.value
  forms = {'before': (before(), 1), 'host K=1': (calls('host', 1), 1),
           'device K=1': (calls('device', 1), 1), f'device K={long}': (calls('device', long), long),
           'steps form': (calls('device', 1, 'steps'), 1)}
  for run, per_call in forms.values():  # Compile and warm up.
    run(max(per_call, 20))
  times = {name: [] for name in forms}
  for _ in range(_ROUNDS.value):
    for name, (run, per_call) in forms.items():
      iterations = max(n // per_call, 1) * per_call
      start = time.perf_counter()
      run(iterations)
      times[name].append((time.perf_counter() - start) / iterations * 1e3)
  median = {name: float(np.median(t)) for name, t in times.items()}
  print(f'device: {jax.devices()[0].device_kind} x{jax.device_count()}  data: {source}  '
        f'rounds: {_ROUNDS.value} x {n} iterations (median ms per iteration; an epoch is '
        f'{dataset.steps_per_epoch} iterations)')
  for name, ms in median.items():
    print(f'  {name:14s} {ms:7.2f} ms  epoch {ms * dataset.steps_per_epoch / 1e3:6.2f} s  '
          f'({median["before"] / ms:.3f}x before)  rounds: '
          + ', '.join(f'{t:.2f}' for t in times[name]))
  if _JSON.value:
    with open(_JSON.value, 'w') as f:
      json.dump({'device': jax.devices()[0].device_kind, 'ms_per_iteration': median,
                 'rounds': times}, f, indent=2)


if __name__ == '__main__':
  app.run(main)
