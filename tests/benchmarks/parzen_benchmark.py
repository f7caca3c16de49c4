r"""Benchmark: the MNIST Parzen protocol at full size on this machine.

  python tests/benchmarks/parzen_benchmark.py

10,000 "generator samples" x 784 dimensions; sigma chosen among 10 values on 1,000 validation
points, then 10,000 test points at that sigma. Uses real Fashion-MNIST images when installed
(training rows as the centres, test rows as the points), random pixels otherwise. Prints the wall
time, the process's peak memory growth, and the largest difference from a float64 numpy
evaluation of the formula on 200 of the points. Target: <= 5 s in total, < 2 GB.
"""
import math
import os
import resource
import sys
import time

import numpy as np
from scipy import special

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from gan_jax import data  # pylint: disable=g-import-not-at-top
from gan_jax.evaluation import parzen


def _peak_rss_bytes() -> int:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _sets():
  try:
    config = data.default_config('idx')
    train = data.to_float(data.load_split(config, 'train')).reshape(-1, 784)
    test = data.to_float(data.load_split(config, 'test')).reshape(-1, 784)
    return train[:10000], train[40000:41000], test[:10000], 'Fashion-MNIST images'
  except data.errors.DatasetUnavailableError:
    rng = np.random.default_rng(0)
    return (rng.random((10000, 784), np.float32), rng.random((1000, 784), np.float32),
            rng.random((10000, 784), np.float32), 'random pixels')


def _float64_reference(samples, x, sigma):
  samples, x = samples.astype(np.float64), x.astype(np.float64)
  sq = (np.sum(x**2, 1)[:, None] - 2 * x @ samples.T + np.sum(samples**2, 1)[None])
  sq = np.maximum(sq, 0)
  return (special.logsumexp(-sq / (2 * sigma**2), axis=1) - math.log(len(samples))
          - samples.shape[1] * math.log(sigma * math.sqrt(2 * math.pi)))


def main():
  samples, valid, test, source = _sets()
  sigmas = np.logspace(-1, 0, 10)
  parzen.evaluate_parzen(samples[:100], valid[:10], test[:10], sigmas)  # Compile.
  baseline = _peak_rss_bytes()
  start = time.perf_counter()
  result = parzen.evaluate_parzen(samples, valid, test, sigmas)
  seconds = time.perf_counter() - start
  growth = _peak_rss_bytes() - baseline
  check = _float64_reference(samples, test[:200], result['sigma'])
  error = np.max(np.abs(parzen.parzen_log_likelihood(samples, test[:200], result['sigma']) - check))
  print(f'data: {source}; 10,000 samples x 784; 1,000 validation x 10 sigmas + 10,000 test')
  print(f'time: {seconds:.2f} s; peak memory growth: {growth / 2**20:.0f} MiB '
        f'(process peak {_peak_rss_bytes() / 2**20:.0f} MiB)')
  print(f'sigma = {result["sigma"]:.4f}; test LL = {result["mean"]:.2f} +- {result["stderr"]:.2f}')
  print(f'max |ours - float64 numpy| on 200 test points: {error:.2e} nats')


if __name__ == '__main__':
  main()
