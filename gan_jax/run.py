"""One run's host side: its workdir's checkpoints, metrics log, samples, evaluations, stopping
rule and stop.json, acted on between compiled calls (the periodic actions of gan_jax/periodic.py).

A single-seed run has one; a population (gan_jax/population.py) has one per seed, each writing
its own workdir exactly as a single run of that seed does. Only process 0 writes; every process
takes the same decisions (process 0's values, broadcast).
"""
import json
import os
import time
from typing import List, Optional

from absl import logging
import jax
import numpy as np

from gan_jax import checkpointing
from gan_jax import cpu_kernels
from gan_jax import early_stopping
from gan_jax import errors
from gan_jax import metrics_log
from gan_jax import models
from gan_jax import optim
from gan_jax import parallel
from gan_jax import periodic
from gan_jax import records
from gan_jax import state as state_lib
from gan_jax.evaluation import figures
from gan_jax.evaluation import metrics as metrics_lib
from gan_jax.evaluation.metrics import base as metrics_base
from gan_jax.models import prior

# Why a run ended (stop.json's stopped_by).
CONVERGED, REACHED = 'early_stopping', 'num_train_steps'


def check_losses(history: List[dict], first_step: int, checkpointer, max_abs_loss: float) -> None:
  """Stops a diverged run: a NaN or Inf metric, or a loss beyond ±max_abs_loss (0: no bound)."""
  for offset, metrics in enumerate(history):
    for key, value in metrics.items():
      exploded = max_abs_loss > 0 and not optim.is_hyperparam(key) and abs(value) > max_abs_loss
      if np.isfinite(value) and not exploded:
        continue
      last_good = checkpointer.latest_step()
      kept = (f'the last good checkpoint (step {last_good}) is kept in {checkpointer.directory}'
              if last_good is not None else 'no checkpoint had been written')
      where = (f'at step {first_step + offset} (steps {first_step}-'
               f'{first_step + len(history) - 1} were checked)')
      if not np.isfinite(value):
        raise errors.NonFiniteLossError(
            f'{key} became {value} {where}; training stopped and {kept}; lower '
            'config.optimizer.learning_rate or change the model')
      raise errors.DivergenceError(
          f'{key} reached {value:.3g} {where}, beyond config.max_abs_loss={max_abs_loss:g}: '
          f'training diverged; it stopped and {kept}; lower config.optimizer.learning_rate or '
          'change the model (config.max_abs_loss=0 turns this guard off)')


def _summarise(history: List[dict]) -> dict:
  """Means over the logging interval; hyperparameters at its last step."""
  return {k: history[-1][k] if optim.is_hyperparam(k) else float(np.mean([m[k] for m in history]))
          for k in history[-1]}


def _per_iteration(calls: List[dict]) -> List[dict]:
  """Each call's metrics, stacked over its iterations, as one dict per iteration."""
  return [{key: values[i] for key, values in metrics.items()}
          for metrics in calls for i in range(len(next(iter(metrics.values()))))]


def _evaluate(config, evaluators, g_state, step: int) -> dict:
  """The configured metrics of G at `step`, as 'eval/<metric>/<name>' scalars."""
  results = metrics_lib.run(evaluators, metrics_base.GeneratedSamples(config, g_state,
                                                                      f'step_{step}'))
  logging.info('step %d: %s', step, metrics_lib.describe(results))
  return metrics_lib.scalars(results)


def log_networks(config, state: state_lib.GANState) -> None:
  """Every network's hyperparameters, size and optimizer, once at the start of a run."""
  networks = (('generator', state.generator, config.generator, config.optimizer),
              ('discriminator', state.discriminator, config.discriminator, config.optimizer),
              ('denoiser', state.denoiser, config.dfm.denoiser, config.dfm.optimizer))
  for role, network, model_config, opt_config in networks:
    if network is None:
      continue
    logging.info('%s: %s parameters; %s; optimizer %s', role,
                 f'{models.parameter_count(network.params):,}',
                 json.dumps(model_config.to_dict(), default=str),
                 json.dumps(opt_config.to_dict(), default=str))


def _cpu_cores() -> str:
  """'2 CPU cores', or '1 of 2 CPU cores' for a process pinned to some of them (taskset,
  launch.reproduce's one process per core)."""
  machine = os.cpu_count() or 1
  usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else machine
  cores = f'CPU core{"s" if machine > 1 else ""}'
  return f'{machine} {cores}' if usable >= machine else f'{usable} of {machine} {cores}'


def write_hardware(workdir: str) -> None:
  """workdir/hardware.json: what this session of the run trains on (tables report it)."""
  device = jax.devices()[0]
  description = (f'{jax.device_count()} x {device.device_kind}'
                 + (f' on {jax.process_count()} hosts' if jax.process_count() > 1 else '')
                 + (f' ({_cpu_cores()})' if device.platform == 'cpu' else ''))
  records.write(os.path.join(workdir, 'hardware.json'),
                {'description': description, 'platform': device.platform,
                 'device_kind': device.device_kind, 'devices': jax.device_count(),
                 'processes': jax.process_count()})


def write_stop(workdir: str, record) -> None:
  """workdir/stop.json: the step and epoch a finished run ended at and why (the tables report
  it); None removes it (the run trains on)."""
  path = os.path.join(workdir, 'stop.json')
  if record is None:
    if os.path.exists(path):
      os.remove(path)
    return
  records.write(path, record)


class Run:
  """The host side of one run, from restoring its checkpoint to its stop.json.

  `restore(state)` -> (state, data position or None); then, unless `ended` says the run has
  nothing left to do, `begin()` once and `after(step, state, metrics, preempted)` after every
  call, which acts on what is due at `step` and returns why the run ended there (CONVERGED,
  REACHED) or None; `close()` always.
  """

  def __init__(self, config, workdir: str, dataset, evaluators, sample_rng, primary: bool):
    self.config, self.workdir, self._dataset = config, workdir, dataset
    self._evaluators, self._primary = evaluators, primary
    # The selection metric, when it is evaluated during training: it may end the run, and the
    # best checkpoint by it is kept beside the newest config.keep_checkpoints.
    self._selection = (early_stopping.monitored_key(config) if config.eval.every_steps
                       else None)
    keep_steps = tuple(config.get('keep_checkpoint_steps', ()))
    self.checkpointer = checkpointing.Checkpointer(
        os.path.join(workdir, 'checkpoints'), keep=config.keep_checkpoints,
        save_interval_steps=config.checkpoint_every_steps, best_metric=self._selection,
        config=config, keep_steps=keep_steps)
    self._fixed_z = prior.sample_noise(sample_rng, config.num_samples, config.noise.dim,
                                       config.noise.prior)
    self._generate = cpu_kernels.jit(lambda g, z: g.forward(g.params, z, train=False)[0])
    self.schedule = periodic.Schedule((periodic.Every('log', config.log_every_steps),
                                       periodic.Every('checkpoint', config.checkpoint_every_steps),
                                       periodic.Every('evaluate', config.eval.every_steps),
                                       periodic.Every('sample', config.sample_every_steps),
                                       periodic.At('keep', keep_steps)),
                                      last=config.num_train_steps)
    self._log = None
    self._history = []
    self.label = ''  # 'seed N: ' in a population's log lines.

  def restore(self, state):
    restored = self.checkpointer.restore(state)
    if restored is None:
      return state, None
    step, state, data_state = restored
    logging.info('Resumed from the checkpoint at step %d.', step)
    return state, data_state

  def _stop_record(self, step: int, why_key: str, why: str) -> dict:
    return {'step': step, 'epoch': step / self._dataset.steps_per_epoch, 'stopped_by': why_key,
            'reason': why}

  def ended(self, start: int) -> bool:
    """Whether the run has already ended at `start` (trained to its length, or stopped by its
    rule); stop.json is written again, in case it was lost or torn."""
    config, rule = self.config, self.config.early_stopping
    if start >= config.num_train_steps:
      logging.info('Already trained for %d steps; nothing to do.', start)
      recorded = records.read(os.path.join(self.workdir, 'stop.json'))
      # A run its rule stopped at this very step keeps that record (why and when it stopped),
      # whatever shorter length it is now given.
      if self._primary and not (recorded.get('stopped_by') == CONVERGED
                                and recorded.get('step') == start):
        write_stop(self.workdir, self._stop_record(
            start, REACHED, f'reached num_train_steps={config.num_train_steps}'))
      return True
    self._log = metrics_log.MetricsLog(self.workdir, config.num_train_steps, start,
                                       enabled=self._primary)
    self._progress = early_stopping.progress(
        early_stopping.evaluations(self._log.records, self._selection, config.eval.every_steps)
        if self._selection else [], rule.min_delta)
    if parallel.from_primary(float(early_stopping.should_stop(self._progress, rule.patience))):
      why = early_stopping.reason(self._progress, self._selection, rule.patience,
                                  rule.min_delta)
      logging.info('Already stopped at step %d: %s.', start, why)
      if self._primary:
        write_stop(self.workdir, self._stop_record(start, CONVERGED, why))
      return True
    return False

  def begin(self) -> None:
    if self._primary:
      write_hardware(self.workdir)
      write_stop(self.workdir, None)  # Training again: the previous end no longer holds.

  def after(self, step: int, state, metrics: dict, data_position: dict,
            preempted: bool) -> Optional[str]:
    """Acts on what is due at `step`, `state` the replicated state reached, `metrics` the last
    call's (stacked over its iterations)."""
    config, rule, selection = self.config, self.config.early_stopping, self._selection
    self._history.append(metrics)
    due = self.schedule.due(step)
    last = step == config.num_train_steps
    # Every process evaluates on the same steps (process 0 computes, all act on the result).
    evaluate_now = bool(config.eval.every_steps) and due['evaluate']
    checkpoint_now = (due['checkpoint'] or due['keep'] or preempted
                      or (evaluate_now and selection is not None))
    scores, converged = {}, False
    if due['log'] or checkpoint_now or evaluate_now:
      # Fetching the metrics waits for the device: done once per interval, not per call.
      host = _per_iteration(parallel.unreplicate(self._history))
      check_losses(host, step - len(host) + 1, self.checkpointer, config.max_abs_loss)
      started = time.monotonic()
      scores = (_evaluate(config, self._evaluators, parallel.unreplicate(state.generator), step)
                if evaluate_now and self._evaluators else {})
      self._log.write(step, {**_summarise(host), 'epoch': step / self._dataset.steps_per_epoch,
                             **scores}, untimed_seconds=time.monotonic() - started)
      self._history = []
      if evaluate_now and selection is not None:
        scores = {selection: parallel.from_primary(scores.get(selection, float('nan')))}
        if early_stopping.counts(step, config.eval.every_steps):
          self._progress = early_stopping.update(self._progress, step, scores[selection],
                                                 rule.min_delta)
          # Process 0's decision (only it read the history back from metrics.jsonl).
          converged = bool(parallel.from_primary(float(
              early_stopping.should_stop(self._progress, rule.patience) and not last)))
    if self._primary and due['sample']:
      samples = self._generate(parallel.unreplicate(state.generator), self._fixed_z)
      image = figures.samples_figure(np.asarray(samples))
      figures.write_png(os.path.join(self.workdir, 'samples', f'step_{step:06d}.png'), image,
                        scale=max(1, 512 // image.shape[1]))
      self._log.write_image(step, 'samples', image)
    if checkpoint_now:  # (Every evaluation with a selection metric is one.)
      self.checkpointer.save(step, parallel.unreplicate(state), data_position, force=True,
                             metrics=scores if selection in scores else None)
    if not (converged or last):
      return None
    why = (early_stopping.reason(self._progress, selection, rule.patience, rule.min_delta)
           if converged else f'reached num_train_steps={config.num_train_steps}')
    logging.info('%sStopped at step %d of %d (epoch %.1f): %s.', self.label, step,
                 config.num_train_steps, step / self._dataset.steps_per_epoch, why)
    if self._primary:
      write_stop(self.workdir, self._stop_record(step, CONVERGED if converged else REACHED, why))
    return CONVERGED if converged else REACHED

  def close(self) -> None:
    try:
      self.checkpointer.wait()  # A failed asynchronous write (a full disk) is raised here.
    finally:
      self.checkpointer.close()
      if self._log is not None:
        self._log.close()
