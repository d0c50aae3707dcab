"""Steps per second of the MEC scheduling environment and of the ATS/PTS schedulers end to end.

Goal of the ATS/PTS issue: >= 50,000 single-environment steps/s on this CPU. The end-to-end rate of a
DRL scheduler includes acting (one forward pass a step), ATS's psi (one batched forward pass a slot)
and the training jobs (gradient steps). No timing is asserted anywhere.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from edgelearn import ats
from edgelearn.ats import MECConfig, MECEnv


def environment(steps: int = 300_000) -> None:
    for load in (0.1, 0.3, 0.9):
        env = MECEnv(MECConfig(load=load, horizon=10**9))
        env.reset(seed=0)
        actions = np.random.default_rng(0).integers(0, env.config.buffer_size + 1, steps).tolist()
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        rate = steps / (time.perf_counter() - start)
        print(f"MEC environment, load {load}: {rate:,.0f} steps/s ({env.t:,} slots)")


def schedulers() -> None:
    torch.set_num_threads(1)
    cfg = ats.SCALES["laptop"]
    for scheduler in ats.SCHEDULERS:
        frame = ats.run(scheduler, "stationary", cfg, seed=0)["episodes"]
        print(
            f"{scheduler:>5} end to end (1 thread, {cfg.episodes} episodes): "
            f"{frame.steps.sum() / frame.seconds.sum():,.0f} steps/s, {int(frame.updates.iloc[-1]):,} gradient steps"
        )


if __name__ == "__main__":
    environment()
    schedulers()
