r"""The foundations chapter's experiments: one function per table, and :func:`run` for all of them.

Tables (name: what it holds), each tidy and saved with its provenance by a
:class:`~edgelearn.core.results.Recorder`:

* ``value_iteration`` — :math:`\|V_k - V^*\|_\infty` per iteration :math:`k` of value iteration on the
  gridworld, beside the contraction bound :math:`\gamma^k \|V_0 - V^*\|_\infty` (thm-rl-contraction);
* ``max_bias`` — the share of learners taking *left* in state A per episode, Q-learning against Double
  Q-learning (prop-rl-overestimation, eq-rl-double-q);
* ``pg_variance`` — REINFORCE gradient estimates on the chain, without and with the value baseline: per
  seed the mean of ``cfg.pg_episodes`` per-episode estimates, its error against the exact gradient, and
  its squared norm (prop-rl-baseline);
* ``pg_learning`` — :math:`J(\theta_k)` along REINFORCE's gradient ascent, with and without the baseline;
* ``dqn`` — DQN and Double DQN on CartPole-v1, one row per episode;
* ``ddpg`` — DDPG on Pendulum-v1, one row per episode.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from edgelearn.core.results import Recorder
from edgelearn.core.scales import Scales
from edgelearn.core.seeding import check_seed
from edgelearn.foundations.deep import DDPGConfig, DQNConfig, train_ddpg, train_dqn
from edgelearn.foundations.mdp import chain_mdp, gridworld, value_iteration
from edgelearn.foundations.pg import exact_gradient, reinforce_estimates, reinforce_learning
from edgelearn.foundations.tabular import maximization_bias

MODULES = ("edgelearn.foundations", "edgelearn.foundations.experiments")
DATA_SOURCE = "small MDPs defined in edgelearn.foundations.mdp; gymnasium CartPole-v1 and Pendulum-v1"
TABLES = ("value_iteration", "max_bias", "pg_variance", "pg_learning", "dqn", "ddpg")


@dataclass(frozen=True)
class FoundationsScale:
    """The sizes of the chapter's examples at one scale."""

    gamma: float = 0.95
    bias_episodes: int = 300
    bias_runs: int = 1_000
    pg_seeds: int = 200
    pg_episodes: int = 10
    pg_iterations: int = 40
    pg_batch: int = 10
    pg_lr: float = 1.0
    pg_learning_seeds: int = 10
    rl_seeds: int = 1
    dqn: DQNConfig = DQNConfig()
    ddpg: DDPGConfig = DDPGConfig()


SCALES: Scales[FoundationsScale] = Scales(
    smoke=FoundationsScale(
        bias_episodes=60, bias_runs=100, pg_seeds=20, pg_iterations=5, pg_learning_seeds=2,
        dqn=DQNConfig(steps=600, warmup=100, target_period=50),
        ddpg=DDPGConfig(steps=600, warmup=200),
    ),
    laptop=FoundationsScale(dqn=DQNConfig(steps=6_000), ddpg=DDPGConfig(steps=5_000)),
    paper=FoundationsScale(
        bias_runs=10_000, pg_seeds=2_000, pg_learning_seeds=50, rl_seeds=5,
        dqn=DQNConfig(steps=50_000, buffer=50_000), ddpg=DDPGConfig(steps=20_000),
    ),
)  # fmt: skip


def recorder(scale: str, seed: int) -> Recorder:
    """The chapter's :class:`~edgelearn.core.results.Recorder` (configuration, seeds, data source)."""
    cfg = SCALES[scale]
    return Recorder(
        "foundations", scale, seeds={"base": check_seed(seed), "rl_seeds": cfg.rl_seeds},
        data_source=DATA_SOURCE, config=dataclasses.asdict(cfg), modules=MODULES,
    )  # fmt: skip


def value_iteration_table(cfg: FoundationsScale) -> pd.DataFrame:
    r""":math:`\|V_k - V^*\|_\infty` and the bound :math:`\gamma^k \|V_0 - V^*\|_\infty` on the 4x4 gridworld."""
    mdp = gridworld(gamma=cfg.gamma)
    exact = value_iteration(mdp, tol=1e-12)
    result = value_iteration(mdp, tol=1e-8)
    errors = result.errors(exact.V)
    k = np.arange(len(errors))
    return pd.DataFrame({"iteration": k, "error": errors, "bound": errors[0] * cfg.gamma**k, "gamma": cfg.gamma})


def max_bias_table(cfg: FoundationsScale, seed: int) -> pd.DataFrame:
    """The share of runs going *left* in A per episode, for Q-learning and Double Q-learning."""
    frames = []
    for method, double in (("Q-learning", False), ("Double Q-learning", True)):
        left = maximization_bias(cfg.bias_episodes, cfg.bias_runs, double, seed=seed)
        frames.append(
            pd.DataFrame({"method": method, "episode": np.arange(1, cfg.bias_episodes + 1), "left_share": left.mean(0),
                          "runs": cfg.bias_runs})
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def pg_policy(n_states: int) -> np.ndarray:
    """The fixed policy at which the gradient estimators are compared: logits favouring *left* a little, so
    that returns vary from episode to episode."""
    theta = np.zeros((n_states, 2))
    theta[:, 0] = 0.5
    return theta


def pg_variance_table(cfg: FoundationsScale, seed: int) -> pd.DataFrame:
    """Per seed and baseline: the mean of ``cfg.pg_episodes`` REINFORCE estimates, its squared error
    against the exact gradient, and the exact gradient's squared norm."""
    mdp = chain_mdp(gamma=cfg.gamma)
    theta = pg_policy(mdp.n_states)
    exact = exact_gradient(mdp, theta)
    rows = []
    for baseline, label in ((None, "none"), ("value", "value")):
        for s in range(cfg.pg_seeds):
            g = reinforce_estimates(mdp, theta, cfg.pg_episodes, seed * 1_000_003 + s, baseline).mean(axis=0)
            rows.append({"baseline": label, "seed": s, "episodes": cfg.pg_episodes,
                         "sq_error": float(((g - exact) ** 2).sum()), "grad_right_0": float(g[0, 1]),
                         "exact_right_0": float(exact[0, 1]), "exact_sq_norm": float((exact**2).sum())})  # fmt: skip
    return pd.DataFrame(rows)


def pg_learning_table(cfg: FoundationsScale, seed: int) -> pd.DataFrame:
    r""":math:`J(\theta_k)` along REINFORCE with and without the baseline, ``cfg.pg_learning_seeds`` seeds each."""
    mdp = chain_mdp(gamma=cfg.gamma)
    rows = []
    for baseline, label in ((None, "none"), ("value", "value")):
        for s in range(cfg.pg_learning_seeds):
            values = reinforce_learning(mdp, cfg.pg_iterations, cfg.pg_batch, cfg.pg_lr, seed + s, baseline)
            rows += [{"baseline": label, "seed": s, "iteration": k, "J": v} for k, v in enumerate(values)]
    return pd.DataFrame(rows)


def dqn_table(cfg: FoundationsScale, seed: int) -> pd.DataFrame:
    """DQN and Double DQN on CartPole-v1, ``cfg.rl_seeds`` seeds each (the same seeds for both)."""
    return pd.concat(
        [train_dqn(cfg.dqn, seed + s, double) for double in (False, True) for s in range(cfg.rl_seeds)],
        ignore_index=True,
    )


def ddpg_table(cfg: FoundationsScale, seed: int) -> pd.DataFrame:
    """DDPG on Pendulum-v1, ``cfg.rl_seeds`` seeds."""
    return pd.concat([train_ddpg(cfg.ddpg, seed + s) for s in range(cfg.rl_seeds)], ignore_index=True)


def run(scale: str, seed: int, rec: Recorder) -> dict[str, pd.DataFrame]:
    """Make and save every table of the chapter at ``scale``; returns them by name."""
    cfg = SCALES[scale]
    seed = check_seed(seed)
    tables = {
        "value_iteration": lambda: value_iteration_table(cfg),
        "max_bias": lambda: max_bias_table(cfg, seed),
        "pg_variance": lambda: pg_variance_table(cfg, seed),
        "pg_learning": lambda: pg_learning_table(cfg, seed),
        "dqn": lambda: dqn_table(cfg, seed),
        "ddpg": lambda: ddpg_table(cfg, seed),
    }
    out = {}
    for name, make in tables.items():
        out[name] = make()
        rec.save(name, out[name])
    return out


def variance_summary(pg_variance: pd.DataFrame) -> pd.DataFrame:
    """Per baseline: the mean squared error of the seed-level gradient estimates against the exact gradient
    (their total variance, as the estimates are unbiased) and the mean of one component beside its exact value."""
    return (
        pg_variance.groupby("baseline", sort=False)
        .agg(estimates=("seed", "size"), episodes=("episodes", "first"), total_variance=("sq_error", "mean"),
             mean_component=("grad_right_0", "mean"), exact_component=("exact_right_0", "first"))
        .reset_index()
    )  # fmt: skip
