"""Steps per second of the MEC scheduling environment (goal of the ATS/PTS issue: >= 50,000 on this CPU).

One environment, uniformly random actions, the clock never truncated. No timing is asserted anywhere.
"""

from __future__ import annotations

import time

import numpy as np

from edgelearn.mec import MECConfig, MECEnv


def main(steps: int = 300_000) -> None:
    for load in (0.1, 0.3, 0.9):
        env = MECEnv(MECConfig(load=load, n_users=10, horizon=10**9))
        env.reset(seed=0)
        actions = np.random.default_rng(0).integers(0, env.config.buffer_size + 1, steps).tolist()
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        rate = steps / (time.perf_counter() - start)
        print(f"MEC environment, load {load}: {rate:,.0f} steps/s ({env.t:,} slots)")


if __name__ == "__main__":
    main()
