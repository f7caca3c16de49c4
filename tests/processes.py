"""How the tests run a command, `python -m MODULE ARGS...`, without paying its imports each time.

Importing jax, flax, orbax and tfds takes ~2.5 s, most of a command-line test that ends in a
one-line error. The commands are therefore forked from one server process (this file run as a
script) that imported those libraries once; nothing in it has started a JAX backend or a thread
that holds a lock, so forking it is safe. A forked child is the command as `python -m` runs it:
the module runs as __main__ on a fresh import of its own (the preloaded libraries are what it
would import anyway, in the state an import leaves them), with its argv, working directory, stdin
from /dev/null and its file descriptors 1 and 2 captured; non-daemon threads are joined and
atexit handlers run at its end, and its exit status is a process's (negative for a signal).

A command given its own environment runs as a real subprocess: the server's environment, which
the libraries read when they were imported, is the test session's. So do the tests that signal,
kill or time a process (faults_signals_test.py and faults_recovery_test.py start their own).
"""
import atexit
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import threading
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What the commands import and what defines no absl flag (a preloaded module that defined one
# would make the command's own definition a DuplicateFlagError).
_PRELOAD = ['absl.app', 'ml_collections.config_flags', 'tensorflow_datasets', 'gan_jax.train',
            'gan_jax.evaluate', 'gan_jax.parallel']
# Variables a command reads when it uses them, not when a library is imported: a command may be
# given other values of these and still be forked (the child sets them).
_READ_WHEN_USED = {'PATH'}
_server = []  # The one server process of this test session, started on first use.


def _exit_status(code) -> int:
  if code is None:
    return 0
  if isinstance(code, int):
    return code
  print(code, file=sys.stderr)  # sys.exit('message'), as the interpreter does.
  return 1


def _command(module, args, cwd, environ, stdout_path, stderr_path):
  """The forked child: `python -m module *args` in `cwd` with `environ`'s changes (None: unset),
  its output into the two files."""
  for key, value in environ.items():
    if value is None:
      os.environ.pop(key, None)
    else:
      os.environ[key] = value
  for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, stdout_path, os.O_WRONLY),
                          (2, stderr_path, os.O_WRONLY)):
    file = os.open(path, flags)
    os.dup2(file, fd)
    os.close(file)
  signal.signal(signal.SIGINT, signal.default_int_handler)
  os.chdir(cwd)
  sys.argv = [module, *args]
  try:
    runpy.run_module(module, run_name='__main__', alter_sys=True)
    status = 0
  except SystemExit as e:
    status = _exit_status(e.code)
  except BaseException:  # pylint: disable=broad-except  (the interpreter's own report)
    traceback.print_exc()
    status = 1
  threading._shutdown()  # pylint: disable=protected-access  (as the interpreter's exit does)
  atexit._run_exitfuncs()  # pylint: disable=protected-access
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access


def _serve():
  """The server: one JSON request a line on stdin; answers the child's pid, then its status."""
  for module in _PRELOAD:
    __import__(module)
  signal.signal(signal.SIGINT, signal.SIG_IGN)  # The test session's Ctrl-C is not for it.
  for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
      try:
        _command(**request)
      finally:
        os._exit(1)  # pylint: disable=protected-access
    print(json.dumps({'pid': pid}), flush=True)
    print(json.dumps({'status': os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}), flush=True)


def _started():
  if not _server or _server[0].poll() is not None:
    _server[:] = [subprocess.Popen([sys.executable, __file__], cwd=ROOT, text=True,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)]
  return _server[0]


def run(module, args, *, env=None, timeout=None, cwd=ROOT) -> subprocess.CompletedProcess:
  """`python -m module *args` run to its end: returncode, stdout and stderr (text)."""
  argv = [sys.executable, '-m', module, *args]
  env = os.environ if env is None else env
  changed = {k for k in set(env) | set(os.environ) if env.get(k) != os.environ.get(k)}
  if changed - _READ_WHEN_USED:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=timeout)
  server = _started()
  with tempfile.TemporaryDirectory() as directory:
    paths = [os.path.join(directory, name) for name in ('stdout', 'stderr')]
    for path in paths:
      open(path, 'w').close()
    server.stdin.write(json.dumps({'module': module, 'args': list(args), 'cwd': str(cwd),
                                   'environ': {k: env.get(k) for k in changed},
                                   'stdout_path': paths[0], 'stderr_path': paths[1]}) + '\n')
    server.stdin.flush()
    pid = json.loads(server.stdout.readline())['pid']
    if not select.select([server.stdout], [], [], timeout)[0]:
      os.kill(pid, signal.SIGKILL)
      server.stdout.readline()
      raise subprocess.TimeoutExpired(argv, timeout)
    status = json.loads(server.stdout.readline())['status']
    stdout, stderr = (open(path, errors='replace').read() for path in paths)
  return subprocess.CompletedProcess(argv, status, stdout, stderr)


if __name__ == '__main__':
  sys.path.insert(0, ROOT)
  _serve()
