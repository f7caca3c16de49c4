"""A run's small JSON files (eval/*.json, stop.json, hardware.json, config.json): written
atomically, so that a kill or a full disk leaves the old file or none, never a torn one; read
back leniently, so that one torn by an older version, a hand edit or a bad disk is reported in
one warning and then made again by whoever wrote it (evaluation recomputes, training rewrites).
"""
import contextlib
import json
import os
from typing import Dict, Iterator

from absl import logging


@contextlib.contextmanager
def atomic(path: str) -> Iterator[str]:
  """Yields a temporary path beside `path` to write (a figure, an .npz); on success it replaces
  `path`, on any failure it is removed, so `path` is the old file or the whole new one. An OS
  error names `path` (a full disk's does not by itself)."""
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  root, extension = os.path.splitext(path)
  tmp = f'{root}.{os.getpid()}.tmp{extension}'  # (Writers that add an extension see it.)
  try:
    yield tmp
    os.replace(tmp, path)
  except OSError as e:
    if e.filename is None:
      raise OSError(e.errno, e.strerror, path) from e
    raise
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def write_text(path: str, text: str) -> None:
  with atomic(path) as tmp, open(tmp, 'w', encoding='utf-8') as f:
    f.write(text)


def write(path: str, record: Dict) -> None:
  write_text(path, json.dumps(record, indent=2, sort_keys=True))


def read(path: str) -> Dict:
  """The JSON object in `path`; {} if there is none, and {} with a warning if the file cannot
  be read, is torn or holds something other than an object."""
  try:
    with open(path, encoding='utf-8') as f:
      record = json.load(f)
  except FileNotFoundError:
    return {}
  except (OSError, ValueError) as e:
    logging.warning('%s is unreadable (%s); it is made again.', path, str(e)[:200])
    return {}
  if not isinstance(record, dict):
    logging.warning('%s does not hold a JSON object; it is made again.', path)
    return {}
  return record
