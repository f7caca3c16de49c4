"""A small CNN trained on a dataset's labelled training split, used the way Inception is used.

Offline quality metrics (no Inception weights can be fetched here): the classifier's softmax
gives p(y|x) for a classifier-space Inception score, its penultimate layer the features of a
classifier-space FID. It is trained once per dataset and cached as an .npz of weights (read with
allow_pickle=False) in config.eval.classifier_dir.
"""
import os
import zipfile
import zlib
from typing import Dict, Optional, Tuple

from absl import logging
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax import cpu_kernels
from gan_jax import data
from gan_jax import errors
from gan_jax import records
from gan_jax.evaluation import feature_cache


class SmallCNN(nn.Module):
  """conv 16 -> conv 32, both stride 2 -> dense 128 (the features) -> logits. Small enough to
  train in about a minute on two CPU cores (XLA's CPU convolutions are slow)."""
  num_classes: int

  @nn.compact
  def __call__(self, x: jax.Array) -> Tuple[jax.Array, jax.Array]:
    h = nn.relu(nn.Conv(16, (3, 3), strides=(2, 2), name='conv_0')(x))
    h = nn.relu(nn.Conv(32, (3, 3), strides=(2, 2), name='conv_1')(h))
    features = nn.relu(nn.Dense(128, name='features')(h.reshape(h.shape[0], -1)))
    return nn.Dense(self.num_classes, name='logits')(features), features


def train_classifier(images: np.ndarray, labels: np.ndarray, num_classes: int, num_steps: int,
                     batch_size: int = 128, seed: int = 0):
  """Adam on cross-entropy; images float in [0, 1] [N, H, W, C]."""
  model = SmallCNN(num_classes)
  params = model.init(jax.random.PRNGKey(seed), jnp.zeros((1, *images.shape[1:])))['params']
  tx = optax.adam(optax.cosine_decay_schedule(1e-3, num_steps, alpha=0.05))

  @cpu_kernels.jit
  def run(params, images, labels):  # The data are arguments, not constants baked into the jit.
    def step(carry, key):
      params, opt_state = carry
      rows = jax.random.randint(key, (batch_size,), 0, len(images))

      def loss_fn(p):
        logits, _ = model.apply({'params': p}, images[rows])
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels[rows]).mean()

      updates, opt_state = tx.update(jax.grad(loss_fn)(params), opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), None

    keys = jax.random.split(jax.random.PRNGKey(seed + 1), num_steps)
    return jax.lax.scan(step, (params, tx.init(params)), keys)[0][0]

  return run(params, jnp.asarray(images, jnp.float32), jnp.asarray(labels))


def outputs(params, images: np.ndarray, num_classes: int, batch_size: int = 1000):
  """(softmax probabilities [N, classes], features [N, 128]) in float64."""
  apply = cpu_kernels.jit(lambda p, x: SmallCNN(num_classes).apply({'params': p}, x))
  probs, features = [], []
  for i in range(0, len(images), batch_size):
    logits, feats = apply(params, jnp.asarray(images[i:i + batch_size], jnp.float32))
    probs.append(np.asarray(jax.nn.softmax(logits), np.float64))
    features.append(np.asarray(feats, np.float64))
  return np.concatenate(probs), np.concatenate(features)


def save(path: str, params, metadata: Dict[str, float]) -> None:
  flat = {'/'.join(k): np.asarray(v) for k, v in flax.traverse_util.flatten_dict(params).items()}
  flat.update({f'meta/{k}': np.asarray(v) for k, v in metadata.items()})
  with records.atomic(path) as tmp, open(tmp, 'wb') as f:
    np.savez(f, **flat)


def load(path: str):
  """(params, metadata) from an .npz written by `save`; never unpickles."""
  try:
    with np.load(path, allow_pickle=False) as f:
      flat = {k: f[k] for k in f.files}
  except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
    raise errors.CheckpointError(f'classifier weights {path} are unreadable ({e}); delete the '
                                 'file to retrain') from e
  metadata = {k[5:]: float(v) for k, v in flat.items() if k.startswith('meta/')}
  params = flax.traverse_util.unflatten_dict(
      {tuple(k.split('/')): jnp.asarray(v) for k, v in flat.items() if not k.startswith('meta/')})
  return params, metadata


def _cache_path(data_config, eval_config, images: np.ndarray, labels: np.ndarray) -> str:
  """The cache entry of a classifier trained on exactly these images and labels: keyed by
  their bytes (as the Inception feature cache is), not by the dataset's name, which two
  datasets can share (another config.data.path)."""
  directory = eval_config.classifier_dir or os.path.join(os.path.expanduser('~'), '.cache',
                                                         'gan_jax', 'classifiers')
  name = data_config.get('name', '') or os.path.basename(str(data_config.get('path', '')))
  tag = 'x'.join(str(s) for s in images.shape[1:])
  content = feature_cache.images_digest(images)[:16] + feature_cache.images_digest(labels)[:8]
  return os.path.join(directory, f'{data_config.source}_{name}_{tag}_'
                                 f'{eval_config.classifier_steps}_{content}.npz')


def _cached(path: str, image_shape) -> Optional[Tuple]:
  """(params, num_classes, accuracy) from a cache entry, or None (with a warning, and the entry
  is then trained again and replaced) when it is unreadable, lacks its metadata or holds
  parameters of other shapes than the network on these images."""
  try:
    params, meta = load(path)
    num_classes = int(meta['num_classes'])
    accuracy = meta['test_accuracy']
    expected = jax.eval_shape(SmallCNN(num_classes).init, jax.random.PRNGKey(0),
                              jnp.zeros((1, *image_shape)))['params']
    same = (jax.tree.structure(expected) == jax.tree.structure(params) and all(
        e.shape == a.shape for e, a in zip(jax.tree.leaves(expected), jax.tree.leaves(params))))
    if not same:
      raise ValueError('its parameters have other shapes than the network')
  except (errors.CheckpointError, KeyError, ValueError, TypeError) as e:
    logging.warning('The cached classifier %s is unusable (%s); training it again.', path,
                    str(e).splitlines()[0][:200] if str(e) else type(e).__name__)
    return None
  return params, num_classes, accuracy


def _labels(data_config, split: str, num_images: int) -> np.ndarray:
  """The split's labels, refused in one line unless there is one per image."""
  labels = data.load_labels(data_config, split)
  if len(labels) != num_images:
    raise errors.DatasetUnavailableError(
        f'the {split} split of {data_config.get("path") or data_config.get("name")} has '
        f'{len(labels)} labels for {num_images} images; the classifier metrics need one label per '
        'image: use the matching label file')
  if len(labels) and labels.min() < 0:
    raise errors.DatasetUnavailableError(
        f'the {split} split\'s labels include {int(labels.min())}; class labels must be >= 0')
  return labels


def get_classifier(data_config, eval_config, train_examples: Optional[np.ndarray] = None):
  """(params, num_classes, test accuracy), trained on the labelled training split if not cached.

  `train_examples`: the training split when the caller already holds it (not read again).
  """
  if train_examples is None:
    train_examples = data.load_split(data_config, 'train')
  train_labels = _labels(data_config, 'train', len(train_examples))
  path = _cache_path(data_config, eval_config, np.asarray(train_examples), train_labels)
  if os.path.exists(path):
    cached = _cached(path, train_examples.shape[1:])
    if cached is not None:
      return cached
  train_images = data.to_float(train_examples)
  num_classes = int(train_labels.max()) + 1
  logging.info('Training the %d-class evaluation classifier on %d images (cached at %s).',
               num_classes, len(train_images), path)
  params = train_classifier(train_images, train_labels, num_classes, eval_config.classifier_steps)
  test_images = data.load_split(data_config, 'test')
  test_labels = _labels(data_config, 'test', len(test_images))
  test_probs, _ = outputs(params, data.to_float(test_images), num_classes)
  accuracy = float(np.mean(test_probs.argmax(1) == test_labels))
  try:
    save(path, params, {'num_classes': num_classes, 'test_accuracy': accuracy})
  except OSError as e:  # A full or read-only cache costs the cache, not the evaluation.
    logging.warning('Cannot cache the classifier at %s (%s); it is trained again next time.',
                    path, e.strerror or e)
  return params, num_classes, accuracy
