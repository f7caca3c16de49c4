"""launch.reproduce: tables from the workdirs' evaluations, reused when finished."""
import dataclasses
import json
import os
import re

import pytest

from gan_jax import errors
from gan_jax import lock
from gan_jax.data import idx
from launch import fetch_data
from launch import report
from launch import reproduce
from launch import rows
from launch import seed_training
from launch import tables


def _read(path):
  with open(path) as f:
    return json.load(f)


def test_every_table_row_names_an_experiment_that_loads():
  for table in tables.TABLES.values():
    for row in table.rows:
      for runlocal in (False, True):
        config = rows.run_config(row, row.seeds[-1], runlocal, '')
        assert config.seed == row.seeds[-1]
        for key, value in (rows.identifying(row) if runlocal else row.overrides).items():
          assert _get(config, key) == value


def _get(config, key):
  for part in key.split('.'):
    config = config[part]
  return config


def test_a_row_that_is_another_run_has_its_own_workdir(tmp_path):
  """The Gaussian-prior MNIST row is another run than the uniform one: its workdir is named as
  launch.sweep names that point, and runlocal keeps the prior but not a row's length."""
  by_label = {r.label: r for r in tables.TABLES['gan_parzen'].rows}
  normal, uniform = by_label['GAN, MNIST, z ~ N(0, I)'], by_label['GAN, MNIST']
  root = str(tmp_path)
  assert rows.workdir(root, uniform, 2, False) == f'{root}/mnist_gan/seed=2'
  assert (rows.workdir(root, normal, 0, False) ==
          f'{root}/mnist_gan/noise.prior=normal,seed=0')
  assert (rows.workdir(root, normal, 0, True) ==
          f'{root}/mnist_gan-runlocal/noise.prior=normal,seed=0')
  for runlocal in (False, True):
    assert rows.run_config(normal, 0, runlocal, '').noise.prior == 'normal'
    assert rows.run_config(uniform, 0, runlocal, '').noise.prior == 'uniform'
  # A row's length (Fashion-MNIST: 60k steps) names no workdir, and runlocal keeps its 2 steps.
  fashion = next(r for r in tables.TABLES['offline'].rows if r.label == 'Fashion-MNIST, GAN')
  assert fashion.overrides['num_train_steps'] == 60_000
  assert rows.workdir(root, fashion, 0, False) == f'{root}/fashion_mnist_gan/seed=0'
  assert rows.run_config(fashion, 0, True, '').num_train_steps == 2


def test_train_seconds_counts_each_step_once(tmp_path):
  records = [{'step': 10, 'steps_per_sec': 5.0}, {'step': 20, 'steps_per_sec': 2.0},
             {'step': 20, 'steps_per_sec': 10.0},  # Logged again after a resume: this counts.
             {'step': 40, 'steps_per_sec': 4.0}]
  with open(tmp_path / 'metrics.jsonl', 'w') as f:
    f.writelines(json.dumps(r) + '\n' for r in records)
  assert report.train_seconds(str(tmp_path)) == pytest.approx(10 / 5 + 10 / 10 + 20 / 4)


def test_seeds_are_summarised_as_mean_and_standard_error():
  row = tables.Row('ring', 'toy_ring_gan', (tables.MODES,), seeds=(0, 1))
  coverage = [{'modes_covered': 6, 'num_modes': 8, 'high_quality_fraction': 0.8},
              {'modes_covered': 2, 'num_modes': 8, 'high_quality_fraction': 0.4}]
  results = [{'summary': {'modes': c}} for c in coverage]
  # std(ddof=1) of 6, 2 is 2.83, / sqrt(2) = 2.0; of 80, 40 %: 28.3, / sqrt(2) = 20.0.
  assert reproduce.format_metrics(row, results) == (
      'modes 4.0 ± 2.0 of 8, high quality 60.0 ± 20.0 %')
  one = tables.Row('digits', 'digits_gan', (tables.PARZEN,))
  summary = {'parzen': {'test_ll': 20.834, 'test_stderr': 0.63},
             'reference': {'parzen': {'test_ll': 29.25, 'test_stderr': 0.89}}}
  assert reproduce.format_metrics(one, [{'summary': summary}]) == 'Parzen LL 20.83 ± 0.63'
  real = tables.Row('real', 'digits_gan', (tables.PARZEN,), real_data=True)
  assert reproduce.format_metrics(real, [{'summary': summary}]) == 'Parzen LL 29.25 ± 0.89'
  three = tables.Row('mnist', 'mnist_gan', (tables.PARZEN,), seeds=(0, 1, 2))
  per_seed = [{'summary': {'parzen': {'test_ll': ll, 'test_stderr': 2.0}}}
              for ll in (220.0, 230.0, 240.0)]
  # s.e. across seeds: std(ddof=1) = 10, / sqrt(3) = 5.77.
  assert reproduce.format_metrics(three, per_seed) == (
      'Parzen LL 230.00 ± 5.77 (s.e. across 3 seeds; per seed: 220.00 ± 2.00, 230.00 ± 2.00, '
      '240.00 ± 2.00)')
  # A metric left out of a runlocal run for want of an input says so, and which input.
  inception = tables.Row('cifar', 'cifar10_dcgan', (tables.INCEPTION, tables.CLASSIFIER))
  found = {'classifier': {'is_mean': 2.5, 'is_std': 0.1, 'fid': 30.0}}
  missing = {'inception': 'config.eval.inception_weights is not set: the Inception metrics …'}
  assert reproduce.format_metrics(inception, [{'summary': found, 'not_computed': missing}]) == (
      'inception: not computed (config.eval.inception_weights is not set); '
      'classifier IS 2.50 ± 0.10, FID 30.00')
  # A progress table where seed 1 has started but logged no evaluation: the cell is seed 0's
  # (it crashed with a KeyError), and says which seed is left out and why.
  fashion = tables.Row('fashion', 'fashion_mnist_32_dfm', (tables.CLASSIFIER,), seeds=(0, 1))
  early = {'classifier': 'no evaluation logged yet; the first is at step 781'}
  assert reproduce.format_metrics(fashion, [
      {'seed': 0, 'summary': found, 'not_computed': {}},
      {'seed': 1, 'summary': {}, 'not_computed': early}]) == (
          'classifier IS 2.50 ± 0.10, FID 30.00 (without seed 1: no evaluation logged yet)')


def test_the_real_data_row_claims_no_training_of_its_own():
  """The real-data row scores real rows in the workdir of seed 0: that run's steps and hours are
  the GAN row's, not the real data's."""
  table = tables.TABLES['gan_parzen']
  real, gan = table.rows[0], table.rows[1]
  summary = {'parzen': {'test_ll': 200.0, 'test_stderr': 2.0},
             'reference': {'parzen': {'test_ll': 242.11, 'test_stderr': 2.12}}}
  result = {'summary': summary, 'seed': 0, 'steps': 250_000, 'epochs': 500.0,
            'stopped_by': 'early_stopping', 'seconds': 5.1 * 3600, 'stand_in': '',
            'hardware': '1 x cpu', 'not_computed': {}, 'data': ''}
  rows = [{'row': real, 'results': [result], 'root': '/r'},
          {'row': dataclasses.replace(gan, seeds=(0,)), 'results': [result], 'root': '/r'}]
  text = reproduce.markdown('gan_parzen', table, rows, runlocal=False, command='c')
  real_line, gan_line = (next(l for l in text.splitlines() if l.startswith(f'| {r.label} |'))
                         for r in (real, gan))
  assert real_line.endswith('| 0 | none (real data) | 1 x cpu | none |')
  assert 'Parzen LL 242.11 ± 2.12' in real_line
  assert gan_line.endswith('| 250,000 (500, stopped) | 1 x cpu | 5.1 h |')


def test_full_inception_table_without_weights_stops_before_training(tmp_path):
  with pytest.raises(errors.ConfigError, match='config.eval.inception_weights'):
    reproduce.reproduce('dfm_cifar10', str(tmp_path), runlocal=False, inception_weights='')
  assert not os.listdir(tmp_path)


@pytest.mark.slow
def test_runlocal_table_is_built_from_the_runs_and_reuses_them(tmp_path, monkeypatch):
  monkeypatch.setattr(idx, 'MNIST_DIR', str(tmp_path / 'no_mnist'))  # As on a bare machine.
  root = str(tmp_path)
  text, failed = reproduce.reproduce('gan_parzen', root, runlocal=True, inception_weights='')
  assert not failed
  assert '**runlocal**' in text
  for label, experiment, published, seeds in (('GAN, MNIST', 'mnist_gan', '225 ± 2', (0, 1, 2)),
                                              ('GAN, TFD', 'tfd_gan', '2057 ± 26', (0,))):
    line = next(l for l in text.splitlines() if l.startswith(f'| {label} |'))
    assert published in line and '(stand-in data)' in line
    for seed in seeds:
      workdir = os.path.join(root, f'{experiment}-runlocal', f'seed={seed}')
      summary = _read(os.path.join(workdir, 'eval', 'summary.json'))
      assert f'{summary["parzen"]["test_ll"]:.2f} ± {summary["parzen"]["test_stderr"]:.2f}' in line
      assert _read(os.path.join(workdir, 'hardware.json'))['description'] in line
  # Written beside the table: the MNIST row's kept checkpoints under the three σ protocols,
  # the released one's column the evaluation's own numbers.
  output = os.path.join(root, 'tables', 'gan_parzen.md')
  only_mnist, _ = reproduce.reproduce('gan_parzen', root, runlocal=True, inception_weights='',
                                      only=('GAN, MNIST',), output=output)
  beside = open(os.path.join(root, 'tables', 'gan_parzen-sigma_protocols.md')).read()
  assert beside in only_mnist and 'under three σ protocols' in beside
  for seed in (0, 1, 2):
    summary = _read(os.path.join(root, 'mnist_gan-runlocal', f'seed={seed}', 'eval',
                                 'summary.json'))['parzen']
    released = f'{summary["test_ll"]:.2f} ± {summary["test_stderr"]:.2f}'
    assert any(line.startswith(f'| {seed} | ') and line.split(' | ')[2].startswith(released)
               for line in beside.splitlines())
  real = next(l for l in text.splitlines() if l.startswith('| MNIST, real data'))
  reference = _read(os.path.join(root, 'mnist_gan-runlocal', 'seed=0', 'eval', 'summary.json'))
  assert f'Parzen LL {reference["reference"]["parzen"]["test_ll"]:.2f} ±' in real
  # A second run reuses the finished training and evaluations.
  metrics = os.path.join(root, 'mnist_gan-runlocal', 'seed=0', 'metrics.jsonl')
  before = open(metrics).read()
  again, _ = reproduce.reproduce('gan_parzen', root, runlocal=True, inception_weights='')
  assert open(metrics).read() == before
  assert again.split('\n', 3)[3] == text.split('\n', 3)[3]  # Same table (the date line aside).
  # A torn stop.json and hardware.json (a kill mid-write by an older version): read as absent,
  # not a traceback; training (nothing to do) writes stop.json again.
  tfd = os.path.join(root, 'tfd_gan-runlocal', 'seed=0')
  stop = open(os.path.join(tfd, 'stop.json')).read()
  open(os.path.join(tfd, 'stop.json'), 'w').close()
  with open(os.path.join(tfd, 'hardware.json'), 'w') as f:
    f.write('{"description": "1 x cpu')
  torn, failed = reproduce.reproduce('gan_parzen', root, runlocal=True, inception_weights='')
  assert not failed and open(os.path.join(tfd, 'stop.json')).read() == stop
  tfd_line = next(l for l in torn.splitlines() if l.startswith('| GAN, TFD |'))
  assert 'not recorded' in tfd_line
  assert tfd_line.replace('not recorded', '') == next(
      l for l in text.splitlines() if l.startswith('| GAN, TFD |')).replace(
          _read(os.path.join(root, 'mnist_gan-runlocal', 'seed=0', 'hardware.json'))[
              'description'], '')


def test_rows_name_what_to_run_when_their_data_is_absent(tmp_path, monkeypatch):
  monkeypatch.setattr(idx, 'MNIST_DIR', str(tmp_path / 'no_mnist'))
  monkeypatch.setitem(fetch_data.DATASETS, 'mnist', dataclasses.replace(
      fetch_data.DATASETS['mnist'], default_dir=idx.MNIST_DIR))
  monkeypatch.setattr(reproduce.sys, 'argv', ['reproduce.py', '--table=gan_parzen'])
  text, failed = reproduce.reproduce('gan_parzen', str(tmp_path / 'root'), runlocal=False,
                                     inception_weights='')
  assert [r['row'].label for r in failed] == ['MNIST, real data (held-out training rows)',
                                               'GAN, MNIST', 'GAN, MNIST, z ~ N(0, I)', 'GAN, TFD']
  mnist = next(l for l in text.splitlines() if l.startswith('| GAN, MNIST |'))
  assert ('rerun with --fetch, or first `python -m launch.fetch_data mnist '
          f'--dir={tmp_path / "no_mnist"}`') in mnist
  tfd = next(l for l in text.splitlines() if l.startswith('| GAN, TFD |'))
  assert 'data not available' in tfd
  assert '`python -m launch.reproduce --table=gan_parzen --tfd_path=PATH`' in tfd
  assert not os.path.exists(tmp_path / 'root' / 'mnist_gan')  # Nothing was trained.


@pytest.mark.slow
def test_the_offline_runlocal_table_runs_with_no_optional_dataset_installed(tmp_path, monkeypatch):
  """README's `launch.reproduce --table=offline --runlocal` on a bare machine: Fashion-MNIST
  absent, so its rows run on stand-in IDX files (images and labels) and say so."""
  monkeypatch.setattr(idx, 'FASHION_MNIST_DIR', str(tmp_path / 'no_fashion'))
  text, failed = reproduce.reproduce('offline', str(tmp_path / 'root'), runlocal=True,
                                     inception_weights='')
  assert not failed, [r['error'] for r in failed]
  fashion = [l for l in text.splitlines() if l.startswith('| Fashion-MNIST')]
  assert len(fashion) == 6 and all('(stand-in data)' in l and 'classifier IS' in l
                                   and 'KID (classifier)' in l for l in fashion)
  digits = [l for l in text.splitlines() if l.startswith('| sklearn digits')]
  assert len(digits) == 3 and not any('stand-in' in l for l in digits)  # sklearn ships them.
  # Precision / recall and density / coverage in every row of G's samples or real rows but the
  # ring's, each cell the numbers of the run's eval/summary.json.
  assert all(' P ' in l and ' D ' in l for l in fashion + digits)
  with open(tmp_path / 'root' / 'digits_gan-runlocal' / 'seed=0' / 'eval' / 'summary.json') as f:
    summary = json.load(f)
  pr, dc = summary['precision_recall'], summary['density_coverage']
  gan = next(l for l in digits if l.startswith('| sklearn digits, GAN |'))
  assert f'P {pr["precision"]:.3f}, R {pr["recall"]:.3f} (classifier)' in gan
  assert f'D {dc["density"]:.3f}, C {dc["coverage"]:.3f} (classifier)' in gan


def test_rows_are_chosen_by_label_and_an_unknown_one_is_one_line():
  table = tables.select(tables.TABLES['offline'], ['Fashion-MNIST 32x32'])
  assert [r.experiment for r in table.rows] == ['fashion_mnist_32_gan', 'fashion_mnist_32_gan',
                                                'fashion_mnist_32_dfm']
  assert tables.select(tables.TABLES['offline'], []) == tables.TABLES['offline']
  # A whole label is that row alone; part of one, every row that contains it.
  labels = [r.label for r in tables.select(tables.TABLES['gan_parzen'], ['GAN, MNIST']).rows]
  assert labels == ['GAN, MNIST']
  labels = [r.label for r in tables.select(tables.TABLES['gan_parzen'], ['GAN, MN']).rows]
  assert labels == ['GAN, MNIST', 'GAN, MNIST, z ~ N(0, I)']
  with pytest.raises(errors.ConfigError, match="--row=\\['Fashion 32'\\] matches no row") as info:
    tables.select(tables.TABLES['offline'], ['Fashion 32'])
  assert '\n' not in str(info.value) and 'Fashion-MNIST 32x32, Radford DCGAN' in str(info.value)


def test_an_optional_metric_without_its_input_does_not_stop_the_table(tmp_path, monkeypatch):
  """The offline 32x32 rows mark the Inception FID optional: without weights the table still
  runs them (here: every seed reached, then stopped by a stand-in error); the paper's Inception
  tables stop before training (test above)."""
  reached = []

  def run_seed(row, seed, *args, **kwargs):
    reached.append((row.experiment, seed))
    raise errors.DatasetUnavailableError('stopped here by the test')

  monkeypatch.setattr(reproduce, 'run_seed', run_seed)
  monkeypatch.setattr(seed_training, 'train_on_cores', lambda *args: False)  # (Hours of training.)
  text, failed = reproduce.reproduce('offline', str(tmp_path), runlocal=False,
                                     inception_weights='', only=['Fashion-MNIST 32x32'])
  assert reached == [('fashion_mnist_32_gan', 0), ('fashion_mnist_32_gan', 0),
                     ('fashion_mnist_32_dfm', 0)]  # Each row stops at its first seed.
  assert len(failed) == 3 and text.count('not run: stopped here by the test') == 3


def test_the_config_cell_names_the_images_and_fid_its_reference():
  """A DFM ImageNet row trained on the paper's central crops, its FID against published
  statistics: the table says both (from what the run recorded, not from the table's text)."""
  row = tables.TABLES['dfm_imagenet32'].rows[1]
  inception = {'is_mean': 9.0, 'is_std': 0.1, 'fid': 12.5, 'fid_reference': 'fid_stats.npz',
               'num_samples': 50000}
  pr = {'precision': 0.7, 'recall': 0.6, 'k': 3, 'rows': 10000, 'space': 'inception'}
  dc = {'density': 0.9, 'coverage': 0.8, 'k': 5, 'rows': 10000, 'space': 'inception'}
  result = {'summary': {'inception': inception, 'precision_recall': pr, 'density_coverage': dc},
            'seed': 0, 'steps': 10, 'epochs': None, 'stand_in': '', 'hardware': 'cpu',
            'seconds': 60.0, 'not_computed': {},
            'data': 'tfds imagenet2012, central crops box-resized to 32x32'}
  text = reproduce.markdown('dfm_imagenet32', tables.TABLES['dfm_imagenet32'],
                            [{'row': row, 'results': [result], 'root': '/r'}], False, 'cmd')
  line = next(l for l in text.splitlines() if l.startswith(f'| {row.label} |'))
  assert '`experiments/imagenet32_dfm.py` (tfds imagenet2012, central crops box-resized to ' \
         '32x32)' in line
  assert 'IS 9.00 ± 0.10, FID vs fid_stats.npz 12.50' in line
  assert 'P 0.700, R 0.600 (inception); D 0.900, C 0.800 (inception)' in line


@pytest.mark.slow  # ~30 s: two rows of five seeds trained one by one, then as populations.
def test_on_an_accelerator_a_rows_seeds_train_as_one_population(tmp_path, monkeypatch):
  """(The accelerator stood in for: trains_populations() says yes.) The seeds' workdirs are the
  table's, and each seed's numbers are those of its separate run (the loop form on a CPU:
  bit-identical; a GPU's vmap form agrees to rounding, tests/population_test.py)."""
  from gan_jax import population  # pylint: disable=g-import-not-at-top
  trained = []
  real = population.train
  monkeypatch.setattr(population, 'train', lambda config, workdir, dirs: trained.append(
      (config.seeds, dirs)) or real(config, workdir, dirs))
  separate, _ = reproduce.reproduce('offline', str(tmp_path / 'separate'), runlocal=True,
                                    inception_weights='', only=['Ring of 8 Gaussians'])
  assert trained == []  # On a CPU: one seed after another.
  monkeypatch.setattr(seed_training, 'trains_populations', lambda: True)
  together, failed = reproduce.reproduce('offline', str(tmp_path / 'pop'), runlocal=True,
                                         inception_weights='', only=['Ring of 8 Gaussians'])
  assert not failed
  root = str(tmp_path / 'pop')
  # (The text selects the GAN and the '+ DFM' rows: each row is one population.)
  assert trained == [('0,1,2,3,4', [os.path.join(root, f'{e}-runlocal', f'seed={s}')
                                    for s in range(5)]) for e in ('toy_ring_gan', 'toy_ring_dfm')]
  for label in ('Ring of 8 Gaussians, GAN |', 'Ring of 8 Gaussians, GAN + DFM |'):
    row = lambda text: next(l for l in text.splitlines() if l.startswith(f'| {label}'))
    # 'ours' (modes covered, mean ± s.e. over seeds), the seeds and the steps.
    cells = lambda text: [row(text).split(' | ')[i] for i in (2, 4, 5)]
    assert cells(together) == cells(separate) and 'modes' in cells(together)[0]
  for seed in range(5):
    a = _read(os.path.join(tmp_path, 'separate', 'toy_ring_gan-runlocal', f'seed={seed}', 'eval',
                           'summary.json'))
    b = _read(os.path.join(root, 'toy_ring_gan-runlocal', f'seed={seed}', 'eval', 'summary.json'))
    assert a['modes'] == b['modes']


def test_a_row_trained_before_on_the_host_pipeline_trains_seed_by_seed(tmp_path, monkeypatch):
  monkeypatch.setattr(seed_training, 'trains_populations', lambda: True)
  row = next(r for r in tables.TABLES['offline'].rows if r.label == 'Ring of 8 Gaussians, GAN')
  seed_0 = tmp_path / 'toy_ring_gan-runlocal' / 'seed=0'
  os.makedirs(seed_0)
  with open(seed_0 / 'config.json', 'w') as f:  # Its data came from the host pipeline.
    json.dump({'data': {'placement': 'host'}}, f)
  assert not seed_training.train_population(row, str(tmp_path), True, '')
  assert sorted(os.listdir(tmp_path / 'toy_ring_gan-runlocal')) == ['seed=0']  # Nothing trained.


@pytest.mark.slow  # ~40 s: a row of five seeds trained twice.
def test_on_a_cpu_a_rows_seeds_train_one_process_per_core(tmp_path, monkeypatch, capsys):
  """On this 2-core CPU the seeds train as pinned processes, two at a time, with exactly the
  config run_seed then evaluates (it finds them trained); the numbers are those of training in
  this process."""
  only = ['Ring of 8 Gaussians']  # The GAN and the GAN + DFM rows.
  on_cores, failed = reproduce.reproduce('offline', str(tmp_path / 'cores'), runlocal=True,
                                         inception_weights='', only=only)
  assert not failed
  started = [line for line in capsys.readouterr().out.splitlines() if 'started on core' in line]
  cores = sorted(os.sched_getaffinity(0))
  if len(cores) > 1:  # Five seeds of each of the two rows the label selects, pinned.
    assert len(started) == 10
    on = [re.search(r'started on cores? ([\d,]+), log', line).group(1) for line in started]
    assert {int(c) for text in on for c in text.split(',')} == set(cores[:5])
  else:  # One core: nothing to gain, trained in this process.
    assert not started
  monkeypatch.setattr(seed_training, 'train_on_cores', lambda *args: False)
  here, _ = reproduce.reproduce('offline', str(tmp_path / 'here'), runlocal=True,
                                inception_weights='', only=only)
  for label in ('Ring of 8 Gaussians, GAN |', 'Ring of 8 Gaussians, GAN + DFM |'):
    row = lambda text: next(l for l in text.splitlines() if l.startswith(f'| {label}'))
    cells = lambda text: [row(text).split(' | ')[i] for i in (2, 4, 5)]
    assert cells(on_cores) == cells(here) and 'modes' in cells(here)[0]
  for seed in range(5):
    workdirs = [tmp_path / where / 'toy_ring_gan-runlocal' / f'seed={seed}'
                for where in ('cores', 'here')]
    assert not (workdirs[1] / 'sweep.log').exists()
    if len(cores) > 1:
      log = (workdirs[0] / 'sweep.log').read_text()
      assert f'python -m gan_jax.main --config={seed_training.REPO_ROOT}/experiments/' in log
      assert (f'--config.seed={seed}' in log) == (seed != 0)  # (0: the experiment's own.)
    records = [[{k: v for k, v in json.loads(line).items() if 'per_sec' not in k}
                for line in (w / 'metrics.jsonl').read_text().splitlines()] for w in workdirs]
    assert records[0] == records[1]


def test_a_row_one_of_whose_seeds_trains_elsewhere_is_not_run(tmp_path, monkeypatch):
  """A seed's workdir held by another run (here: a lock this process holds, as a training run
  in another process would): the row is one line naming that seed and --progress, and nothing
  is started for any of its seeds. Released, the row runs."""
  root = str(tmp_path)
  only = ('Ring of 8 Gaussians, GAN + DFM',)
  row, = tables.select(tables.TABLES['offline'], only).rows
  held = rows.workdir(root, row, row.seeds[1], runlocal=True)
  os.makedirs(held)
  def never(*args, **kwargs):
    raise AssertionError('a row with a seed in use was run')
  with monkeypatch.context() as patch:
    for name in ('train_population', 'train_on_cores'):
      patch.setattr(seed_training, name, never)
    patch.setattr(reproduce, 'run_seed', never)
    with lock.WorkdirLock(held):
      text, failed = reproduce.reproduce('offline', root, runlocal=True, inception_weights='',
                                         only=only)
  assert len(failed) == 1
  assert failed[0]['error'].startswith(f'seed={row.seeds[1]} is training in another process '
                                       f'(PID {os.getpid()} ')
  assert '--progress' in failed[0]['error'] and failed[0]['error'] in text
  assert sorted(os.listdir(os.path.dirname(held))) == [os.path.basename(held)]
  monkeypatch.setattr(seed_training, 'train_on_cores', lambda *args: False)  # (Quicker here.)
  text, failed = reproduce.reproduce('offline', root, runlocal=True, inception_weights='',
                                     only=only)
  assert not failed and 'in another process' not in text
