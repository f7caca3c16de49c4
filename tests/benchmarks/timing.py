"""The per-call timing of the layer-level benchmarks (conv_layers.py, gemm_ceiling.py)."""
import time


def best_ms(run, rounds: int, repeats: int) -> float:
  """ms per call of `run` (which must wait for its result): one warm-up call, then the fastest
  of `rounds` rounds of `repeats` calls."""
  run()
  best = float('inf')
  for _ in range(rounds):
    start = time.perf_counter()
    for _ in range(repeats):
      run()
    best = min(best, (time.perf_counter() - start) / repeats)
  return best * 1e3
