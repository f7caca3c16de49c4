"""Which libraries XLA:CPU hands convolutions to: chosen by measurement.

jax 0.10's XLA:CPU gives matrix products, reductions and convolutions to YNNPACK by default. On
this project's 2-core Xeon, YNNPACK's convolutions are slower than Eigen's: with them on Eigen
(everything else as XLA's default), the gradient of cifar10_dcgan's D takes 175 ms instead of
300 and G's 260 instead of 420 (tests/benchmarks/dfm_iteration.py has the whole step). A
program without convolutions (the MNIST MLP) compiles to exactly the default program.

So every program that trains or evaluates compiles with XLA's
`xla_cpu_experimental_ynn_fusion_type` listing the default's other two, on a CPU only (GPUs and
TPUs never see the option). The choice is made at the first call, when the backend is known
(jax.distributed must come first on a cluster). `jit(fn, **kwargs)` is jax.jit(fn, **kwargs)
with it.
"""
import functools
from typing import Any, Callable, Dict

import jax

# XLA DebugOptions field and value (xla/backends/cpu/ynn_fusion_options.proto): replaces the
# default list (matrix products, reductions, convolutions) by the first two.
OPTIONS = {'xla_cpu_experimental_ynn_fusion_type':
           'LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE'}


def compiler_options() -> Dict[str, Any]:
  """OPTIONS on a CPU backend, else none."""
  return dict(OPTIONS) if jax.default_backend() == 'cpu' else {}


def jit(fn: Callable, **kwargs) -> Callable:
  """jax.jit(fn, **kwargs) compiled with compiler_options(), built at the first call."""
  compiled = []

  @functools.wraps(fn)
  def call(*args, **call_kwargs):
    if not compiled:
      compiled.append(jax.jit(fn, compiler_options=compiler_options() or None, **kwargs))
    return compiled[0](*args, **call_kwargs)

  return call
