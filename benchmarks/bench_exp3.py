"""EXP3 slot throughput at K = 10^4 arms: ours against a plain per-slot loop and river's Exp3.

A *slot* is one round of one run: draw an arm, observe its loss, update. Every contender
plays the same Bernoulli loss means; throughput is slots per second (higher is better).

* ``reference loop``: the textbook implementation, one run at a time: normalise the weight
  vector, ``rng.choice(K, p=p)``, importance-weight the loss, update one weight (O(K) a slot).
* ``river Exp3``: ``river.bandit.Exp3(gamma=0)`` (pure Python, a dict of weights), if installed.
* ``edgelearn`` with 1 run and with 32 runs advanced together (weights in sqrt(K) blocks: O(sqrt K) a slot).

Run with ``make bench`` (or ``python benchmarks/bench_exp3.py``). No timing is asserted anywhere.
"""

from __future__ import annotations

import math
import time

import numpy as np

from edgelearn import exp3

K = 10_000
BUDGET_S = 3.0  # seconds per contender (each runs whole blocks until the budget is spent)


def loss_means(rng: np.random.Generator) -> np.ndarray:
    means = rng.uniform(0.3, 0.7, K)
    means[0] = 0.2
    return means


def reference_loop(slots: int, eta: float, means: np.ndarray, rng: np.random.Generator) -> None:
    w = np.ones(K)
    for _ in range(slots):
        p = w / w.sum()
        arm = rng.choice(K, p=p)
        loss = float(rng.random() < means[arm])
        w[arm] *= math.exp(-eta * loss / p[arm])
        if w.max() < 1e-200:
            w /= w.max()


def ours(slots: int, runs: int, eta: float, means: np.ndarray, rng: np.random.Generator) -> None:
    learner = exp3.Exp3(K, eta, n_runs=runs, seed=0)
    for _ in range(slots // runs):
        arms = learner.sample()
        learner.update(arms, (rng.random(runs) < means[arms]).astype(float))


def river_exp3(slots: int, eta: float, means: np.ndarray, rng: np.random.Generator) -> None:
    from river import bandit

    policy = bandit.Exp3(gamma=0.0, seed=0)
    arm_ids = list(range(K))
    for _ in range(slots):
        arm = policy.pull(arm_ids)
        policy.update(arm, float(rng.random() >= means[arm]))  # river maximises rewards


def throughput(fn, block: int) -> float:
    """Slots per second of ``fn(block)``, repeated until BUDGET_S is spent."""
    fn(max(1, block // 10))  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < BUDGET_S:
        fn(block)
        done += block
    return done / (time.perf_counter() - start)


def main() -> None:
    rng = np.random.default_rng(0)
    means = loss_means(rng)
    eta = float(exp3.optimal_eta(100_000, K))
    rows = [("reference loop (1 run)", throughput(lambda n: reference_loop(n, eta, means, rng), 200))]
    try:
        import river  # noqa: F401

        rows.append(("river Exp3 (1 run)", throughput(lambda n: river_exp3(n, eta, means, rng), 20)))
    except ImportError:
        rows.append(("river Exp3 (not installed: pip install -r benchmarks/requirements.txt)", float("nan")))
    rows.append(("edgelearn Exp3 (1 run)", throughput(lambda n: ours(n, 1, eta, means, rng), 2_000)))
    rows.append(("edgelearn Exp3 (32 runs at once)", throughput(lambda n: ours(n, 32, eta, means, rng), 32_000)))
    reference, peer = rows[0][1], rows[1][1]
    print(f"EXP3 slot throughput, K = {K:,} arms (slots per second; ratios to the reference loop and to river)")
    for name, rate in rows:
        print(f"  {name:<40.40s} {rate:>12,.0f} /s   x{rate / reference:8.2f} vs loop   x{rate / peer:8.2f} vs river")


if __name__ == "__main__":
    main()
