"""The host's side of the training loop: actions due every N steps, run between compiled calls.

In the shape of CLU's periodic_actions (an action with its period, asked after each step whether
it is due), with one addition that many steps per call need: `Schedule.next_due(step)` says
where the next action falls, so that a call of up to config.steps_per_call iterations is cut
there, and every action lands on exactly the step it lands on with one step per call.
"""
import dataclasses
from typing import Dict, Tuple, Union


@dataclasses.dataclass(frozen=True)
class Every:
  """An action due on every multiple of `steps` (never when 0), and at the last step."""
  name: str
  steps: int

  def due(self, step: int, last: int) -> bool:
    return step == last or (self.steps > 0 and step % self.steps == 0)

  def next_due(self, step: int, last: int) -> int:
    """The first step after `step` at which this action is due."""
    if self.steps <= 0:
      return last
    return min(last, (step // self.steps + 1) * self.steps)


@dataclasses.dataclass(frozen=True)
class At:
  """An action due at the listed steps only (a long run's milestones)."""
  name: str
  steps: Tuple[int, ...]

  def due(self, step: int, last: int) -> bool:
    del last
    return step in self.steps

  def next_due(self, step: int, last: int) -> int:
    return min([s for s in self.steps if s > step] + [last])


@dataclasses.dataclass(frozen=True)
class Schedule:
  actions: Tuple[Union[Every, At], ...]
  last: int  # num_train_steps: everything is due there.

  def due(self, step: int) -> Dict[str, bool]:
    return {a.name: a.due(step, self.last) for a in self.actions}

  def next_due(self, step: int) -> int:
    return min([a.next_due(step, self.last) for a in self.actions] + [self.last])

  def call_length(self, step: int, steps_per_call: int) -> int:
    """Iterations of the next call: up to steps_per_call, ending where an action is due."""
    return max(1, min(steps_per_call, self.next_due(step) - step))
