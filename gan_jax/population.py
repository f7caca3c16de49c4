"""A table row's seeds trained as one program (config.seeds, e.g. --config.seeds=0,1,2).

Each seed is the run a single-seed command of that seed would make: its own init, noise, dropout
and data order, its own workdir (`<workdir>/seed=N`, or --workdir with `{seed}` replaced by N,
as launch.sweep names its points: `--workdir=runs/lr=0.1,seed={seed}`) holding exactly what that
command writes (its config.json has seed=N and no seeds), so `--mode=eval`, `launch.reproduce` and `--progress`
read it unchanged and it resumes alone as well. Each seed keeps its own stopping rule and ends
at its own step; an ended seed is frozen while the others train on.

Two forms (config.population_form), one result:
  'vmap'  the seeds' states stacked and every call vmapped over them, the ended seeds' updates
          masked: one program for the population (an accelerator's form; needs the split on the
          device, since each seed gathers its own order from it);
  'loop'  each seed's own calls in turn, in one process: the numbers of separate runs, bit for
          bit (XLA:CPU runs a vmapped population slower than the seeds one after another:
          tests/benchmarks/population.py).
'auto' is 'loop' on a CPU and 'vmap' elsewhere.
"""
import contextlib
import copy
import functools
import os
from typing import List, Optional, Sequence

from absl import logging
import jax
import numpy as np

from gan_jax import calls
from gan_jax import cpu_kernels
from gan_jax import data
from gan_jax import errors
from gan_jax import interrupts
from gan_jax import parallel
from gan_jax import run as run_lib
from gan_jax import train as train_lib
from gan_jax import workdir as workdir_lib
from gan_jax.data import on_device

FORMS = ('auto', 'loop', 'vmap')


def parse_seeds(seeds) -> List[int]:
  """config.seeds ('0,1,2', or a sequence of ints) as a list of distinct seeds."""
  text = ','.join(str(s) for s in seeds) if isinstance(seeds, (tuple, list)) else str(seeds)
  try:
    parsed = [int(s) for s in text.split(',') if s.strip()]
  except ValueError:
    parsed = None
  if not parsed or len(set(parsed)) != len(parsed) or min(parsed) < 0:
    raise errors.ConfigError(f'config.seeds={seeds!r} must be distinct integers >= 0 separated '
                             'by commas, as in --config.seeds=0,1,2')
  return parsed


def beats_processes(platform: str) -> bool:
  """Whether a population trains a row's seeds faster than one process per core does: on an
  accelerator. On a CPU the processes win (docs/performance.md: 569 seed-epochs an hour against
  the population's 516 on the 2-core CPU), and launch/cpu_seeds.sh runs them."""
  return platform != 'cpu'


def resolve_form(form: str) -> str:
  errors.require(form in FORMS, f'config.population_form={form!r} is unknown; use one of '
                 f'{list(FORMS)}')
  if form != 'auto':
    return form
  return 'loop' if jax.devices()[0].platform == 'cpu' else 'vmap'


def seed_config(config, seed: int):
  """The config a single-seed command of `seed` would have."""
  single = copy.deepcopy(config)
  with single.unlocked():
    single.seed = seed
    single.seeds = ''
    single.population_form = 'auto'
  return single


SEED_SLOT = '{seed}'


def seed_workdir(workdir: str, seed: int) -> str:
  """A seed's workdir: --workdir with its {seed} replaced (launch.sweep's names, e.g.
  runs/lr=0.1,seed={seed}), or <workdir>/seed=N when it has none."""
  if SEED_SLOT in workdir:
    return workdir.replace(SEED_SLOT, str(seed))
  return os.path.join(workdir, f'seed={seed}')


def check_workdir(workdir: str, config, mode: str) -> None:
  """A {seed} in --workdir names the seeds' workdirs of a population; anything else with one
  would make a directory literally named so."""
  if SEED_SLOT in workdir and (mode != 'train' or not config.get('seeds')):
    instead = ('give --config.seeds=0,1,2 to train those seeds as one population, or'
               if mode == 'train' else 'evaluate each seed\'s workdir; give')
    raise errors.ConfigError(f'--workdir={workdir} has {SEED_SLOT}, which names the seeds\' '
                             f'workdirs of a population; {instead} one workdir without it')


def train(config, workdir: str, seed_workdirs: Optional[Sequence[str]] = None):
  """Trains the seeds of `config.seeds` together; returns their final states (host copies).
  Each seed's workdir is seed_workdir(workdir, N), or `seed_workdirs` in the order of
  config.seeds (launch.reproduce's names: <root>/<experiment>/<overrides>,seed=N)."""
  seeds = parse_seeds(config.seeds)
  form = resolve_form(config.get('population_form', 'auto'))
  configs = [seed_config(config, s) for s in seeds]
  workdirs = list(seed_workdirs or [seed_workdir(workdir, s) for s in seeds])
  for d in workdirs:  # (A file where a seed's workdir should be: one line before any work.)
    workdir_lib.check_usable(d)
  examples = data.load_split(configs[0].data, 'train')  # Loaded once, shared.
  builts = [train_lib.build(c, d, examples) for c, d in zip(configs, workdirs)]
  placements = {b.config.data.placement for b in builts}
  if form == 'vmap' and placements != {'device'}:
    raise errors.ConfigError('config.population_form=vmap gathers each seed\'s batches from the '
                             'split on the device, and some seed\'s data is on the host (its '
                             'workdir was trained so, or config.data.placement says so); use '
                             'config.population_form=loop')
  logging.info('Training seeds %s as one population (%s form) in %s.', seeds, form, workdir)
  with contextlib.ExitStack() as held:
    for built, d in zip(builts, workdirs):
      train_lib.claim(held, d, built.config)
    runs = []
    for seed, built, d in zip(seeds, builts, workdirs):
      run = run_lib.Run(built.config, d, built.dataset, built.evaluators, built.sample_rng,
                        parallel.is_primary())
      run.label = f'seed {seed}: '
      held.callback(run.close)
      runs.append(run)
    on_device.log_choice(builts[0].config.data.placement, builts[0].placement_why)
    run_lib.log_networks(builts[0].config, builts[0].state)
    trainer = _Loop if form == 'loop' else _Vmapped
    return trainer(builts, runs).train(train_lib.steps_per_call(config))


class _Population:
  """The host loop shared by both forms: each round, one call for every seed still training,
  then each seed's actions at its own step."""

  def __init__(self, builts, runs):
    self.builts, self.runs = builts, runs
    self.positions, self.states, self.steps, self.active = [], [], [], []
    for run, built in zip(runs, builts):
      position = self._position(built)
      state, data_state = run.restore(built.state)
      if data_state is not None:
        position.set_state(data_state)
      self.positions.append(position)
      self.states.append(state)
      self.steps.append(int(state.step))
      self.active.append(not run.ended(int(state.step)))

  def train(self, per_call: int):
    for i in self._training():
      self.runs[i].begin()
    self._start()
    stop = interrupts.StopRequest()
    rounds, diverged = 0, []
    try:
      while any(self.active):
        metrics = self._round(per_call)
        rounds += 1
        preempted = stop.reached(rounds)
        for i in self._training():
          try:
            if self.runs[i].after(self.steps[i], self._state(i), metrics[i],
                                  self.positions[i].get_state(), preempted):
              self.active[i] = False  # Ended: frozen from now on.
          except errors.DivergenceError as e:  # This seed stops; the others train on.
            logging.error('%s%s', self.runs[i].label, e)
            self.active[i] = False
            diverged.append((type(e), f'{self.runs[i].label}{e}'))
        if preempted and any(self.active):
          raise train_lib.preempted_error(stop, max(self.steps))
    finally:
      stop.close()
    if diverged:  # Reported once every other seed has ended, as the first seed's error.
      kind, message = diverged[0]
      raise kind(message + (f' ({len(diverged) - 1} other seed(s) diverged too; the log names '
                            'them)' if len(diverged) > 1 else ''))
    return self._final()

  def _training(self):
    return [i for i, a in enumerate(self.active) if a]


class _Loop(_Population):
  """Each seed's own calls in turn: exactly the separate runs."""

  def __init__(self, builts, runs):
    self._calls = []  # Each seed's TrainCalls, made by _position as the seeds are restored.
    super().__init__(builts, runs)

  def _position(self, built):
    self._calls.append(parallel.TrainCalls(built.spec, built.dataset,
                                           built.config.data.placement, built.config.seed,
                                           parallel.call_form(built.config)))
    return self._calls[-1].position

  def _start(self):
    for i in self._training():
      self._calls[i].start(self.steps[i])
      self.states[i] = parallel.replicate(self.states[i])

  def _round(self, per_call: int):
    metrics = {}
    for i in self._training():
      n = self.runs[i].schedule.call_length(self.steps[i], per_call)
      self.states[i], metrics[i] = self._calls[i].run(self.states[i],
                                                      self.builts[i].train_rng, n)
      self.steps[i] += n
    return metrics

  def _state(self, i):
    return self.states[i]

  def _final(self):
    return [parallel.unreplicate(s) for s in self.states]


def _stack(trees):
  """The trees' leaves stacked on a new leading axis, in the first tree's structure (the seeds'
  states differ only in their arrays; their apply functions and optimizers are alike)."""
  leaves = zip(*(jax.tree.leaves(t) for t in trees))
  return jax.tree.unflatten(jax.tree.structure(trees[0]),
                            [np.stack([np.asarray(x) for x in xs]) for xs in leaves])


class _Vmapped(_Population):
  """The seeds' states stacked, every call vmapped over them (calls.population_batches)."""

  def _position(self, built):
    del built
    return on_device.Position()

  def _start(self):
    built = self.builts[0]
    self._layout = on_device.Layout(len(built.dataset.examples), built.dataset.batch_size,
                                    built.spec.batches_per_step)
    keys = [on_device.data_key(b.config.seed) for b in self.builts]
    self._split = parallel.replicate(np.asarray(built.dataset.examples))
    self._keys = parallel.replicate(_stack(keys))
    self._rngs = parallel.replicate(_stack([b.train_rng for b in self.builts]))
    self._orders = parallel.replicate(_stack(
        [on_device.initial_order(k, s, self._layout) for k, s in zip(keys, self.steps)]))
    self._stacked = parallel.replicate(_stack(self.states))
    self._compiled = {}

  def _call(self, n: int):
    if n not in self._compiled:
      sharding = parallel.batch_sharding(2) if jax.device_count() > 1 else None
      self._compiled[n] = cpu_kernels.jit(functools.partial(
          calls.population_batches, spec=self.builts[0].spec, layout=self._layout, length=n,
          batch_sharding=sharding), donate_argnums=(0, 1))
    return self._compiled[n]

  def _round(self, per_call: int):
    training = self._training()
    n = min(self.runs[i].schedule.call_length(self.steps[i], per_call) for i in training)
    self._stacked, self._orders, metrics = self._call(n)(
        self._stacked, self._orders, self._split, self._keys, np.int32(n), self._rngs,
        np.asarray(self.active))
    metrics = jax.block_until_ready(metrics)
    for i in training:
      self.steps[i] += n
      self.positions[i].step += n
    return {i: jax.tree.map(lambda x, i=i: x[i], metrics) for i in training}

  def _state(self, i):
    return jax.tree.map(lambda x: x[i], self._stacked)

  def _final(self):
    host = parallel.unreplicate(self._stacked)
    return [jax.tree.map(lambda x, i=i: x[i], host) for i in range(len(self.builts))]
