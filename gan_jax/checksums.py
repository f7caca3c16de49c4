"""What a checkpoint's contents must hash to: sha256 of every array of the state and of the data
iterator's position, saved beside them and verified on restore (gan_jax/checkpointing.py), so
that a flipped byte or a truncated file is found, not trained on."""
import hashlib
import json
from typing import Any, Dict

import flax
import jax
import numpy as np


def flatten(tree: Any) -> Dict[str, Any]:
  """Path -> leaf, empty subtrees included (orbax's metadata lists them too)."""
  return {str(k): v for k, v in flax.traverse_util.flatten_dict(
      flax.serialization.to_state_dict(tree), keep_empty_nodes=True).items()}


def of_json(value: Any) -> str:
  """sha256 of a JSON value, independent of its dicts' key order."""
  return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def checksums(state: Any, data_state: dict) -> Dict[str, Dict[str, str]]:
  """sha256 of each array's dtype, shape and bytes, by path; and of the data position's JSON."""
  def digest(leaf) -> str:
    if leaf is None or isinstance(leaf, type(flax.traverse_util.empty_node)):
      return 'empty'  # (An object array's bytes would be pointers, different every process.)
    array = np.asarray(leaf)
    if np.issubdtype(array.dtype, np.integer):  # A counter restored into a Python-int template.
      array = array.astype(np.int64)
    array = np.ascontiguousarray(array)
    h = hashlib.sha256(f'{array.dtype.str}{array.shape}'.encode())
    h.update(array.tobytes())
    return h.hexdigest()

  host = jax.device_get(state)
  return {'state': {k: digest(v) for k, v in flatten(host).items()},
          'data': of_json(data_state)}
