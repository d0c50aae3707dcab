"""The ATS chapter's DRL schedulers: their hot paths side by side with the plain forms, and slots per second.

Issue 13 asks for the paper's 1,000 episodes x 200 slots x 5 seeds x both scenarios in about two hours
on two cores (``SCALES["deciding"]``). Per slot a DRL scheduler acts (one forward pass on one
observation, unless it explores), ATS also scores a training slot now (one forward pass on two
observations), and every training job runs 16 Double DQN steps on prioritised minibatches of 64 from a
memory of up to 20,000 transitions. The first part times those paths against their plain forms (an
``nn.Sequential`` under ``torch.no_grad``; fresh arrays and fancy indexing for the prioritised draw),
which compute the same numbers; the second the schedulers end to end at the deciding settings, for a
few episodes from the start (epsilon near 1, a small memory) and in the steady state (epsilon at its
floor, a full memory). One CPU thread; higher is better. No timing is asserted anywhere.

Run with ``python benchmarks/bench_ats.py``.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from unittest import mock

import numpy as np
import torch
from torch import nn

from edgelearn import ats
from edgelearn.ats.ats import DoubleDQNAgent

EPISODES = 3
OBS_DIM, N_ACTIONS = ats.MECEnv().observation_space.shape[0], ats.MECEnv().action_space.n


def per_second(fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (after a warm-up)."""
    for _ in range(20):
        fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            fn()
        n += 50
    return n / (time.perf_counter() - start)


def fill(memory, alpha: float) -> None:
    """Fill a prioritised memory with random transitions of random priorities."""
    n, rng = memory.capacity, np.random.default_rng(0)
    obs = rng.random((n, OBS_DIM), dtype=np.float32)
    memory.add(obs, rng.integers(0, N_ACTIONS, n), rng.random(n), obs[::-1].copy(), np.zeros(n))
    memory.priority[:] = rng.random(n) ** alpha


class SteadyStateAgent(DoubleDQNAgent):
    """The agent of a long run's steady state: its memory full from the start."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        fill(self.memory, self.config.per_alpha)


def plain_sample(memory, batch_size: int) -> dict[str, torch.Tensor]:
    """The prioritised draw written plainly: fresh arrays for P and its running sum, fancy indexing."""
    probs = memory.probabilities()
    idx = np.minimum(np.searchsorted(np.cumsum(probs), memory.rng.random(batch_size) * probs.sum()), memory.size - 1)
    weight = (memory.size * probs[idx]) ** (-memory.beta)
    index = torch.as_tensor(idx)
    batch = {k: getattr(memory, k)[index] for k in ("obs", "action", "reward", "next_obs", "done")}
    return {**batch, "index": index, "weight": torch.as_tensor(weight / weight.max(), dtype=torch.float32)}


def hot_paths() -> None:
    cfg = ats.SCALES["deciding"].agent
    agent = DoubleDQNAgent(OBS_DIM, N_ACTIONS, cfg, seed=0)
    fill(agent.memory, cfg.per_alpha)
    plain = nn.Sequential(*copy.deepcopy(list(agent.q)))  # the same layers, called module by module
    obs = np.random.default_rng(1).random(OBS_DIM, dtype=np.float32)
    pair = np.stack([obs, obs[::-1]])

    @torch.no_grad()
    def plain_act() -> int:
        return int(np.where(np.ones(N_ACTIONS, dtype=bool), plain(torch.from_numpy(obs)).numpy(), -np.inf).argmax())

    @torch.no_grad()
    def plain_values() -> np.ndarray:
        return plain(torch.from_numpy(pair)).max(dim=-1).values.numpy()

    rows = [
        ("greedy action (1 observation)", per_second(lambda: agent.act(obs, 0.0)), per_second(plain_act)),
        ("ATS's V(s), V(s+) (2 observations)", per_second(lambda: agent.values(pair)), per_second(plain_values)),
        (
            f"prioritised minibatch ({cfg.batch_size} of {cfg.buffer_capacity:,})",
            per_second(lambda: agent.memory.sample(cfg.batch_size)),
            per_second(lambda: plain_sample(agent.memory, cfg.batch_size)),
        ),
    ]
    print(f"ATS hot paths, MLP {OBS_DIM}-{'-'.join(map(str, cfg.hidden))}-{N_ACTIONS} (calls per second, 1 thread)")
    for name, ours, peer in rows:
        print(f"  {name:<40s} edgelearn {ours:>10,.0f} /s   plain {peer:>10,.0f} /s   ratio x{ours / peer:5.2f}")
    jobs = per_second(agent.train_job, 3.0)
    print(f"  {'training job (' + str(cfg.updates_per_job) + ' Double DQN steps)':<40s} edgelearn {jobs:>10,.1f} /s")


def schedulers() -> None:
    warm = dataclasses.replace(ats.SCALES["smoke"], episodes=2)
    ats.run("PTS", "stationary", warm, 0)  # the first optimiser step imports modules lazily: not timed
    start_cfg = dataclasses.replace(ats.SCALES["deciding"], episodes=EPISODES)
    steady_cfg = dataclasses.replace(
        start_cfg, agent=dataclasses.replace(start_cfg.agent, eps_start=start_cfg.agent.eps_end)
    )
    print(f"Schedulers end to end at the deciding settings, {EPISODES} episodes x {start_cfg.horizon} slots (slots/s)")
    for scheduler in ats.SCHEDULERS:
        rates = []
        for cfg, agent_class in ((start_cfg, DoubleDQNAgent), (steady_cfg, SteadyStateAgent)):
            with mock.patch("edgelearn.ats.ats.DoubleDQNAgent", agent_class):
                start = time.perf_counter()
                ats.run(scheduler, "stationary", cfg, seed=0)
                rates.append(EPISODES * cfg.horizon / (time.perf_counter() - start))
        print(f"  {scheduler:>5}   from the start {rates[0]:>8,.0f} /s   steady state {rates[1]:>8,.0f} /s")


def main() -> None:
    torch.set_num_threads(1)
    hot_paths()
    schedulers()


if __name__ == "__main__":
    main()
