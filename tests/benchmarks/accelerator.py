r"""One-call accelerator benchmark: one table, also written as JSON.

  python tests/benchmarks/accelerator.py [--json=accelerator.json]       # a GPU: under 8 minutes
  python tests/benchmarks/accelerator.py --small --json=/tmp/a.json      # the CPU test's sizes

Rows (ms per iteration unless named otherwise; "reference" is the same work another way, on the
same device):
  mnist K=1            gan_jax's MNIST iteration, data on the device, one iteration a call
  mnist K=500          the same, 500 iterations in one compiled loop
  mnist population 3   three seeds vmapped in one program: ms per seed-iteration
  mnist bare-JAX scan  the ceiling: the same step in bare JAX (bare_jax_reference.py), 500 under
                       one lax.scan
  mnist PyTorch eager  reference column of the rows above (torch_mnist_reference.py)
  cifar10_dcgan, cifar10_dfm   one iteration (batch 64), ours jitted against PyTorch eager
                       (torch_dfm_reference.py, the same networks and step)
  parzen protocol      the full MNIST Parzen protocol (10,000 samples, 1,000 validation rows x
                       10 sigmas, 10,000 test rows), seconds
  inception pool3      images per second through gan_jax's Flax InceptionV3 against
                       torchvision's inception_v3 at the same batch (random weights; 299x299)
--small shrinks every size so that the whole table runs on a CPU in a few minutes (a slow test
runs it there so that it cannot rot); its numbers say nothing about speed.
"""
import functools
import json
import os
import sys
import time

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(os.path.dirname(_HERE)), _HERE]
import bare_jax_reference  # pylint: disable=g-import-not-at-top
import dfm_iteration
from experiments import cifar10_dcgan, cifar10_dfm, mnist_gan
from gan_jax import calls
from gan_jax import data
from gan_jax import parallel
from gan_jax import population
from gan_jax import state as state_lib
from gan_jax.data import on_device
from gan_jax.evaluation import inception
from gan_jax.evaluation import parzen

_SMALL = flags.DEFINE_bool('small', False, 'Shrink every size (the CPU test).')
_JSON = flags.DEFINE_string('json', 'accelerator_benchmark.json', 'Where the table goes as JSON.')


def _timed(run, iterations: int, rounds: int = 3) -> float:
  """Milliseconds per iteration of `run(iterations)`, the fastest of `rounds`, after a warm-up."""
  run(iterations)
  best = float('inf')
  for _ in range(rounds):
    start = time.perf_counter()
    run(iterations)
    best = min(best, time.perf_counter() - start)
  return best / iterations * 1e3


def _torch_device():
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  return 'cuda' if torch.cuda.is_available() else 'cpu'


def mnist_rows(small: bool):
  config = mnist_gan.get_config()
  spec = parallel.step_spec(config)
  examples = np.random.default_rng(0).integers(0, 256, (2000 if small else 50000, 28, 28, 1),
                                               dtype=np.uint8)
  long = 20 if small else 500
  iterations = 2 * long
  dataset = data.dataset_of(examples, batch_size=config.batch_size)
  initial = state_lib.create_train_state(config, dataset, spec, jax.random.PRNGKey(0))
  rng = jax.random.PRNGKey(1)

  def ours(per_call):
    train_calls = parallel.TrainCalls(spec, dataset, 'device', seed=0, form='loop')
    train_calls.start(0)
    holder = [parallel.replicate(initial)]

    def run(n):
      for _ in range(n // per_call):
        holder[0], metrics = train_calls.run(holder[0], rng, per_call)
      jax.block_until_ready((holder[0], metrics))
    return run

  def vmapped(seeds=3):
    layout = on_device.Layout(len(examples), config.batch_size, 1)
    keys = [on_device.data_key(s) for s in range(seeds)]
    stack = population._stack  # pylint: disable=protected-access
    states = parallel.replicate(stack([state_lib.create_train_state(
        config, dataset, spec, jax.random.PRNGKey(s)) for s in range(seeds)]))
    orders = parallel.replicate(stack([on_device.initial_order(k, 0, layout) for k in keys]))
    split, keys = parallel.replicate(examples), parallel.replicate(stack(keys))
    rngs = parallel.replicate(stack([jax.random.PRNGKey(10 + s) for s in range(seeds)]))
    call = jax.jit(functools.partial(calls.population_batches, spec=spec, layout=layout,
                                     length=long), donate_argnums=(0, 1))
    holder = [states, orders]

    def run(n):
      for _ in range(n // long):
        holder[0], holder[1], metrics = call(holder[0], holder[1], split, keys,
                                             np.int32(long), rngs, np.ones(seeds, bool))
      jax.block_until_ready((holder[0], metrics))
    return run, seeds

  def bare_scan():
    g, d = bare_jax_reference.init(jax.random.PRNGKey(0))
    velocities = (jax.tree.map(jnp.zeros_like, g), jax.tree.map(jnp.zeros_like, d))
    x = jnp.asarray(np.random.default_rng(0).random((bare_jax_reference.BATCH, 784), np.float32))

    @jax.jit
    def many(carry, key):
      def one(carry, i):
        return bare_jax_reference.step(*carry, x, jax.random.fold_in(key, i), 0.1, 0.5), None
      return jax.lax.scan(one, carry, jnp.arange(long))[0]
    holder = [(g, d, *velocities)]

    def run(n):
      for i in range(n // long):
        holder[0] = many(holder[0], jax.random.PRNGKey(i))
      jax.block_until_ready(holder[0])
    return run

  device = _torch_device()
  torch_ms = None
  if device:
    import torch_mnist_reference  # pylint: disable=g-import-not-at-top
    torch_ms = torch_mnist_reference.time_iteration(device, 10 if small else 200) * 1e3
  population_run, seeds = vmapped()
  return [
      ('mnist K=1', _timed(ours(1), iterations), torch_ms, 'ms/iteration'),
      (f'mnist K={long}', _timed(ours(long), iterations), torch_ms, 'ms/iteration'),
      (f'mnist population {seeds} (vmap)', _timed(population_run, iterations) / seeds, torch_ms,
       'ms/seed-iteration'),
      (f'mnist bare-JAX scan of {long}', _timed(bare_scan(), iterations), torch_ms,
       'ms/iteration'),
  ]


def dfm_rows(small: bool):
  rows = []
  examples = np.random.default_rng(0).integers(0, 256, (128, 32, 32, 3), dtype=np.uint8)
  for name, module in (('cifar10_dcgan', cifar10_dcgan), ('cifar10_dfm', cifar10_dfm)):
    config = module.get_config()
    if small:  # A sixteenth of the width (c = 8), a shallow denoiser.
      config.generator.width = config.discriminator.width = 1 / 16
      config.dfm.denoiser.num_layers = 1
    run, _ = dfm_iteration.jax_iteration(config, examples)
    steps = 1 if small else 10
    ours = min(run(steps) for _ in range(1 if small else 3)) / steps * 1e3
    reference = None
    if _torch_device():
      torch_run, _ = dfm_iteration.torch_iteration(config, examples)
      reference = min(torch_run(steps) for _ in range(1 if small else 3)) / steps * 1e3
    rows.append((f'{name} (batch 64)', ours, reference, 'ms/iteration'))
  return rows


def parzen_row(small: bool):
  rng = np.random.default_rng(0)
  n, valid, test = (1000, 100, 100) if small else (10_000, 1_000, 10_000)
  samples, v, t = (rng.random((k, 784), np.float32) for k in (n, valid, test))
  sigmas = np.logspace(-1, 0, 10)
  parzen.evaluate_parzen(samples[:100], v[:10], t[:10], sigmas)  # Compile.
  start = time.perf_counter()
  parzen.evaluate_parzen(samples, v, t, sigmas)
  return [(f'parzen protocol ({n} samples, {valid} x 10 sigmas, {test} test)',
           (time.perf_counter() - start), None, 's')]


def inception_row(small: bool):
  batch = 2 if small else 100
  images = np.random.default_rng(0).random((batch, 32, 32, 3), np.float32)
  variables = inception.random_variables()

  def ours(n):
    for _ in range(n):
      jax.block_until_ready(inception.forward(variables, images)[1])
  ours_rate = batch / (_timed(ours, 1, rounds=1 if small else 3) / 1e3)
  reference, device = None, _torch_device()
  try:
    import torch  # pylint: disable=g-import-not-at-top
    import torchvision  # pylint: disable=g-import-not-at-top
  except (ImportError, RuntimeError) as e:  # torchvision built for another torch: no reference.
    print(f'inception reference skipped: torchvision does not import ({str(e)[:80]})')
    device = None
  if device:
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    net.fc = torch.nn.Identity()  # pool3.
    net = net.eval().to(device)
    x = torch.nn.functional.interpolate(torch.from_numpy(images).permute(0, 3, 1, 2),
                                        size=(299, 299), mode='bilinear').to(device)

    def theirs(n):
      with torch.no_grad():
        for _ in range(n):
          net(x)
      if device == 'cuda':
        torch.cuda.synchronize()
    reference = batch / (_timed(theirs, 1, rounds=1 if small else 3) / 1e3)
  return [(f'inception pool3 (batch {batch})', ours_rate, reference, 'images/s')]


def main(argv):
  del argv
  small = _SMALL.value
  rows = [*mnist_rows(small), *dfm_rows(small), *parzen_row(small), *inception_row(small)]
  device = jax.devices()[0].device_kind
  table = []
  print(f'device: {device} x{jax.device_count()}; PyTorch on {_torch_device() or "(not installed)"}'
        f'{"; --small: sizes for a test, not a measurement" if small else ""}')
  print('| what | ours | reference (PyTorch eager) | unit | ours / reference |')
  print('| --- | --- | --- | --- | --- |')
  for name, ours, reference, unit in rows:
    # A speed-up > 1 is ours faster: time units divide reference by ours, rates ours by it.
    ratio = None if reference is None else (ours / reference if unit.endswith('/s')
                                            else reference / ours)
    table.append({'what': name, 'ours': ours, 'reference': reference, 'unit': unit,
                  'speedup': ratio})
    print(f'| {name} | {ours:.3f} | {"-" if reference is None else f"{reference:.3f}"} | {unit} '
          f'| {"-" if ratio is None else f"{ratio:.2f}x"} |')
  with open(_JSON.value, 'w') as f:
    json.dump({'device': device, 'devices': jax.device_count(), 'small': small, 'rows': table},
              f, indent=2)


if __name__ == '__main__':
  app.run(main)
