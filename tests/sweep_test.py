"""Sweeps: grid semantics, overrides applied like the command line, workdir names, the CLI."""
import glob
import importlib
import json
import os
import re
import shlex
import sys
import textwrap

from absl import flags
from ml_collections import config_flags
import numpy as np
import pytest

from gan_jax import config_checks
from gan_jax import errors
from launch import grid
from launch import overrides
from launch import plan

from conftest import ROOT
import processes

EXPERIMENTS = sorted(
    os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'experiments', '*.py'))
    if os.path.basename(p) not in ('__init__.py', 'common.py'))
SWEPT = [name for name in EXPERIMENTS
         if hasattr(importlib.import_module(f'experiments.{name}'), 'sweep')]


def run_sweep(*args, env=None):
  return processes.run('launch.sweep', args, env=env)


def parse_like_main(args):
  """gan_jax.main's config from its --config and --config.* arguments (config_flags' parse)."""
  args = [a for a in args if a.startswith('--config')]
  values = flags.FlagValues()
  config_flags.DEFINE_config_file('config', None, flag_values=values, lock_config=True,
                                  sys_argv=['main', *args])
  values(['main', *args])
  return values.config


def toy_config():
  config = importlib.import_module('experiments.toy_ring_gan').get_config()
  config.lock()
  return config


# Grids.

def test_product_is_cartesian_last_axis_fastest():
  assert grid.product({'optimizer.learning_rate': (0.1, 0.01)}, seed=range(3)) == [
      {'optimizer.learning_rate': 0.1, 'seed': 0}, {'optimizer.learning_rate': 0.1, 'seed': 1},
      {'optimizer.learning_rate': 0.1, 'seed': 2}, {'optimizer.learning_rate': 0.01, 'seed': 0},
      {'optimizer.learning_rate': 0.01, 'seed': 1}, {'optimizer.learning_rate': 0.01, 'seed': 2}]
  assert grid.product(seed=[7]) == [{'seed': 7}]


def test_zip_pairs_values():
  assert grid.zip_({'generator.hidden_dims': [(8,), (16,)], 'discriminator.hidden_units': [
      (4,), (8,)]}) == [{'generator.hidden_dims': (8,), 'discriminator.hidden_units': (4,)},
                        {'generator.hidden_dims': (16,), 'discriminator.hidden_units': (8,)}]
  assert grid.zip_(grid.product(a=(1, 2), b=(3, 4)), c=range(4)) == [
      {'a': 1, 'b': 3, 'c': 0}, {'a': 1, 'b': 4, 'c': 1}, {'a': 2, 'b': 3, 'c': 2},
      {'a': 2, 'b': 4, 'c': 3}]


def test_zip_of_unequal_lengths_is_an_error():
  with pytest.raises(errors.ConfigError, match=r'differ in length \(seed has 2, batch_size has 3'):
    grid.zip_({'seed': (0, 1), 'batch_size': (8, 16, 32)})


def test_combining_grids():
  pairs = grid.zip_({'dfm.denoise_weight': (0.0, 0.03), 'dfm.noise_std': (1.0, 2.0)})
  assert grid.product(pairs, seed=(0, 1)) == [
      {'dfm.denoise_weight': 0.0, 'dfm.noise_std': 1.0, 'seed': 0},
      {'dfm.denoise_weight': 0.0, 'dfm.noise_std': 1.0, 'seed': 1},
      {'dfm.denoise_weight': 0.03, 'dfm.noise_std': 2.0, 'seed': 0},
      {'dfm.denoise_weight': 0.03, 'dfm.noise_std': 2.0, 'seed': 1}]
  assert grid.chain(grid.product(seed=(0, 1)), [{'batch_size': 8}]) == [
      {'seed': 0}, {'seed': 1}, {'batch_size': 8}]


@pytest.mark.parametrize('build, message', [
    (lambda: grid.product({'seed': (0, 1)}, seed=(2,)), "key 'seed' is given by two parts"),
    (lambda: grid.chain(grid.product(seed=(0, 1)), [{'seed': 1}]), 'are the same'),
    (lambda: grid.product(seed=(1, 1)), 'are the same'),
    (lambda: grid.product(seed=()), 'has no values'),
    (lambda: grid.product({'data.name': 'ring'}), 'must be a list of values'),
    (lambda: grid.product({'optimizer..learning_rate': (1.0,)}), 'not a dotted config key'),
    (lambda: grid.product(), 'nothing to combine'),
    (lambda: grid.check({'seed': 1}), 'expected a list of points'),
])
def test_grid_mistakes_are_one_line_errors(build, message):
  with pytest.raises(errors.ConfigError, match=re.escape(message)) as raised:
    build()
  assert '\n' not in str(raised.value)


# Overrides.

def test_apply_checks_types_like_the_command_line():
  base = toy_config()
  config = overrides.apply(base, {'optimizer.learning_rate': 1, 'seed': 3, 'data.name': 'grid',
                                  'eval.refine_sigma': True, 'generator.hidden_dims': [32, 32]})
  assert type(config.optimizer.learning_rate) is float and config.optimizer.learning_rate == 1.0
  assert config.seed == 3 and config.eval.refine_sigma is True and config.data.name == 'grid'
  assert config.generator.hidden_dims == (32, 32)
  numpy_made = overrides.normalize(base, {'seed': np.int64(2),
                                          'eval.sigmas': list(np.logspace(-1, 0, 3))})
  assert type(numpy_made['seed']) is int
  assert [type(s) for s in numpy_made['eval.sigmas']] == [float] * 3
  assert base.seed == 0 and base.generator.hidden_dims == (128, 128)  # A copy.
  assert config.is_locked
  for point, message in [({'seed': 1.5}, 'config.seed is an int'),
                         ({'seed': True}, 'config.seed is an int'),
                         ({'eval.refine_sigma': 1}, 'is a bool'),
                         ({'data.name': 3}, 'is a str'),
                         ({'generator.hidden_dims': 32}, 'is a tuple'),
                         ({'optimizer.learnin_rate': 0.1}, "no key 'optimizer.learnin_rate'"),
                         ({'optimzer.learning_rate': 0.1}, "no key 'optimzer'"),
                         ({'seed.x': 1}, "no key 'seed.x'"),
                         ({'optimizer': 0.1}, 'is a group of keys')]:
    with pytest.raises(errors.ConfigError, match=re.escape(message)):
      overrides.apply(base, point)


def test_flags_parse_back_to_the_applied_config():
  point = {'optimizer.learning_rate': 1, 'dfm.denoise_weight': 1e-5, 'eval.sigmas': (0.5,),
           'generator.hidden_dims': (32, 16), 'eval.refine_sigma': True, 'data.name': 'grid',
           'eval.classifier_dir': '/tmp/a dir, with=odd (chars)', 'eval.folds': ()}
  expected = overrides.apply(toy_config(), point)
  parsed = parse_like_main(['--config=experiments/toy_ring_gan.py',
                            *overrides.flags(overrides.normalize(toy_config(), point))])
  assert parsed.to_dict() == expected.to_dict()
  assert parsed.to_json(sort_keys=True) == expected.to_json(sort_keys=True)  # 1.0, not 1.


def test_workdir_names_are_readable_safe_and_distinct():
  assert overrides.name({}) == 'default'
  assert overrides.name({'seed': 3, 'optimizer.learning_rate': 0.001}) == (
      'optimizer.learning_rate=0.001,seed=3')
  assert overrides.name({'generator.hidden_dims': (64, 64)}) == 'generator.hidden_dims=(64,64)'
  assert overrides.name({'eval.sigmas': (0.5,)}) == 'eval.sigmas=(0.5,)'
  strings = ['a/b', 'a_b', 'a b', 'a:b', '', '..', '(1,)', 'a,b=c', 'é', 'x' * 400]
  points = ([{'data.path': s} for s in strings] + [{'data.path': s, 'seed': 1} for s in strings] +
            [{'eval.sigmas': (0.1, 0.2)}, {'eval.sigmas': (0.1,)}, {'eval.sigmas': (0.12,)}])
  names = [overrides.name(p) for p in points]
  assert len(set(names)) == len(names)
  for name in names:
    assert re.fullmatch(r'[A-Za-z0-9._+=,()-]+', name) and len(name) <= 200, name
    assert name not in ('.', '..')


# Every experiment's sweep.

def test_the_papers_experiments_have_sweeps():
  assert {'toy_ring_gan', 'toy_ring_dfm', 'toy_gaussian_1d_gan', 'digits_gan', 'digits_dfm',
          'fashion_mnist_gan', 'fashion_mnist_dfm', 'mnist_gan', 'tfd_gan',
          'cifar10_mlp_gan'} <= set(SWEPT)
  assert len(importlib.import_module('experiments.toy_ring_gan').sweep()) >= 5


@pytest.mark.parametrize('arg', [None, 'runlocal'])
@pytest.mark.parametrize('name', SWEPT)
def test_sweep_points_apply_validate_and_round_trip(name, arg):
  spec = f'experiments/{name}.py' + (f':{arg}' if arg else '')
  base = importlib.import_module(f'experiments.{name}').get_config(arg)
  base.lock()
  runs = plan.plan(spec, '/sweeps', invocation_flags=((), ('--mode=eval',)))
  assert runs
  assert len({r.workdir for r in runs}) == len(runs)
  assert len({json.dumps(r.point, sort_keys=True) for r in runs}) == len(runs)
  for run in runs:
    assert run.workdir == f'/sweeps/{plan.experiment_name(spec)}/{run.name}'
    config = overrides.apply(base, run.point)
    config_checks.validate(config)
    for key, value in run.point.items():
      assert config_path_value(config, key) == value
    train, evaluate = run.invocations
    assert train[:4] == ('-m', 'gan_jax.main', f'--config={spec}', f'--workdir={run.workdir}')
    assert evaluate == train[:4] + ('--mode=eval',) + train[4:]
    parsed = parse_like_main(train)
    assert parsed.to_json(sort_keys=True) == config.to_json(sort_keys=True)


def config_path_value(config, key):
  for part in key.split('.'):
    config = config[part]
  return config


# The command line.

def test_print_shows_a_gcloud_command_on_all_workers_per_point():
  result = run_sweep('--config=experiments/toy_ring_gan.py', '--executor=print',
                     '--print_as=tpu_pod', '--tpu_name=my-pod', '--zone=us-central2-b',
                     '--root=gs://bucket/runs')
  assert result.returncode == 0, result.stderr
  lines = result.stdout.strip().splitlines()
  setup = [line for line in lines if line.startswith('#')]
  assert any('tpu-vm scp' in line for line in setup)
  assert any('launch/tpu_pod.sh' in line for line in setup)
  commands = [shlex.split(line) for line in lines if not line.startswith('#')]
  points = importlib.import_module('experiments.toy_ring_gan').sweep()
  assert len(commands) == len(points)
  for argv, point in zip(commands, points):
    assert argv[:6] == ['gcloud', 'compute', 'tpus', 'tpu-vm', 'ssh', 'my-pod']
    assert '--worker=all' in argv and '--zone=us-central2-b' in argv
    remote = [a for a in argv if a.startswith('--command=')][0][len('--command='):]
    assert remote.startswith('cd gan_jax && . .venv/bin/activate && python -m gan_jax.main ')
    remote_argv = shlex.split(remote.split(' && ')[2])
    assert f'--workdir=gs://bucket/runs/toy_ring_gan/seed={point["seed"]}' in remote_argv
    assert f'--config.seed={point["seed"]}' in remote_argv


def test_print_local_with_then_eval_and_config_arg():
  result = run_sweep('--config=experiments/digits_gan.py', '--config_arg=runlocal',
                     '--then_eval', '--root=/r')
  assert result.returncode == 0, result.stderr
  lines = result.stdout.strip().splitlines()
  assert len(lines) == len(importlib.import_module('experiments.digits_gan').sweep())
  train, evaluate = lines[0].split(' && ')
  assert train == ('python -m gan_jax.main --config=experiments/digits_gan.py:runlocal '
                   '--workdir=/r/digits_gan-runlocal/optimizer.learning_rate=0.1,seed=0 '
                   '--config.optimizer.learning_rate=0.1 --config.seed=0')
  assert '--mode=eval' in evaluate.split() and evaluate.replace(' --mode=eval', '') == train


def write_experiment(tmp_path, sweep_body):
  path = tmp_path / 'swept.py'
  path.write_text(textwrap.dedent(f'''\
      from experiments.toy_ring_gan import get_config
      from launch import grid


      def sweep():
        return {sweep_body}
      '''))
  return str(path)


@pytest.mark.parametrize('sweep_body, fragments', [
    ("grid.product({'optimizer.learnin_rate': (1e-3, 1e-4)}, seed=range(2))",
     ("point 0 {'optimizer.learnin_rate': 0.001, 'seed': 0}", "no key 'optimizer.learnin_rate'")),
    ('grid.product(batch_size=(8, 0))', ("point 1 {'batch_size': 0}", 'positive integer')),
    ("grid.zip_({'seed': (1, 2), 'batch_size': (3, 4, 5)})", ('sweep(): zip_', 'differ in length')),
])
def test_a_bad_point_is_one_line_and_nothing_runs(tmp_path, sweep_body, fragments):
  root = tmp_path / 'root'
  result = run_sweep(f'--config={write_experiment(tmp_path, sweep_body)}', '--executor=local',
                     f'--root={root}')
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  assert result.stdout == ''
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('launch.sweep: error: ')
  for fragment in fragments:
    assert fragment in last, last
  assert not root.exists()


def test_tpu_pod_runs_gcloud_per_point_in_turn_and_reports_failures(tmp_path):
  bin_dir, calls = tmp_path / 'bin', tmp_path / 'calls.jsonl'
  bin_dir.mkdir()
  fake = bin_dir / 'gcloud'
  fake.write_text(textwrap.dedent(f'''\
      #!{sys.executable}
      import json, sys
      with open({str(calls)!r}, 'a') as f:
        f.write(json.dumps(sys.argv[1:]) + '\\n')
      sys.exit(3 if '--config.seed=1 ' in sys.argv[-1] + ' ' else 0)
      '''))
  fake.chmod(0o755)
  env = dict(os.environ, PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
  result = run_sweep('--config=experiments/toy_ring_gan.py', '--executor=tpu_pod',
                     '--tpu_name=pod', '--project=proj', '--root=/shared/runs', env=env)
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1] == (
      'launch.sweep: error: 1 of 5 points failed: seed=1 (exit 3)')
  argvs = [json.loads(line) for line in calls.read_text().splitlines()]
  assert len(argvs) == 5
  for seed, argv in enumerate(argvs):
    assert argv[:5] == ['compute', 'tpus', 'tpu-vm', 'ssh', 'pod']
    assert '--worker=all' in argv and '--project=proj' in argv
    assert argv[-1].endswith(f'--workdir=/shared/runs/toy_ring_gan/seed={seed} '
                             f'--config.seed={seed}')


@pytest.mark.slow
def test_local_executor_trains_each_point_in_its_workdir(tmp_path):
  root = tmp_path / 'root'
  spec = write_experiment(tmp_path, "grid.product({'optimizer.learning_rate': (1e-3, 2e-3)})")
  result = run_sweep(f'--config={spec}:runlocal', '--executor=local', '--max_parallel=2',
                     f'--root={root}')
  assert result.returncode == 0, result.stdout + result.stderr
  assert 'all 2 points finished' in result.stdout
  for rate in (0.001, 0.002):
    workdir = root / 'swept-runlocal' / f'optimizer.learning_rate={rate}'
    with open(workdir / 'config.json') as f:
      config = json.load(f)
    assert config['optimizer']['learning_rate'] == rate and config['num_train_steps'] == 2
    assert (workdir / 'checkpoints' / '2').is_dir()
    assert 'python -m gan_jax.main' in (workdir / 'sweep.log').read_text()


def test_points_that_differ_only_in_seed_merge_into_populations(tmp_path):
  spec = write_experiment(tmp_path, "grid.product({'optimizer.learning_rate': (1e-3, 2e-3)}, "
                          "seed=(0, 1, 2)) + grid.product(batch_size=(8,))")
  runs = plan.plan(spec, '/r', ((), ('--mode=eval',)))
  merged = plan.populations(runs)
  assert [r.name for r in merged] == ['optimizer.learning_rate=0.001,seed={0,1,2}',
                                      'optimizer.learning_rate=0.002,seed={0,1,2}', 'batch_size=8']
  assert merged[2] == runs[6]  # A point alone stays as it was.
  for population_run, members in ((merged[0], runs[0:3]), (merged[1], runs[3:6])):
    assert population_run.members == tuple(members)
    train, *evaluations = population_run.invocations
    template = train[train.index(f'--workdir={population_run.workdir}')].split('=', 1)[1]
    assert template.endswith(',seed={seed}')
    # The population's {seed} workdir names exactly the points' workdirs, and it trains what
    # the points' own commands train: the same flags, seed for seeds.
    assert [template.replace('{seed}', str(s)) for s in (0, 1, 2)] == [r.workdir for r in members]
    assert parse_like_main(train).seeds == '0,1,2'
    member_config = parse_like_main(members[0].invocations[0])
    population_config = parse_like_main(train)
    with population_config.unlocked():
      population_config.seeds, population_config.seed = '', 0
    assert population_config == member_config
    assert evaluations == [r.invocations[1] for r in members]
    assert population_run.log_dir == members[0].workdir
  # A seed whose workdir trained on the host pipeline: its group runs point by point.
  runs = plan.plan(spec, str(tmp_path / 'r'), ((),))
  os.makedirs(runs[1].workdir)
  with open(os.path.join(runs[1].workdir, 'config.json'), 'w') as f:
    json.dump({'data': {'placement': 'host'}}, f)
  assert [r.name for r in plan.populations(runs)] == [
      *(r.name for r in runs[0:3]), 'optimizer.learning_rate=0.002,seed={0,1,2}', 'batch_size=8']
  # A name shortened with a hash cannot hold {seed}: those points run one by one.
  long_points = "grid.product({'eval.classifier_dir': ('/x' * 150,)}, seed=(0, 1))"
  long_runs = plan.plan(write_experiment(tmp_path, long_points), '/r')
  assert plan.populations(long_runs) == list(long_runs)


@pytest.mark.slow
def test_local_executor_trains_a_seeds_population_as_the_points_alone(tmp_path):
  spec = write_experiment(tmp_path, 'grid.product(seed=(0, 1))')
  roots = {flag: tmp_path / flag for flag in ('yes', 'no')}
  for flag, root in roots.items():
    result = run_sweep(f'--config={spec}:runlocal', '--executor=local', f'--populations={flag}',
                       f'--root={root}')
    assert result.returncode == 0, result.stdout + result.stderr
    assert ('[1/1] seed={0,1}: done' in result.stdout) == (flag == 'yes'), result.stdout
  for seed in (0, 1):
    together, alone = (roots[f] / 'swept-runlocal' / f'seed={seed}' for f in ('yes', 'no'))
    for name in ('config.json', 'metrics.jsonl'):
      drop = re.compile(r'"[a-z_/]*(second|per_sec|time)[a-z_]*": [0-9.e+-]+,? ?')
      assert drop.sub('', (together / name).read_text()) == drop.sub('', (alone / name).read_text())
    assert sorted(os.listdir(together / 'checkpoints')) == sorted(os.listdir(alone / 'checkpoints'))
  log = (roots['yes'] / 'swept-runlocal' / 'seed=0' / 'sweep.log').read_text()
  assert '--config.seeds=0,1' in log
  assert 'trained in the population seed={0,1}' in (
      roots['yes'] / 'swept-runlocal' / 'seed=1' / 'sweep.log').read_text()


def test_populations_on_a_tpu_pod_are_a_one_line_error():
  result = run_sweep('--config=experiments/toy_ring_gan.py', '--executor=print',
                     '--print_as=tpu_pod', '--tpu_name=pod', '--populations=yes')
  assert result.returncode == 1 and result.stdout == ''
  assert result.stderr.strip().splitlines()[-1] == (
      'launch.sweep: error: --populations=yes trains the seeds in one process on one machine; '
      'use it with --executor=local (or print), not on a TPU pod')
