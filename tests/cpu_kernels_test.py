"""gan_jax/cpu_kernels.py: XLA:CPU's kernels for convolutional networks."""
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import cpu_kernels


def _convolution(x, kernel):
  y = jax.lax.conv_general_dilated(x, kernel, (1, 1), 'SAME',
                                   dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  return y - jnp.mean(y, axis=(0, 1, 2))  # A reduction beside, as batch norm's.


def test_the_options_are_for_a_cpu_only(monkeypatch):
  assert jax.default_backend() == 'cpu'
  assert cpu_kernels.compiler_options() == cpu_kernels.OPTIONS
  monkeypatch.setattr(jax, 'default_backend', lambda: 'gpu')
  assert cpu_kernels.compiler_options() == {}


def _mlp(x, w):
  y = jnp.tanh(x @ w)
  return y - jnp.mean(y, axis=0)


def test_a_program_without_convolutions_compiles_as_xla_s_default():
  """Only the convolutions move: the MLP's program (its products and reductions in YNNPACK)
  is XLA's default one."""
  rng = np.random.default_rng(1)
  x = jnp.asarray(rng.standard_normal((64, 256)), jnp.float32)
  w = jnp.asarray(rng.standard_normal((256, 256)), jnp.float32)
  programs = [jax.jit(_mlp, compiler_options=o).lower(x, w).compile().as_text()
              for o in (None, cpu_kernels.OPTIONS)]
  assert '__ynn_fusion' in programs[0]
  assert programs[0] == programs[1]


def test_xla_takes_the_option_convolutions_leave_ynnpack_and_the_numbers_stay():
  """The option is a valid XLA flag that moves the convolution out of YNNPACK (XLA's default
  gives it to YNNPACK) while the reduction stays there; cpu_kernels.jit gives the same numbers."""
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((4, 8, 8, 16)), jnp.float32)
  # (With 8 outputs XLA's cost model keeps even the default's convolution out of YNNPACK.)
  kernel = jnp.asarray(rng.standard_normal((3, 3, 16, 32)), jnp.float32)
  lowered = jax.jit(_convolution).lower(x, kernel)
  default = lowered.compile().as_text()
  ours = jax.jit(_convolution, compiler_options=cpu_kernels.OPTIONS).lower(x, kernel)
  ours = ours.compile().as_text()
  for program, convolution_in_ynnpack in ((default, True), (ours, False)):
    entry = program[program.index('ENTRY'):].splitlines()
    assert any(' convolution(' in line for line in entry) != convolution_in_ynnpack
    assert sum('__ynn_fusion' in line for line in entry) == 1 + convolution_in_ynnpack
  np.testing.assert_allclose(cpu_kernels.jit(_convolution)(x, kernel),
                             jax.jit(_convolution)(x, kernel), rtol=1e-5, atol=1e-4)
