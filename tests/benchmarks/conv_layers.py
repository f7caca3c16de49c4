r"""Benchmark: where cifar10_dcgan's iteration spends its convolution time, layer by layer, ours
against PyTorch eager on the same shapes (this machine's CPU / default device).

  python tests/benchmarks/conv_layers.py [--batch=64] [--rounds=3] [--repeats=10] [--json=PATH]
      [--xla_default_kernels]

For each convolution of G and D (the experiment's widths, 32x32) it times the forward pass, the
input gradient and the kernel gradient, each on its own: ours through the very functions the
models call (subpixel.py's sub-pixel and release convolutions, tap_conv.conv), jitted with
gan_jax/cpu_kernels.py's options; PyTorch's nn.ConvTranspose2d / nn.Conv2d with
torch.autograd.grad for one gradient at a time. Then it weighs each by how often one iteration of
the simultaneous update (steps.joint_update) needs it: G once (forward, input and kernel
gradients); D on the real and on the fake batch (two forwards, two kernel gradients, and input
gradients three times: D's cotangent on both batches and G's on the fake, none below D's first
layer for the real batch nor for D's cotangent). The total is the iteration's convolution time
on each side; tests/benchmarks/dfm_iteration.py times the whole iteration, so the difference
between the two is what batch norm, activations, copies and the optimiser cost. G's stride-2
layers are timed with the release's padding (every Radford experiment's), not layout 'flax'.
"""
import functools
import json
import os
import sys

from absl import app
from absl import flags
import jax
import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(os.path.dirname(_HERE))]
from experiments import cifar10_dcgan  # pylint: disable=g-import-not-at-top
from gan_jax import cpu_kernels
from gan_jax.models import radford
from gan_jax.models import subpixel
from gan_jax.models import tap_conv
import timing  # tests/benchmarks/timing.py, beside this file

_BATCH = flags.DEFINE_integer('batch', 64, 'Examples per convolution (the experiment: 64).')
_ROUNDS = flags.DEFINE_integer('rounds', 3, 'Rounds; the fastest is reported.')
_REPEATS = flags.DEFINE_integer('repeats', 10, 'Calls timed per round.')
_JSON = flags.DEFINE_string('json', None, 'Also write the table here as JSON.')
_XLA_DEFAULT = flags.DEFINE_bool('xla_default_kernels', False, 'Compile ours with XLA:CPU\'s '
                                 'default kernel libraries instead of gan_jax/cpu_kernels.py\'s.')


def layers(config):
  """[(name, side, in, out, stride, transposed, uses)] of G and D: uses = (forwards, input
  gradients, kernel gradients) one iteration needs."""
  c = int(128 * config.generator.width)
  side = 32 // 8
  rows, channels = [], 4 * c
  for i, (features, stride) in enumerate(radford.generator_layers(c)):
    rows.append((f'G deconv_{i}', side, channels, features, stride, True, (1, 1, 1)))
    side, channels = side * stride, features
  rows.append(('G output', side, channels, 3, 1, True, (1, 1, 1)))
  d = int(128 * config.discriminator.width)
  side, channels = 32, 3
  for i, (features, stride) in enumerate(radford.discriminator_layers(d)):
    uses = (2, 1 if i == 0 else 3, 2)
    rows.append((f'D conv_{i}', side, channels, features, stride, False, uses))
    side, channels = side // stride, features
  return rows


def jax_times(batch, side, channels, features, stride, transposed, rounds, repeats):
  """(forward, input gradient, kernel gradient) ms of our layer."""
  if transposed:
    fn = ((lambda x, k: subpixel.conv_transpose_stride2(x, k, 'release')) if stride == 2
          else tap_conv.conv)
    out_side = side * stride
  else:
    fn = functools.partial(subpixel.release_conv, stride=stride)
    out_side = side // stride
  rng = np.random.default_rng(0)
  x = jax.device_put(rng.normal(size=(batch, side, side, channels)).astype(np.float32))
  kernel = jax.device_put(rng.normal(size=(3, 3, channels, features)).astype(np.float32) * 0.02)
  dy = jax.device_put(rng.normal(size=(batch, out_side, out_side, features)).astype(np.float32))
  programs = (lambda x, k, dy: fn(x, k),
              lambda x, k, dy: jax.vjp(lambda x: fn(x, k), x)[1](dy)[0],
              lambda x, k, dy: jax.vjp(lambda k: fn(x, k), kernel)[1](dy)[0])
  times = []
  for program in programs:
    compiled = (jax.jit if _XLA_DEFAULT.value else cpu_kernels.jit)(program)
    times.append(timing.best_ms(lambda: jax.block_until_ready(compiled(x, kernel, dy)), rounds,
                                repeats))
  return times


def torch_times(batch, side, channels, features, stride, transposed, rounds, repeats):
  """The same for torch.nn's layer, NCHW as a PyTorch user has it."""
  import torch  # pylint: disable=g-import-not-at-top
  from torch import nn  # pylint: disable=g-import-not-at-top
  torch.manual_seed(0)
  if transposed:
    layer = nn.ConvTranspose2d(channels, features, 3, stride, padding=1,
                               output_padding=stride - 1, bias=False)
  else:
    layer = nn.Conv2d(channels, features, 3, stride, padding=1, bias=False)
  x = torch.randn(batch, channels, side, side, requires_grad=True)
  y = layer(x)
  dy = torch.randn_like(y)

  def forward():
    with torch.no_grad():
      layer(x)

  def gradient(of):
    return lambda: torch.autograd.grad(y, [of], dy, retain_graph=True)

  return [timing.best_ms(run, rounds, repeats)
          for run in (forward, gradient(x), gradient(layer.weight))]


def main(argv):
  del argv
  import torch  # pylint: disable=g-import-not-at-top
  if jax.default_backend() == 'cpu':  # As many threads as XLA: the cores this process may use.
    torch.set_num_threads(len(os.sched_getaffinity(0)))
  config = cifar10_dcgan.get_config()
  rounds, repeats, batch = _ROUNDS.value, _REPEATS.value, _BATCH.value
  kernels = 'XLA\'s default' if _XLA_DEFAULT.value else 'gan_jax/cpu_kernels.py\'s'
  print(f'device: {jax.devices()[0].device_kind} (jax {jax.__version__}, {kernels} kernels), '
        f'torch {torch.__version__} with {torch.get_num_threads()} threads; batch {batch}; best '
        f'of {rounds} rounds of {repeats} calls; ms')
  header = ('layer', 'input', 'out', 'stride', 'ours fwd', 'dx', 'dw', 'torch fwd', 'dx', 'dw',
            'ours/iter', 'torch/iter')
  print(' | '.join(header))
  rows, totals = [], np.zeros(2)
  for name, side, channels, features, stride, transposed, uses in layers(config):
    ours = jax_times(batch, side, channels, features, stride, transposed, rounds, repeats)
    theirs = torch_times(batch, side, channels, features, stride, transposed, rounds, repeats)
    per_iteration = [float(np.dot(uses, t)) for t in (ours, theirs)]
    totals += per_iteration
    rows.append({'layer': name, 'input': [side, side, channels], 'features': features,
                 'stride': stride, 'uses': uses, 'ours_ms': ours, 'torch_ms': theirs,
                 'ours_per_iteration_ms': per_iteration[0],
                 'torch_per_iteration_ms': per_iteration[1]})
    print(' | '.join([name, f'{side}x{side}x{channels}', str(features), str(stride)] +
                     [f'{t:.2f}' for t in ours + theirs + per_iteration]))
  print(f'convolutions of one iteration: ours {totals[0]:.1f} ms, PyTorch eager {totals[1]:.1f} ms '
        f'(ours {totals[1] / totals[0]:.2f}x PyTorch)')
  if _JSON.value:
    with open(_JSON.value, 'w') as f:
      json.dump({'device': jax.devices()[0].device_kind, 'batch': batch, 'layers': rows,
                 'ours_ms': totals[0], 'torch_ms': totals[1]}, f, indent=1)


if __name__ == '__main__':
  app.run(main)
