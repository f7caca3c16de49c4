"""Launching experiments: sweeps over a grid of config overrides, locally or on a TPU pod.

grid.py      the grid helpers an experiment file's `sweep()` uses (pure Python)
overrides.py a point applied to the locked config, as `--config.k=v` flags, as a workdir name
plan.py      a sweep's runs: every point applied, validated and round-tripped before any runs
executors.py local process pool, TPU pod over gcloud ssh, printing the commands
priority.py  a background run's CPU priority under Linux's per-session scheduling groups
sweep.py     the CLI: python -m launch.sweep --config=experiments/NAME.py --executor=...
tpu_pod.sh   prepares a TPU VM worker (venv, requirements, jax[tpu])
"""
