"""train_and_evaluate(config, workdir): build, restore, run Algorithm 1, log, sample, checkpoint.

Training runs in compiled calls of up to config.steps_per_call iterations (gan_jax/calls.py)
under jit over every device (gan_jax/parallel.py), on one process or many; between calls the
host acts on what is due (gan_jax/run.py). Only process 0 writes config.json, metrics and
samples, and holds the workdir's lock (gan_jax/lock.py) for the whole run. SIGTERM (how TPU VMs
are preempted) and SIGINT (Ctrl-C) end the run after a checkpoint of the step reached, raising
errors.Preempted; the same command resumes. Every input that can be wrong is checked before the
workdir is touched. With config.seeds the run is a population (gan_jax/population.py).
"""
import contextlib
import copy
import dataclasses
import os
import signal
from typing import Any

from absl import logging
import jax

from gan_jax import config_checks
from gan_jax import data
from gan_jax import errors
from gan_jax import interrupts
from gan_jax import lock
from gan_jax import memory
from gan_jax import parallel
from gan_jax import run as run_lib
from gan_jax import state as state_lib
from gan_jax import workdir as workdir_lib
from gan_jax.data import on_device
from gan_jax.evaluation import metrics as metrics_lib

# Iterations per call where config.steps_per_call is 0: in the loop form, long calls hide the
# host's per-call cost (on this 2-core CPU the MNIST MLP ran 13.8 ms an iteration at 500 a call
# against 15.3 at 1, tests/benchmarks/steps_per_call.py); in the steps form (convolutional
# networks on a CPU) a call is one dispatch an iteration either way, and 1 keeps the host's
# actions and signals at the next step.
STEPS_PER_CALL = {'loop': 500, 'steps': 1}


def steps_per_call(config) -> int:
  return config.get('steps_per_call', 0) or STEPS_PER_CALL[
      parallel.call_form(config)]


@dataclasses.dataclass
class Built:
  """What a run trains, built and checked before its workdir is touched."""
  config: Any  # With 'auto' placement resolved (config.json records the choice).
  dataset: data.Dataset
  spec: Any
  state: state_lib.GANState
  train_rng: jax.Array
  sample_rng: jax.Array
  evaluators: dict
  placement_why: str


def build(config, workdir: str, examples=None) -> Built:
  """Checks `config`, loads its training split (or takes `examples`, a population's shared
  split), resolves the placement against the workdir's record, and creates the initial state."""
  workdir_lib.check_usable(workdir)
  config_checks.validate(config)
  parallel.check_batch_size(config.batch_size)
  spec = parallel.step_spec(config)
  if examples is None:
    examples = data.load_split(config.data, 'train')
  dataset = data.dataset_of(examples, batch_size=config.batch_size,
                            batches_per_step=spec.batches_per_step, seed=config.seed,
                            shard=parallel.data_shard())
  placement, why = on_device.resolve(config.data.placement, dataset.examples,
                                     workdir_lib.recorded(workdir, 'data.placement'))
  config = copy.deepcopy(config)
  with config.unlocked():
    config.data.placement = placement
  init_rng, train_rng, sample_rng = jax.random.split(jax.random.PRNGKey(config.seed), 3)
  memory.check_fits(jax.eval_shape(
      lambda r: state_lib.create_train_state(config, dataset, spec, r), init_rng))
  state = state_lib.create_train_state(config, dataset, spec, init_rng)
  # The metrics evaluated during training (config.eval.every_steps), their inputs loaded now.
  evaluators = (metrics_lib.build(config, metrics_lib.Context(config, dataset.examples))
                if parallel.is_primary() and config.eval.every_steps else {})
  return Built(config, dataset, spec, state, train_rng, sample_rng, evaluators, why)


def claim(held: contextlib.ExitStack, workdir: str, config) -> None:
  """Process 0 takes the workdir: read-only checks, then its lock and config.json."""
  if not parallel.is_primary():
    return
  workdir_lib.check_resumable(workdir, config)  # Read-only checks first.
  try:
    os.makedirs(workdir, exist_ok=True)
    held.enter_context(lock.WorkdirLock(workdir))
    workdir_lib.prepare(workdir, config)
  except OSError as e:
    raise errors.WorkdirError(f'cannot write to --workdir={workdir} ({e.strerror}); choose a '
                              'writable --workdir') from e


def preempted_error(stop: interrupts.StopRequest, step: int) -> errors.Preempted:
  what = 'preempted' if stop.signum == signal.SIGTERM else interrupts.describe(stop.signum)
  return errors.Preempted(f'{what}: stopped after step {step} with its checkpoint written; run '
                          'the same command to resume', stop.signum)


def train_and_evaluate(config, workdir: str) -> state_lib.GANState:
  """Trains (resuming from workdir/checkpoints when there are any); returns the final state (a
  population: the states of its seeds, in the order of config.seeds)."""
  if config.get('seeds'):
    from gan_jax import population  # pylint: disable=g-import-not-at-top
    return population.train(config, workdir)
  built = build(config, workdir)
  with contextlib.ExitStack() as held:
    claim(held, workdir, built.config)
    on_device.log_choice(built.config.data.placement, built.placement_why)
    return _train(built, workdir)


def _train(built: Built, workdir: str) -> state_lib.GANState:
  """The loop of train_and_evaluate, once the workdir is this run's."""
  config = built.config
  logging.info('Training on %d device(s) (%s), %d process(es); workdir %s', jax.device_count(),
               jax.devices()[0].platform, jax.process_count(), workdir)
  run_lib.log_networks(config, built.state)
  run = run_lib.Run(config, workdir, built.dataset, built.evaluators, built.sample_rng,
                    parallel.is_primary())
  train_calls = parallel.TrainCalls(built.spec, built.dataset, config.data.placement,
                                    config.seed, parallel.call_form(config))
  try:
    state, data_state = run.restore(built.state)
    if data_state is not None:
      train_calls.position.set_state(data_state)
    step = int(state.step)
    if run.ended(step):
      return state
    run.begin()
    per_call = steps_per_call(config)
    logging.info('%d iteration(s) a call (%s form).', per_call,
                 parallel.call_form(config))
    stop = interrupts.StopRequest()
    try:
      train_calls.start(step)
      state = parallel.replicate(state)
      calls_made = 0
      while True:
        n = run.schedule.call_length(step, per_call)
        state, metrics = train_calls.run(state, built.train_rng, n)
        step += n
        calls_made += 1
        # Every process stops after the same call (StopRequest: a counter a call).
        preempted = stop.reached(calls_made)
        if run.after(step, state, metrics, train_calls.position.get_state(), preempted):
          break
        if preempted:
          raise preempted_error(stop, step)
    except jax.errors.JaxRuntimeError as e:
      lost = parallel.lost_peer(e)
      if lost is None:
        raise
      raise lost from None
    finally:
      stop.close()
  finally:
    run.close()
  return parallel.unreplicate(state)
