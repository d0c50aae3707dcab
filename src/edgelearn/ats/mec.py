r"""A mobile-edge-computing (MEC) job scheduler as a gymnasium environment.

Paper: *To Train or Not to Train* (arXiv 2411.07086; the text we have is a structured summary).
Time is slotted; users submit jobs by Bernoulli arrivals; each buffered job is described by its
execution time, resource demand, waiting time and deadline; the state is the buffer plus the
allocation of the :math:`C` computing resources; an action picks a buffered job to start now, or
waits for the next slot. The summary leaves sizes and distributions open: every one is an
assumption in :class:`MECConfig`.

Dynamics (our choices, in the spirit of DeepRM-style schedulers):

* several jobs may start within one slot: each action that starts a job keeps the clock still;
  action ``buffer_size`` (wait), or an action naming an empty slot or a job that does not fit in
  the free resources, advances the clock by one slot;
* a started job holds its ``demand`` units for ``exec_time`` slots and earns ``+reward_per_job``
  when it completes by its deadline, ``-miss_penalty`` when it completes late;
* a buffered job that can no longer finish by its deadline is dropped with ``-miss_penalty``;
  an arrival that finds the buffer full is rejected with ``-miss_penalty``;
* the *cost of learning*: :meth:`MECEnv.train_slot` spends one slot on a training job that takes
  all :math:`C` resources — running jobs are paused for that slot (they keep their resources but
  make no progress), nothing starts, time and deadlines run on and jobs keep arriving.

The load :math:`\rho` is each user's Bernoulli arrival probability per slot (the summary: "users
with Bernoulli arrivals at load :math:`\rho`"); the resulting utilisation, the expected demanded
resource-slots per slot relative to :math:`C`, is :math:`U \rho\, \mathbb E[e]\, \mathbb E[r] / C`
(:attr:`MECConfig.utilisation`: 0.375 at :math:`\rho = 0.1` and 1.125 at :math:`\rho = 0.3` with the
defaults, so the paper's dynamic scenario goes from a light load to an overload).
:meth:`MECEnv.set_load` changes it between slots (the dynamic scenario).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np
from gymnasium import spaces

FEATURES = 5  # per buffer slot: present, exec time, demand, waiting time, slack to the deadline


@dataclass(frozen=True)
class MECConfig:
    """Sizes and distributions of the MEC environment (all assumptions: the summary gives none)."""

    n_resources: int = 10  # C
    n_users: int = 5  # U, each with Bernoulli arrivals
    load: float = 0.3  # rho, each user's arrival probability per slot
    buffer_size: int = 10  # jobs waiting at most
    max_exec: int = 5  # execution time ~ U{1..max_exec} slots
    max_demand: int = 4  # resource demand ~ U{1..max_demand} units
    max_slack: int = 6  # deadline = arrival + exec time + U{0..max_slack}
    horizon: int = 200  # slots per episode
    view: int = 8  # future slots of the allocation shown in the state
    reward_per_job: float = 1.0
    miss_penalty: float = 1.0

    def __post_init__(self) -> None:
        for name in ("n_resources", "n_users", "buffer_size", "max_exec", "max_demand", "horizon", "view"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"'{name}' must be an integer >= 1, got {value!r}")
        if int(self.max_slack) != self.max_slack or self.max_slack < 0:
            raise ValueError(f"'max_slack' must be an integer >= 0, got {self.max_slack!r}")
        if self.max_demand > self.n_resources:
            raise ValueError(f"'max_demand' ({self.max_demand}) must not exceed 'n_resources' ({self.n_resources})")
        if not 0 <= self.load <= 1:
            raise ValueError(f"'load' (rho) must lie in [0, 1], got {self.load!r}")

    @property
    def arrival_probability(self) -> float:
        """Per user and slot: :math:`\\rho` itself."""
        return float(self.load)

    @property
    def utilisation(self) -> float:
        """Expected demanded resource-slots per slot relative to C: :math:`U\\rho\\,\\mathbb E[e]\\,\\mathbb E[r]/C`."""
        mean_exec, mean_demand = (1 + self.max_exec) / 2, (1 + self.max_demand) / 2
        return self.n_users * self.load * mean_exec * mean_demand / self.n_resources


class MECEnv(gym.Env):
    """The scheduler's environment; observations are flat float32 vectors in [0, 1]."""

    metadata = {"render_modes": []}

    def __init__(self, config: MECConfig = MECConfig()) -> None:
        self.config = config
        B, c = config.buffer_size, config
        self.action_space = spaces.Discrete(B + 1)  # start buffered job i, or wait (B)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(B * FEATURES + c.view,), dtype=np.float32)
        self._max_wait = c.max_exec + c.max_slack + 1
        self.t = 0
        self.buffer: list[list[int]] = []  # [exec, demand, arrival, deadline]
        self.running: list[list[int]] = []  # [remaining, demand, deadline, ...]
        self.stats = {"completed": 0, "late": 0, "dropped": 0, "rejected": 0, "training_slots": 0}

    # -- gymnasium API ------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t, self.buffer, self.running = 0, [], []
        self.stats = dict.fromkeys(self.stats, 0)
        return self._observation(), {}

    def step(self, action: int):
        action = int(action)
        if not 0 <= action <= self.config.buffer_size:
            raise ValueError(f"'action' must lie in 0..{self.config.buffer_size}, got {action}")
        reward = 0.0
        if action < len(self.buffer) and self.buffer[action][1] <= self.free_resources:
            exec_time, demand, _, deadline = self.buffer.pop(action)
            self.running.append([exec_time, demand, deadline, self.t + exec_time])
        else:
            reward = self._advance(training=False)
        return self._observation(), reward, False, self.t >= self.config.horizon, {"slot": self.t}

    # -- the cost of learning -------------------------------------------------------------------
    def train_slot(self) -> float:
        """Spend the current slot on a training job (all C resources, one slot); returns the reward."""
        self.stats["training_slots"] += 1
        return self._advance(training=True)

    def valid_actions(self) -> np.ndarray:
        """Boolean mask of the actions that do something now: each buffered job that fits, and wait.

        Every other action acts as wait, so its true Q-value equals wait's; schedulers use the mask
        to explore and act among distinct actions only.
        """
        mask = np.zeros(self.config.buffer_size + 1, dtype=bool)
        free = self.free_resources
        for i, job in enumerate(self.buffer):
            mask[i] = job[1] <= free
        mask[-1] = True
        return mask

    def observation(self) -> np.ndarray:
        """The current observation (e.g. after :meth:`train_slot`)."""
        return self._observation()

    def observation_after_training(self) -> np.ndarray:
        """The observation the scheduler would face after a training slot now (for ATS's psi).

        Deterministic part of :meth:`train_slot`: the clock moves one slot, running jobs make no
        progress, buffered jobs wait one slot longer and those that could no longer meet their
        deadline leave; the slot's random arrivals are left out. Nothing in the environment changes.
        """
        t, buffer = self.t, self.buffer
        self.t = t + 1
        self.buffer = [job for job in buffer if self.t + job[0] <= job[3]]
        try:
            return self._observation()
        finally:
            self.t, self.buffer = t, buffer

    def set_load(self, load: float) -> None:
        """Change the load rho from the next arrivals on (the dynamic scenario)."""
        self.config = replace(self.config, load=load)

    # -- internals -----------------------------------------------------------------------------
    @property
    def free_resources(self) -> int:
        return self.config.n_resources - sum(job[1] for job in self.running)

    def _advance(self, training: bool) -> float:
        """Move the clock one slot: progress (unless training), completions, drops, arrivals."""
        c, reward = self.config, 0.0
        self.t += 1
        if not training:
            still = []
            for job in self.running:
                job[0] -= 1
                if job[0] > 0:
                    still.append(job)
                elif self.t <= job[2]:
                    reward += c.reward_per_job
                    self.stats["completed"] += 1
                else:
                    reward -= c.miss_penalty
                    self.stats["late"] += 1
            self.running = still
        kept = []
        for job in self.buffer:  # a job that cannot finish by its deadline any more is dropped
            if self.t + job[0] > job[3]:
                reward -= c.miss_penalty
                self.stats["dropped"] += 1
            else:
                kept.append(job)
        self.buffer = kept
        arrivals = int((self.np_random.random(c.n_users) < c.arrival_probability).sum())
        for _ in range(arrivals):
            exec_time = int(self.np_random.integers(1, c.max_exec + 1))
            demand = int(self.np_random.integers(1, c.max_demand + 1))
            deadline = self.t + exec_time + int(self.np_random.integers(0, c.max_slack + 1))
            if len(self.buffer) < c.buffer_size:
                self.buffer.append([exec_time, demand, self.t, deadline])
            else:
                reward -= c.miss_penalty
                self.stats["rejected"] += 1
        return reward

    def _observation(self) -> np.ndarray:
        """Buffer features then the allocation view, built as Python floats and written once."""
        c, t, max_wait = self.config, self.t, self._max_wait
        slack_scale = max(c.max_slack, 1)
        values: list[float] = []
        for exec_time, demand, arrival, deadline in self.buffer:
            values += (
                1.0,
                exec_time / c.max_exec,
                demand / c.n_resources,
                min(t - arrival, max_wait) / max_wait,
                min(max(deadline - t - exec_time, 0), c.max_slack) / slack_scale,
            )
        usage = [0] * c.view
        for remaining, demand, _, _ in self.running:
            for k in range(min(remaining, c.view)):
                usage[k] += demand
        obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        obs[: len(values)] = values
        obs[c.buffer_size * FEATURES :] = usage
        obs[c.buffer_size * FEATURES :] /= c.n_resources
        return obs
