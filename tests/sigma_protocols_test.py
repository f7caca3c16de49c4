"""launch/sigma_protocols.py: kept checkpoints scored under three σ protocols, against the
evaluation's own numbers and an independent Parzen computation."""
import os

import numpy as np
import pytest

from gan_jax import data
from gan_jax import evaluate
from gan_jax import records
from gan_jax import train
from gan_jax.evaluation import parzen
from gan_jax.evaluation import sampling
from launch import sigma_protocols

from conftest import small_config


@pytest.fixture
def protocols(monkeypatch):
  """The three protocols at the tiny run's sizes: 40 and all validation rows, 4 and 6 widths."""
  small = {'released': dict(sigmas=(0.1, 0.2, 0.4, 0.8), num_validation=40, refine_sigma=False),
           'log15_10k': dict(sigmas=tuple(np.logspace(-1, 0, 6)), num_validation=0,
                             refine_sigma=False),
           'refined': dict(sigmas=(0.1, 0.2, 0.4, 0.8), num_validation=40, refine_sigma=True)}
  monkeypatch.setattr(sigma_protocols, 'PROTOCOLS', small)
  return small


def test_every_kept_checkpoint_under_each_protocol(tmp_path, protocols, monkeypatch):
  config = small_config(keep_checkpoints=2)
  config.eval.metrics = ('parzen',)
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(config, workdir)
  scores = sigma_protocols.score_workdir(config, workdir)
  assert sorted(scores) == [4, 6]
  # The released column is the evaluation's own number for that checkpoint (same samples).
  released = sigma_protocols.protocol_config(config, 'released')
  evaluate.evaluate(released, workdir, all_checkpoints=True)
  for step in (4, 6):
    record = records.read(os.path.join(workdir, 'eval', f'step_{step:06d}.json'))['parzen']
    assert scores[step]['released']['test_ll'] == pytest.approx(record['test_ll'], abs=1e-9)
    assert scores[step]['released']['sigma'] == pytest.approx(record['sets'][0]['sigma'])
  # The others, independently: the checkpoint's samples and parzen.evaluate_parzen.
  run = evaluate.Run(config, workdir)
  centres = np.asarray(sampling.generate(run.state(6).generator,
                                         sampling.noise(config, config.eval.num_samples, 0),
                                         config.eval.sample_batch_norm))
  valid = data.to_float(data.load_split(config.data, 'validation'))
  test = data.to_float(data.load_split(config.data, 'test'))[:config.eval.num_test or None]
  assert len(valid) > 40  # So that the two validation sets differ.
  for name, rows in (('log15_10k', valid), ('refined', valid[:40])):
    expected = parzen.evaluate_parzen(centres.reshape(len(centres), -1), rows, test,
                                      sigmas=protocols[name]['sigmas'],
                                      refine=protocols[name]['refine_sigma'])
    assert scores[6][name]['test_ll'] == pytest.approx(expected['mean'], rel=1e-6)
    assert scores[6][name]['sigma'] == pytest.approx(expected['sigma'])
  # Kept: a second call scores nothing and gives the same numbers; other settings rescore.
  from gan_jax.evaluation import protocols as protocols_lib  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(protocols_lib, 'evaluate', lambda *a: pytest.fail('rescored'))
  assert sigma_protocols.score_workdir(config, workdir) == scores
  protocols['refined'] = dict(protocols['refined'], num_validation=41)
  with pytest.raises(pytest.fail.Exception, match='rescored'):
    sigma_protocols.score_workdir(config, workdir)


def test_the_table_states_each_protocol_s_gain_over_the_released_one(protocols):
  del protocols
  result = lambda ll, sigma: {'test_ll': ll, 'test_stderr': 2.0, 'sigma': sigma,
                              'validation_ll': 0.0}
  scores = {0: {100: {'released': result(200.0, 0.17), 'log15_10k': result(203.0, 0.16),
                      'refined': result(207.0, 0.18)}},
            1: {100: {'released': result(210.0, 0.17), 'log15_10k': result(211.0, 0.16),
                      'refined': result(216.0, 0.18)}}}
  lines = sigma_protocols.markdown('GAN, MNIST', scores, {0: 50.0, 1: 50.0})
  assert ('| 0 | 2 | 200.00 ± 2.00 (0.17) | 203.00 ± 2.00 (0.16) | 207.00 ± 2.00 (0.18) |'
          in lines)
  assert any(line.startswith('- 15 log σ, 10,000 rows − released: +2.00 nats on average over 2 '
                             'checkpoints (from +1.00 to +3.00)') for line in lines)
  assert any(line.startswith('- refined σ − released: +6.50 nats') for line in lines)
