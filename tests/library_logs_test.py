"""gan_jax.library_logs: orbax's INFO chatter out of every command's log, its warnings kept as
one line, a background thread's exception as one warning."""
import asyncio
import logging as python_logging
import os
import subprocess
import sys
import threading
import types
import uuid

from absl import logging
import jax
import orbax.checkpoint as ocp
import pytest

from gan_jax import cli
from gan_jax import errors
from gan_jax import library_logs

from conftest import ROOT

ORBAX_FILE = os.path.join(os.path.dirname(ocp.__file__), 'checkpoint_manager.py')


@pytest.fixture(autouse=True)
def _restore_hooks():
  """install() replaces the process's hooks: pytest's own come back after each test here."""
  handler, saved = logging.get_absl_handler(), (threading.excepthook, sys.unraisablehook)
  filters = list(handler.filters)
  yield
  threading.excepthook, sys.unraisablehook = saved
  handler.filters[:] = filters


def _record(pathname, level, msg, exc_info=None):
  return python_logging.LogRecord('absl', level, pathname, 1, msg, (), exc_info)


def test_orbax_info_is_dropped_and_its_warnings_kept_without_traceback():
  quiet = library_logs.QuietLibraries()
  assert '/orbax/' in ORBAX_FILE  # The installed orbax is where the filter looks for it.
  assert not quiet.filter(_record(ORBAX_FILE, python_logging.INFO, 'Saving checkpoint at 5'))
  assert not quiet.filter(_record(ORBAX_FILE, python_logging.WARNING,
                                  'step 5 did not provide metrics; keeping it anyway'))
  # Evaluation opens the checkpoints read-only on purpose: orbax's two warnings about it.
  for expected in ('CheckpointManagerOptions.read_only=True, setting save_interval_steps=0.',
                   'Given directory is read only=/w/checkpoints'):
    assert not quiet.filter(_record(ORBAX_FILE, python_logging.WARNING, expected))
  try:
    raise OSError('No space left on device')
  except OSError:
    warning = _record(ORBAX_FILE, python_logging.WARNING, 'write failed', sys.exc_info())
  assert quiet.filter(warning) and warning.exc_info is None  # One line, no traceback.
  ours = _record(__file__, python_logging.INFO, 'step 500/1000', None)
  assert quiet.filter(ours)  # Our own INFO lines (the training log) stay.


def test_every_command_installs_it_once():
  handler = logging.get_absl_handler()
  for installed in [f for f in handler.filters if isinstance(f, library_logs.QuietLibraries)]:
    handler.removeFilter(installed)  # As in a fresh process (another test may have run one).
  seen = []

  @cli.one_line('a_command')
  def main(argv):
    del argv
    seen.append([type(f) for f in handler.filters].count(library_logs.QuietLibraries))
    return 0

  main([])
  main([])  # A second command in the same process (the tests) adds nothing more.
  assert seen == [1, 1]
  assert not handler.filter(_record(ORBAX_FILE, python_logging.INFO, 'Saving checkpoint'))


def test_a_background_thread_failure_is_one_warning_line_once(caplog):
  library_logs.install()

  disk = f'No space left on device {uuid.uuid4().hex}'  # A line no other test logged.

  def fail():
    raise OSError(f'{disk}\nmore detail')

  with caplog.at_level(python_logging.WARNING, logger='absl'):
    for _ in range(3):  # Every writer callback fails the same way: logged once.
      thread = threading.Thread(target=fail)
      thread.start()
      thread.join()
  lines = [r.getMessage() for r in caplog.records]
  assert lines == [f'a background thread stopped: OSError: {disk}']


_PROBE = '''
import sys
from absl import logging
logging.use_absl_handler()
logging.set_verbosity(logging.INFO)
if sys.argv[1] == 'installed':
  from gan_jax import library_logs
  library_logs.install()
import jax
logging.info('devices: %s', jax.devices())
'''


@pytest.mark.parametrize('installed', [False, True])
def test_jax_notes_on_absent_backends_stay_out_of_the_log(installed):
  # On a machine without a TPU, jax logs (INFO) that it could not open libtpu.so: alarming and
  # not about this run. A fresh process, since jax probes its backends once.
  run = subprocess.run([sys.executable, '-c', _PROBE, 'installed' if installed else 'bare'],
                       cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
                       env={**os.environ, 'JAX_PLATFORMS': ''})
  assert 'devices: [' in run.stderr  # Our own INFO lines stay.
  assert ("Unable to initialize backend 'tpu'" in run.stderr) is not installed


def test_a_backend_that_is_installed_but_fails_keeps_its_line():
  quiet = library_logs.QuietLibraries()
  bridge = os.path.join(os.path.dirname(jax.__file__), '_src', 'xla_bridge.py')
  absent = python_logging.LogRecord(
      'jax._src.xla_bridge', python_logging.INFO, bridge, 1, 'Unable to initialize backend %r: %s',
      ('tpu', 'INTERNAL: Failed to open libtpu.so: libtpu.so: cannot open shared object file'),
      None)
  busy = python_logging.LogRecord(
      'jax._src.xla_bridge', python_logging.INFO, bridge, 1, 'Unable to initialize backend %r: %s',
      ('tpu', 'ABORTED: The TPU is already in use by process with pid 1234'), None)
  assert os.path.exists(bridge)  # Where the installed jax logs it from.
  assert not quiet.filter(absent) and quiet.filter(busy)


def test_a_library_error_is_brief_without_orbax_s_tensorstore_dump():  # (errors.brief)
  read = Exception('Encountered error while reading array index: (slice(0, 8, 1),). See full '
                   'TensorStore details: <bound method spec of TensorStore({\n  "base": {}})>')
  assert errors.brief(read) == (
      'Exception: Encountered error while reading array index: (slice(0, 8, 1),).')
  assert errors.brief(OSError('disk\nfull')) == 'OSError: disk'
  assert errors.brief(KeyError()) == 'KeyError'


async def _read_array_index_and_device_put():  # Named as orbax's array read.
  raise Exception('Encountered error while reading array index')  # pylint: disable=broad-exception-raised


async def _another_coroutine():
  raise OSError('the disk failed')


def test_orphaned_reads_of_a_damaged_checkpoint_are_not_logged_again(caplog):
  """The restore raised already (one set-aside line); its other reads' failures, reported as their
  coroutines and tasks are collected, are dropped. Other collected failures keep their line."""
  library_logs.install()
  with caplog.at_level(python_logging.WARNING, logger='absl'):
    for coroutine in (_read_array_index_and_device_put(), _another_coroutine()):
      try:
        coroutine.send(None)
      except Exception as e:  # pylint: disable=broad-except
        sys.unraisablehook(types.SimpleNamespace(
            exc_type=type(e), exc_value=e, exc_traceback=None, err_msg=None, object=coroutine))
  assert [r.getMessage() for r in caplog.records] == [
      'ignored in a callback: OSError: the disk failed']
  quiet = library_logs.QuietLibraries()
  asyncio_file = os.path.join(os.path.dirname(asyncio.__file__), 'base_events.py')
  never = ('Task exception was never retrieved\nfuture: <Task finished name=\'Task-7\' '
           'coro=<{}() done> exception=Exception(...)>')
  assert not quiet.filter(_record(asyncio_file, python_logging.ERROR,
                                  never.format('_read_array_index_and_device_put')))
  assert quiet.filter(_record(asyncio_file, python_logging.ERROR, never.format('save')))


def test_a_cleanup_after_its_event_loop_closed_is_not_logged(caplog):
  """asyncio's own error for an object collected after orbax closed its loop (the damaged-
  checkpoint command once logged it as a second line) is teardown, dropped; another
  RuntimeError from a collected object keeps its line."""
  library_logs.install()
  loop = asyncio.new_event_loop()
  loop.close()

  class Collected:
    def __init__(self, cleanup):
      self.cleanup = cleanup

    def __del__(self):
      self.cleanup()  # Raised here, the error is "unraisable": sys.unraisablehook reports it.

  def other_failure():
    raise RuntimeError('the writer failed')

  with caplog.at_level(python_logging.WARNING, logger='absl'):
    Collected(lambda: loop.call_soon(print))
    Collected(other_failure)
  assert [r.getMessage() for r in caplog.records] == [
      'ignored in a callback: RuntimeError: the writer failed']
