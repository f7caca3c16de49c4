"""gan_jax/records.py: a write that fails leaves the old file whole and no temporary file, and
names the file; a torn or foreign record reads as absent, with a warning."""
import errno
import json
import os

import pytest

from gan_jax import records


def _listing(path):
  return sorted(os.listdir(path))


def test_a_failed_write_leaves_the_old_file_and_names_the_path(tmp_path):
  path = str(tmp_path / 'figure.png')
  with open(path, 'w') as f:
    f.write('old figure')
  with pytest.raises(OSError) as raised:
    with records.atomic(path) as tmp:
      assert tmp.endswith('.png')  # (Writers that pick a format by extension still can.)
      with open(tmp, 'w') as f:
        f.write('half a fig')
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # A full disk: no filename.
  assert raised.value.filename == path and raised.value.errno == errno.ENOSPC
  assert open(path).read() == 'old figure' and _listing(tmp_path) == ['figure.png']


def test_a_write_that_succeeds_replaces_the_file(tmp_path):
  path = str(tmp_path / 'sub' / 'stop.json')
  records.write(path, {'step': 3})
  records.write(path, {'step': 4})
  assert json.load(open(path)) == {'step': 4} and _listing(tmp_path / 'sub') == ['stop.json']


@pytest.mark.parametrize('text', ['{"step": 3', '', '[1, 2]', '\xff\xfe'])
def test_a_torn_or_foreign_record_reads_as_absent_with_a_warning(tmp_path, text, caplog):
  path = tmp_path / 'hardware.json'
  path.write_text(text, encoding='latin-1')
  assert records.read(str(path)) == {}
  assert 'hardware.json' in caplog.text and 'made again' in caplog.text
  assert records.read(str(tmp_path / 'absent.json')) == {}


def test_the_hardware_record_names_the_cores_a_pinned_run_may_use(tmp_path):
  """run.write_hardware: a process pinned to one core (taskset, launch.reproduce's one process
  per core) says '1 of N CPU cores', not the machine's N."""
  from gan_jax import run  # pylint: disable=g-import-not-at-top
  machine, original = os.cpu_count(), os.sched_getaffinity(0)
  description = lambda: json.load(open(tmp_path / 'hardware.json'))['description']
  try:
    os.sched_setaffinity(0, {min(original)})
    run.write_hardware(str(tmp_path))
  finally:
    os.sched_setaffinity(0, original)
  cores = 'CPU cores' if machine > 1 else 'CPU core'
  assert description().endswith(f'(1 of {machine} {cores})' if machine > 1 else '(1 CPU core)')
  run.write_hardware(str(tmp_path))
  assert description().endswith(f'({len(original)} of {machine} {cores})'
                                if len(original) < machine else f'({machine} {cores})')
