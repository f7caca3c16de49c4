r"""Benchmark: one cifar10_dcgan and one cifar10_dfm iteration (batch 64), ours (jitted JAX) beside
a PyTorch eager reference of the same networks and step (torch_dfm_reference.py), run back to
back in one process on this machine's CPU / default device.

  python tests/benchmarks/dfm_iteration.py [--steps=10] [--rounds=3] [--denoiser_layers=N]
      [--xla_default_kernels] [--nohost_heap] [--notorch_process]

Each round times `steps` iterations of each of the four (JAX GAN, torch GAN, JAX DFM, torch DFM)
in turn, so that a change in the machine's load hits both sides alike; the figure is each one's
fastest round. Prints ms per iteration, images/s, and ours / PyTorch (speed-up: > 1 is faster).
Both sides are checked to have the same parameter counts first. Each side runs as its users run
it: ours with gan_jax.main's CPU memory settings (gan_jax/host_heap.py; --nohost_heap: glibc's
defaults), PyTorch in a process of its own with glibc's defaults, driven round by round from
this one. --notorch_process runs PyTorch in this process instead, where it shares our memory
settings (its page faults drop too). Page faults an iteration are printed beside the times.
torch: pip install -r requirements-inception.txt (the CPU build); torch uses as many threads as
XLA (the machine's cores).
"""
import functools
import json
import os
import resource
import subprocess
import sys
import time

from absl import app
from absl import flags
import jax
import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(os.path.dirname(_HERE)), _HERE]
from experiments import cifar10_dcgan  # pylint: disable=g-import-not-at-top
from experiments import cifar10_dfm
from gan_jax import cpu_kernels
from gan_jax import data
from gan_jax import host_heap
from gan_jax import models
from gan_jax import steps
from gan_jax import state as state_lib

_STEPS = flags.DEFINE_integer('steps', 10, 'Timed iterations per round.')
_ROUNDS = flags.DEFINE_integer('rounds', 3, 'Rounds; the fastest of each is reported.')
_LAYERS = flags.DEFINE_integer('denoiser_layers', 0, 'Override the denoiser depth (0: the '
                               'experiment\'s 10 layers of n_h).')
_HOST_HEAP = flags.DEFINE_bool('host_heap', True, 'Run with gan_jax.main\'s CPU memory settings '
                                '(gan_jax/host_heap.py), both sides; else glibc\'s defaults.')
_TORCH_PROCESS = flags.DEFINE_bool('torch_process', True, 'PyTorch in a process of its own with '
                                    'glibc\'s defaults; else in this one, with our settings.')
_TORCH_CHILD = flags.DEFINE_string('torch_child', '', 'Internal: run as that process for this '
                                   'config, timing on request (a number of iterations a line).')
_XLA_DEFAULT = flags.DEFINE_bool('xla_default_kernels', False, 'Compile with XLA:CPU\'s default '
                                 'kernel libraries instead of gan_jax/cpu_kernels.py\'s choice.')


def jax_iteration(config, examples):
  """(run(n) -> seconds for n iterations, parameter counts) of our jitted train_step."""
  spec = steps.StepSpec.from_config(config)
  dataset = data.Dataset(examples=examples, batches=None, batch_size=config.batch_size,
                         batches_per_step=spec.batches_per_step)
  state = state_lib.create_train_state(config, dataset, spec, jax.random.PRNGKey(0))
  counts = [models.parameter_count(n.params)
            for n in (state.generator, state.discriminator, state.denoiser) if n is not None]
  jit = jax.jit if _XLA_DEFAULT.value else cpu_kernels.jit
  step = jit(functools.partial(steps.train_step, spec=spec), donate_argnums=0)
  batch = jax.device_put(data.to_float(examples[:config.batch_size])[None])
  rng = jax.random.PRNGKey(1)
  holder = [state]

  def run(n):
    state = holder[0]
    start = time.perf_counter()
    for _ in range(n):
      state, _ = step(state, batch, rng)
    jax.block_until_ready(state)
    holder[0] = state
    return time.perf_counter() - start

  run(2)  # Compile and warm up.
  return run, counts


def torch_iteration(config, examples):
  """The same for the PyTorch eager reference."""
  import torch  # pylint: disable=g-import-not-at-top
  import torch_dfm_reference as reference  # pylint: disable=g-import-not-at-top
  torch.manual_seed(0)
  denoiser = None
  if config.dfm.enabled:
    denoiser = (config.dfm.denoiser.num_layers, config.dfm.denoiser.width)
  n_h = (32 // 8) ** 2 * 4 * int(128 * config.discriminator.width)
  step = reference.Step(config.noise.dim, int(128 * config.generator.width), 32,
                        denoiser and (denoiser[0], denoiser[1] or n_h), config.batch_size)
  counts = [reference.parameter_count(n) for n in step.networks]
  x = torch.from_numpy(data.to_float(examples[:config.batch_size])).permute(0, 3, 1, 2)
  x = x.contiguous()

  def run(n):
    start = time.perf_counter()
    for _ in range(n):
      step(x)
    return time.perf_counter() - start

  run(2)
  return run, counts


def torch_process_iteration(name):
  """torch_iteration in a process of its own (this script with --torch_child), one round per
  request: (run(n) -> seconds, parameter counts, page faults so far in that process)."""
  command = [sys.executable, os.path.abspath(__file__), f'--torch_child={name}',
             f'--denoiser_layers={_LAYERS.value}']
  child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
  counts, faults = json.loads(child.stdout.readline())

  def run(n):
    child.stdin.write(f'{n}\n')
    child.stdin.flush()
    seconds, faults = json.loads(child.stdout.readline())
    run.faults = faults
    return seconds

  run.faults = faults
  return run, counts


def _configs():
  configs = {'cifar10_dcgan': cifar10_dcgan.get_config(), 'cifar10_dfm': cifar10_dfm.get_config()}
  if _LAYERS.value:
    configs['cifar10_dfm'].dfm.denoiser.num_layers = _LAYERS.value
  return configs


def _examples():
  return np.random.default_rng(0).integers(0, 256, (1024, 32, 32, 3), dtype=np.uint8)


def _serve_torch(name):
  """--torch_child: build the PyTorch iteration, print its counts, then time on request."""
  run, counts = torch_iteration(_configs()[name], _examples())
  print(json.dumps([counts, resource.getrusage(resource.RUSAGE_SELF).ru_minflt]), flush=True)
  for line in sys.stdin:
    seconds = run(int(line))
    print(json.dumps([seconds, resource.getrusage(resource.RUSAGE_SELF).ru_minflt]), flush=True)


def main(argv):
  del argv
  if _TORCH_CHILD.value:
    return _serve_torch(_TORCH_CHILD.value)
  if _HOST_HEAP.value:  # Before JAX's backend exists, as gan_jax.main does.
    host_heap.inline_dispatch()
    host_heap.keep_freed_blocks()
  import torch  # pylint: disable=g-import-not-at-top
  examples = _examples()
  configs = _configs()
  runs = {}
  for name, config in configs.items():
    torch_build = ((lambda config, examples, name=name: torch_process_iteration(name))
                   if _TORCH_PROCESS.value else torch_iteration)
    for side, build in (('jax', jax_iteration), ('torch', torch_build)):
      runs[name, side], counts = build(config, examples)
      print(f'{name} {side}: parameters {", ".join(f"{c:,}" for c in counts)}')
      runs[name, side + '_counts'] = counts
    assert runs[name, 'jax_counts'] == runs[name, 'torch_counts'], 'not the same networks'
  best, faults = {}, {}
  for _ in range(_ROUNDS.value):
    for name in configs:
      for side in ('jax', 'torch'):
        run = runs[name, side]
        child = hasattr(run, 'faults')  # Counted in the PyTorch process, else in this one.
        before = run.faults if child else resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        seconds = run(_STEPS.value) / _STEPS.value
        after = run.faults if child else resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        faults[name, side] = faults.get((name, side), 0) + (after - before) / (
            _STEPS.value * _ROUNDS.value)
        best[name, side] = min(best.get((name, side), np.inf), seconds)
  print(f'device: {jax.devices()[0].device_kind} x{jax.device_count()} (jax {jax.__version__}, '
        f'{"XLA default" if _XLA_DEFAULT.value else "gan_jax/cpu_kernels.py"} kernels, '
        f'{"gan_jax/host_heap.py" if _HOST_HEAP.value else "glibc default"} memory); '
        f'torch {torch.__version__} with {torch.get_num_threads()} threads'
        f'{", a process of its own, glibc default memory" if _TORCH_PROCESS.value else ""}; '
        f'batch 64; '
        f'best of {_ROUNDS.value} rounds of {_STEPS.value} iterations')
  for name, config in configs.items():
    ours, theirs = best[name, 'jax'], best[name, 'torch']
    print(f'{name}: ours {ours * 1e3:.1f} ms ({config.batch_size / ours:.0f} images/s), PyTorch '
          f'eager {theirs * 1e3:.1f} ms ({config.batch_size / theirs:.0f} images/s): '
          f'ours {theirs / ours:.2f}x PyTorch; page faults an iteration {faults[name, "jax"]:,.0f} '
          f'/ {faults[name, "torch"]:,.0f}')
  base, dfm = best['cifar10_dcgan', 'jax'], best['cifar10_dfm', 'jax']
  print(f'denoiser overhead, ours: {100 * (dfm / base - 1):.0f} %')


if __name__ == '__main__':
  app.run(main)
