import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import optim


def _config(**kw):
  fields = dict(name='momentum', learning_rate=0.1, lr_decay_factor=1.000004,
                min_learning_rate=1e-6, momentum=0.5, final_momentum=0.7, momentum_start_epoch=1,
                momentum_saturate_epoch=250, b1=0.5, b2=0.999)
  fields.update(kw)
  return ml_collections.ConfigDict(fields)


def test_learning_rate_divided_every_step_with_floor():
  schedule = optim.learning_rate_schedule(_config())
  for t in (0, 1, 1000, 250_000):
    np.testing.assert_allclose(schedule(t), 0.1 / 1.000004 ** t, rtol=1e-5)
  np.testing.assert_allclose(schedule(5_000_000), 1e-6, rtol=1e-5)  # 0.1 / 1.000004^5e6 < 1e-6.
  np.testing.assert_allclose(optim.learning_rate_schedule(_config(lr_decay_factor=1.0))(10**6), 0.1)


def test_momentum_linear_over_epochs_1_to_250():
  schedule = optim.momentum_schedule(_config(), steps_per_epoch=500)
  for epoch, expected in [(0, 0.5), (1, 0.5), (125.5, 0.5 + 0.2 * 124 / 249), (250, 0.7),
                          (1000, 0.7)]:
    np.testing.assert_allclose(schedule(int(epoch * 500)), expected, rtol=1e-5)
  # Constant within an epoch.
  np.testing.assert_allclose(schedule(100 * 500), schedule(100 * 500 + 499))


def test_pylearn2_momentum_rule():
  lr, mu = 0.1, 0.5
  tx = optim.pylearn2_momentum(learning_rate=optax.exponential_decay(lr, 1, 0.5), momentum=mu)
  params = {'w': jnp.array([1.0, -2.0])}
  state = tx.init(params)
  grads = [jnp.array([0.3, 0.1]), jnp.array([-0.2, 0.4]), jnp.array([0.5, 0.5])]
  w, v = np.array([1.0, -2.0]), np.zeros(2)
  for t, g in enumerate(grads):
    updates, state = tx.update({'w': g}, state, params)
    params = optax.apply_updates(params, updates)
    v = mu * v - lr * 0.5 ** t * np.asarray(g)  # v <- μv - ε_t g; θ <- θ + v.
    w = w + v
  np.testing.assert_allclose(params['w'], w, rtol=1e-6)
  np.testing.assert_allclose(optim.current_hyperparams(state)['momentum'], mu)


def test_max_column_norm_caps_every_column():
  tx = optim.make_optimizer(_config(lr_decay_factor=1.0, learning_rate=1.0, momentum=0.0),
                            steps_per_epoch=1, max_col_norm=1.5)
  params = {'kernel': jnp.array([[0.1, 3.0], [0.1, 4.0]]), 'bias': jnp.array([10.0, 10.0])}
  grads = {'kernel': jnp.array([[0.0, -1.0], [0.0, 0.0]]), 'bias': jnp.array([-5.0, 0.0])}
  updates, _ = tx.update(grads, tx.init(params), params)
  new = optax.apply_updates(params, updates)
  norms = np.linalg.norm(np.asarray(new['kernel']), axis=0)
  np.testing.assert_allclose(norms[1], 1.5, rtol=1e-6)  # Column [4, 4] projected onto the cap.
  np.testing.assert_allclose(new['kernel'][:, 0], [0.1, 0.1])  # Short column untouched.
  np.testing.assert_allclose(new['kernel'][:, 1] / norms[1], np.array([4, 4]) / np.sqrt(32),
                             rtol=1e-6)  # Direction kept.
  np.testing.assert_allclose(new['bias'], [15.0, 10.0])  # Biases are not constrained.


def test_adam_reports_its_learning_rate():
  tx = optim.make_optimizer(_config(name='adam', learning_rate=1e-4, lr_decay_factor=1.0,
                                    min_learning_rate=0.0), steps_per_epoch=10)
  state = tx.init({'w': jnp.zeros(2)})
  np.testing.assert_allclose(optim.current_hyperparams(state)['learning_rate'], 1e-4)
