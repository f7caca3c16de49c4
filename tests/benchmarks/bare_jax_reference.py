r"""The mnist_gan iteration written in bare JAX, as a same-machine reference for the benchmark.

  python tests/benchmarks/bare_jax_reference.py

No flax, optax or state objects: the released MNIST networks (G 100-1200-1200-784, maxout D
784-240x5-240x5-1 with dropout), one simultaneous D/G momentum-SGD update on a batch of 100.
"""
import time

import jax
import jax.numpy as jnp
import numpy as np

BATCH = 100


def init(key):
  k = jax.random.split(key, 6)
  u = lambda key, shape, r: jax.random.uniform(key, shape, jnp.float32, -r, r)
  g = [(u(k[0], (100, 1200), .05), jnp.zeros(1200)), (u(k[1], (1200, 1200), .05), jnp.zeros(1200)),
       (u(k[2], (1200, 784), .05), jnp.zeros(784))]
  d = [(u(k[3], (784, 1200), .005), jnp.zeros(1200)), (u(k[4], (240, 1200), .005), jnp.zeros(1200)),
       (u(k[5], (240, 1), .005), jnp.zeros(1))]
  return g, d


def generator(p, z):
  h = jax.nn.relu(z @ p[0][0] + p[0][1])
  h = jax.nn.relu(h @ p[1][0] + p[1][1])
  return jax.nn.sigmoid(h @ p[2][0] + p[2][1])


def dropout(key, x, keep):
  return jnp.where(jax.random.bernoulli(key, keep, x.shape), x / keep, 0)


def discriminator(p, x, key):
  k = jax.random.split(key, 3)
  h = (dropout(k[0], x, .8) @ p[0][0] + p[0][1]).reshape(BATCH, 240, 5).max(-1)
  h = (dropout(k[1], h, .5) @ p[1][0] + p[1][1]).reshape(BATCH, 240, 5).max(-1)
  return (dropout(k[2], h, .5) @ p[2][0] + p[2][1])[:, 0]


def step(g, d, g_velocity, d_velocity, x, key, lr, momentum):
  z_key, real_key, fake_key = jax.random.split(key, 3)
  z = jax.random.uniform(z_key, (BATCH, 100), jnp.float32, -3**.5, 3**.5)

  def d_loss(d):
    fake = jax.lax.stop_gradient(generator(g, z))
    return 0.5 * (jnp.mean(jax.nn.softplus(-discriminator(d, x, real_key)))
                  + jnp.mean(jax.nn.softplus(discriminator(d, fake, fake_key))))

  def g_loss(g):
    return jnp.mean(jax.nn.softplus(-discriminator(d, generator(g, z), fake_key)))

  update = lambda v, grad: momentum * v - lr * grad
  d_velocity = jax.tree.map(update, d_velocity, jax.grad(d_loss)(d))
  g_velocity = jax.tree.map(update, g_velocity, jax.grad(g_loss)(g))
  return (jax.tree.map(jnp.add, g, g_velocity), jax.tree.map(jnp.add, d, d_velocity), g_velocity,
          d_velocity)


def time_iteration(num_steps: int = 300) -> float:
  """Seconds per iteration, after compilation and warm-up."""
  fn = jax.jit(step, donate_argnums=(0, 1, 2, 3))
  g, d = init(jax.random.PRNGKey(0))
  gv, dv = jax.tree.map(jnp.zeros_like, g), jax.tree.map(jnp.zeros_like, d)
  x = jnp.asarray(np.random.default_rng(0).random((BATCH, 784), np.float32))
  key = jax.random.PRNGKey(1)
  for i in range(20):
    g, d, gv, dv = fn(g, d, gv, dv, x, jax.random.fold_in(key, i), 0.1, 0.5)
  jax.block_until_ready(g)
  start = time.perf_counter()
  for i in range(num_steps):
    g, d, gv, dv = fn(g, d, gv, dv, x, jax.random.fold_in(key, i), 0.1, 0.5)
  jax.block_until_ready(g)
  return (time.perf_counter() - start) / num_steps


if __name__ == '__main__':
  print(f'bare JAX iteration: {time_iteration() * 1e3:.2f} ms')
