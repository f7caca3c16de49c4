"""train_and_evaluate(config, workdir): build, restore, run Algorithm 1, log, sample, checkpoint.

The step runs under pmap over every device (gan_jax/parallel.py), on one process or many; only
process 0 writes config.json, metrics and samples, and holds the workdir's lock (gan_jax/lock.py)
for the whole run. SIGTERM (how TPU VMs are preempted) and SIGINT (Ctrl-C) end the run after a
checkpoint of the step reached, raising errors.Preempted; the same command resumes. Every input
that can be wrong is checked before the workdir is touched.
"""
import contextlib
import copy
import json
import os
import signal
import time
from typing import List

from absl import logging
import jax
import numpy as np

from gan_jax import checkpointing
from gan_jax import config_checks
from gan_jax import data
from gan_jax import early_stopping
from gan_jax import errors
from gan_jax import interrupts
from gan_jax import lock
from gan_jax import memory
from gan_jax import metrics_log
from gan_jax import models
from gan_jax import optim
from gan_jax import parallel
from gan_jax import periodic
from gan_jax import records
from gan_jax import state as state_lib
from gan_jax import workdir as workdir_lib
from gan_jax.data import on_device
from gan_jax.evaluation import figures
from gan_jax.evaluation import metrics as metrics_lib
from gan_jax.evaluation.metrics import base as metrics_base
from gan_jax.models import prior

def _check_losses(history: List[dict], first_step: int, checkpointer, max_abs_loss: float) -> None:
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


# Iterations per compiled call where config.steps_per_call is 0. On an accelerator a long call
# hides the host's per-call cost; on this project's 2-core CPU it measured fastest too
# (tests/benchmarks/steps_per_call.py, MNIST: 18.7 ms an iteration at 500 a call, 22.3 at 1,
# 32.0 for the loop before calls existed), so one default serves every platform.
DEFAULT_STEPS_PER_CALL = 500


def steps_per_call(config) -> int:
  return config.get('steps_per_call', 0) or DEFAULT_STEPS_PER_CALL


def _per_iteration(calls: List[dict]) -> List[dict]:
  """Each call's metrics, stacked over its iterations, as one dict per iteration."""
  return [{key: values[i] for key, values in metrics.items()}
          for metrics in calls for i in range(len(next(iter(metrics.values()))))]


def _summarise(history: List[dict]) -> dict:
  """Means over the logging interval; hyperparameters at its last step."""
  return {k: history[-1][k] if optim.is_hyperparam(k) else float(np.mean([m[k] for m in history]))
          for k in history[-1]}


def _write_samples(workdir, step, samples, log) -> None:
  image = figures.samples_figure(np.asarray(samples))
  figures.write_png(os.path.join(workdir, 'samples', f'step_{step:06d}.png'), image,
                    scale=max(1, 512 // image.shape[1]))
  log.write_image(step, 'samples', image)


def _log_networks(config, state: state_lib.GANState) -> None:
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


def _write_hardware(workdir: str) -> None:
  """workdir/hardware.json: what this session of the run trains on (tables report it)."""
  device = jax.devices()[0]
  description = (f'{jax.device_count()} x {device.device_kind}'
                 + (f' on {jax.process_count()} hosts' if jax.process_count() > 1 else '')
                 + (f' ({os.cpu_count()} CPU cores)' if device.platform == 'cpu' else ''))
  records.write(os.path.join(workdir, 'hardware.json'),
                {'description': description, 'platform': device.platform,
                 'device_kind': device.device_kind, 'devices': jax.device_count(),
                 'processes': jax.process_count()})


def _write_stop(workdir: str, record) -> None:
  """workdir/stop.json: the step and epoch a finished run ended at and why (the tables report
  it); None removes it (the run trains on)."""
  path = os.path.join(workdir, 'stop.json')
  if record is None:
    if os.path.exists(path):
      os.remove(path)
    return
  records.write(path, record)


def _stop_record(step: int, dataset, converged: bool, why: str) -> dict:
  return {'step': step, 'epoch': step / dataset.steps_per_epoch,
          'stopped_by': 'early_stopping' if converged else 'num_train_steps', 'reason': why}


def train_and_evaluate(config, workdir: str) -> state_lib.GANState:
  """Trains (resuming from workdir/checkpoints when there are any); returns the final state."""
  workdir_lib.check_usable(workdir)
  config_checks.validate(config)
  parallel.check_batch_size(config.batch_size)
  spec = parallel.step_spec(config)
  # Everything that can fail on bad input happens before the workdir is touched.
  dataset = data.get_dataset(config.data, 'train', batch_size=config.batch_size,
                             batches_per_step=spec.batches_per_step, seed=config.seed,
                             shard=parallel.data_shard())
  # config.json records the placement chosen ('auto' resolved), so that a resume keeps it.
  placement, why = on_device.resolve(config.data.placement, dataset.examples,
                                     workdir_lib.recorded(workdir, 'data.placement'))
  config = copy.deepcopy(config)
  with config.unlocked():
    config.data.placement = placement
  init_rng, train_rng, sample_rng = jax.random.split(jax.random.PRNGKey(config.seed), 3)
  memory.check_fits(jax.eval_shape(
      lambda r: state_lib.create_train_state(config, dataset, spec, r), init_rng))
  state = state_lib.create_train_state(config, dataset, spec, init_rng)
  primary = parallel.is_primary()
  # The metrics evaluated during training (config.eval.every_steps), their inputs loaded now.
  evaluators = (metrics_lib.build(config, metrics_lib.Context(config, dataset.examples))
                if primary and config.eval.every_steps else {})
  with contextlib.ExitStack() as held:
    if primary:
      workdir_lib.check_resumable(workdir, config)  # Read-only checks first.
      try:
        os.makedirs(workdir, exist_ok=True)
        held.enter_context(lock.WorkdirLock(workdir))
        workdir_lib.prepare(workdir, config)
      except OSError as e:
        raise errors.WorkdirError(f'cannot write to --workdir={workdir} ({e.strerror}); choose a '
                                  'writable --workdir') from e
    on_device.log_choice(placement, why)
    return _train(config, workdir, dataset, spec, state, (train_rng, sample_rng), primary,
                  evaluators)


def _evaluate(config, evaluators, g_state, step: int) -> dict:
  """The configured metrics of G at `step`, as 'eval/<metric>/<name>' scalars."""
  results = metrics_lib.run(evaluators, metrics_base.GeneratedSamples(config, g_state,
                                                                      f'step_{step}'))
  logging.info('step %d: %s', step, metrics_lib.describe(results))
  return metrics_lib.scalars(results)


def _train(config, workdir, dataset, spec, state, rngs, primary,
           evaluators) -> state_lib.GANState:
  """The loop of train_and_evaluate, once the workdir is this run's."""
  train_rng, sample_rng = rngs
  logging.info('Training on %d device(s) (%s), %d process(es); workdir %s', jax.device_count(),
               jax.devices()[0].platform, jax.process_count(), workdir)
  _log_networks(config, state)

  # The selection metric, when it is evaluated during training: it may end the run, and the best
  # checkpoint by it is kept beside the newest config.keep_checkpoints.
  selection = early_stopping.monitored_key(config) if config.eval.every_steps else None
  checkpointer = checkpointing.Checkpointer(os.path.join(workdir, 'checkpoints'),
                                            keep=config.keep_checkpoints,
                                            save_interval_steps=config.checkpoint_every_steps,
                                            best_metric=selection, config=config)
  train_calls = parallel.TrainCalls(spec, dataset, config.data.placement, config.seed)
  restored = checkpointer.restore(state)
  if restored is not None:
    step, state, data_state = restored
    train_calls.position.set_state(data_state)
    logging.info('Resumed from the checkpoint at step %d.', step)
  start = int(state.step)
  if start >= config.num_train_steps:
    logging.info('Already trained for %d steps; nothing to do.', start)
    checkpointer.close()
    if primary:  # (Again, in case it was lost or torn.)
      _write_stop(workdir, _stop_record(start, dataset, False,
                                        f'reached num_train_steps={config.num_train_steps}'))
    return state

  fixed_z = prior.sample_noise(sample_rng, config.num_samples, config.noise.dim,
                               config.noise.prior)
  generate = jax.jit(lambda g, z: g.forward(g.params, z, train=False)[0])
  log = metrics_log.MetricsLog(workdir, config.num_train_steps, start, enabled=primary)
  rule = config.early_stopping
  progress = early_stopping.progress(
      early_stopping.evaluations(log.records, selection, config.eval.every_steps)
      if selection else [], rule.min_delta)
  if parallel.from_primary(float(early_stopping.should_stop(progress, rule.patience))):
    why = early_stopping.reason(progress, selection, rule.patience, rule.min_delta)
    logging.info('Already stopped at step %d: %s.', start, why)
    log.close()
    checkpointer.close()
    if primary:  # (Again, in case it was lost or torn.)
      _write_stop(workdir, _stop_record(start, dataset, True, why))
    return state
  if primary:
    _write_hardware(workdir)
    _write_stop(workdir, None)  # Training again: the previous end no longer holds.
  # What the host does between calls, and where each call must end so that it lands there.
  schedule = periodic.Schedule((periodic.Every('log', config.log_every_steps),
                                periodic.Every('checkpoint', config.checkpoint_every_steps),
                                periodic.Every('evaluate', config.eval.every_steps),
                                periodic.Every('sample', config.sample_every_steps)),
                               last=config.num_train_steps)
  per_call = steps_per_call(config)
  logging.info('%d iteration(s) per compiled call.', per_call)
  stop = interrupts.StopRequest()
  train_calls.start(start)
  state = parallel.replicate(state)
  history, step = [], start
  try:
    while step < config.num_train_steps:
      n = schedule.call_length(step, per_call)
      state, metrics = train_calls.run(state, train_rng, n)
      history.append(metrics)
      step += n
      due = schedule.due(step)
      last = step == config.num_train_steps
      preempted = stop.reached(step)
      # Every process evaluates on the same steps (process 0 computes, all act on the result).
      evaluate_now = bool(config.eval.every_steps) and due['evaluate']
      checkpoint_now = (due['checkpoint'] or preempted
                        or (evaluate_now and selection is not None))
      scores, converged = {}, False
      if due['log'] or checkpoint_now or evaluate_now:
        # Fetching the metrics waits for the device: done once per interval, not per call.
        host = _per_iteration(parallel.unreplicate(history))
        _check_losses(host, step - len(host) + 1, checkpointer, config.max_abs_loss)
        started = time.monotonic()
        scores = (_evaluate(config, evaluators, parallel.unreplicate(state.generator), step)
                  if evaluate_now and evaluators else {})
        log.write(step, {**_summarise(host), 'epoch': step / dataset.steps_per_epoch, **scores},
                  untimed_seconds=time.monotonic() - started)
        history = []
        if evaluate_now and selection is not None:
          scores = {selection: parallel.from_primary(scores.get(selection, float('nan')))}
          if early_stopping.counts(step, config.eval.every_steps):
            progress = early_stopping.update(progress, step, scores[selection], rule.min_delta)
            # Process 0's decision (only it read the history back from metrics.jsonl).
            converged = bool(parallel.from_primary(float(
                early_stopping.should_stop(progress, rule.patience) and not last)))
      if primary and due['sample']:
        _write_samples(workdir, step, generate(parallel.unreplicate(state.generator), fixed_z),
                       log)
      if checkpoint_now:  # (Every evaluation with a selection metric is one.)
        checkpointer.save(step, parallel.unreplicate(state), train_calls.position.get_state(),
                          force=True, metrics=scores if selection in scores else None)
      if converged or (last and primary):
        why = (early_stopping.reason(progress, selection, rule.patience, rule.min_delta)
               if converged else f'reached num_train_steps={config.num_train_steps}')
        logging.info('Stopped at step %d of %d (epoch %.1f): %s.', step, config.num_train_steps,
                     step / dataset.steps_per_epoch, why)
        if primary:
          _write_stop(workdir, _stop_record(step, dataset, converged, why))
      if converged:
        break
      if preempted and not last:
        what = 'preempted' if stop.signum == signal.SIGTERM else interrupts.describe(stop.signum)
        raise errors.Preempted(f'{what}: stopped after step {step} with its checkpoint written; '
                               'run the same command to resume', stop.signum)
  finally:
    stop.close()
    try:
      checkpointer.wait()  # A failed asynchronous write (a full disk) is raised here.
    finally:
      checkpointer.close()
      log.close()
  return parallel.unreplicate(state)
