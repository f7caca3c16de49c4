r"""Records a workdir's run in its checkpoints that carry no record of the run that wrote them.

  python -m launch.adopt_checkpoints --workdir=DIR

gan_jax writes into each checkpoint the config of the run that wrote it (`<step>/run/`), and
training refuses a checkpoint without one: it cannot tell this run's from one copied in from
another seed. Checkpoints written before the records existed lack them; this command, run by
someone who knows they are the workdir's own, writes `config.json` of the workdir into each such
checkpoint, so that the same training command resumes from them. Checkpoints that have a record
are left untouched; nothing else in the workdir is changed. Refused while a run holds the
workdir.
"""
from gan_jax import cli  # pylint: disable=g-bad-import-order

if __name__ == '__main__':
  cli.install()  # A Ctrl-C from here on ends in one line.
import json
import os
from typing import List

from absl import app
from absl import flags

from gan_jax import checkpointing
from gan_jax import errors
from gan_jax import lock
from gan_jax import records
from gan_jax import workdir as workdir_lib

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'The run\'s workdir (holding config.json and checkpoints/).')


def adopt(workdir: str) -> List[int]:
  """Writes workdir/config.json as the run record of each checkpoint without one; returns
  their steps."""
  config = workdir_lib.read_config(workdir)
  if config is None:
    raise errors.WorkdirError(f'{os.path.join(workdir, "config.json")} does not exist: without '
                              'the run\'s config there is nothing to record; give the workdir of '
                              'a gan_jax run')
  directory = os.path.join(workdir, 'checkpoints')
  steps = sorted(int(n) for n in (os.listdir(directory) if os.path.isdir(directory) else ())
                 if n.isdigit() and os.path.isdir(os.path.join(directory, n)))
  adopted = []
  for step in steps:
    record = os.path.join(directory, str(step), *checkpointing.RUN_RECORD)
    if os.path.exists(record):
      continue
    os.makedirs(os.path.dirname(record), exist_ok=True)
    records.write_text(record, json.dumps(config))
    adopted.append(step)
  return adopted


@cli.one_line('launch.adopt_checkpoints')
def main(argv):
  if len(argv) != 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not FLAGS.workdir:
    raise errors.WorkdirError('--workdir is empty; give the workdir whose checkpoints to adopt')
  if not os.path.isdir(FLAGS.workdir):
    raise errors.WorkdirError(f'--workdir={FLAGS.workdir} is not a directory; give a run\'s '
                              'workdir')
  with lock.WorkdirLock(FLAGS.workdir, purpose='adopting checkpoints'):
    adopted = adopt(FLAGS.workdir)
  print(f'{FLAGS.workdir}: the run of config.json recorded in checkpoint(s) {adopted}'
        if adopted else f'{FLAGS.workdir}: every checkpoint already records its run')


if __name__ == '__main__':
  cli.run('launch.adopt_checkpoints', main)
