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


def _pylearn2_momentum(epoch_1_based: int, init: float, final: float, start: int,
                       saturate: int) -> float:
  """pylearn2's MomentumAdjustor.current_momentum (June 2014), transcribed: its count is the
  number of monitor calls so far, one before training and one after each epoch, so it is E
  during epoch E."""
  count, w = epoch_1_based, saturate - start
  if w == 0:
    return final if count >= start else init
  alpha = min(max(float(count - start) / float(w), 0.0), 1.0)
  return init * (1 - alpha) + alpha * final


def test_momentum_as_pylearn2_at_every_epoch_boundary():
  steps_per_epoch = 500
  for start, saturate in ((1, 250), (0, 10), (5, 5), (3, 7)):
    schedule = optim.momentum_schedule(
        _config(momentum_start_epoch=start, momentum_saturate_epoch=saturate), steps_per_epoch)
    for epoch in list(range(1, 12)) + [124, 125, 126, 249, 250, 251, 1000]:
      expected = _pylearn2_momentum(epoch, 0.5, 0.7, start, saturate)
      first, last = (epoch - 1) * steps_per_epoch, epoch * steps_per_epoch - 1
      for t in (first, last):  # Both ends of the epoch: held for the whole of it.
        np.testing.assert_allclose(schedule(t), expected, rtol=1e-6,
                                   err_msg=f'start {start}, saturate {saturate}, epoch {epoch}')
  released = optim.momentum_schedule(_config(), steps_per_epoch)
  # The released ramp reaches 0.7 in epoch 250 (step 124,500), not one epoch later.
  np.testing.assert_allclose(released(249 * 500), 0.7, rtol=1e-6)
  np.testing.assert_allclose(released(249 * 500 - 1), 0.5 + 0.2 * 248 / 249, rtol=1e-6)


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
