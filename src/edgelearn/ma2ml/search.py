"""What the searchers query, and the search loop.

* :class:`TabularBenchmark` — the joint table (:mod:`edgelearn.ma2ml.table`) as arrays: a
  lookup returns the accuracy of one training seed drawn at random, so repeated evaluations of
  a pipeline vary as re-training it would;
* :class:`LiveBenchmark` — trains each requested pipeline for real
  (:func:`edgelearn.ma2ml.pipelines.evaluate_pipeline`, or any function), once per (pipeline, seed);
* :func:`search_pipelines` — the loop: a searcher proposes a batch of pipelines, the benchmark
  scores them, the searcher observes the rewards; :func:`top_k_curve` turns its history into the
  poster's top-k curves.

A searcher is any object with ``propose(batch_size, rng)``, ``observe(actions, rewards)`` and
``joint_policy()`` (:class:`Searcher`): :class:`edgelearn.ma2ml.MA2ML`,
:class:`~edgelearn.ma2ml.MA2MLLite`, :class:`~edgelearn.ma2ml.SingleAgent`,
:class:`~edgelearn.ma2ml.RandomSearch`. All randomness of a search comes from its ``seed`` (a
numpy generator for proposals and seed draws) and the searcher's own generators; torch's global
random state is neither used nor changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from edgelearn.core.seeding import check_seed, numpy_generator
from edgelearn.ma2ml.ma2ml import flops_reward
from edgelearn.ma2ml.pipelines import MODULES, JointSpace, TableConfig, TableData, evaluate_pipeline


class Benchmark(Protocol):
    """Trains (or looks up) pipelines: ``dims`` choices per module."""

    dims: tuple[int, ...]

    def evaluate(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Validation accuracy and FLOPs of each pipeline (rows of ``actions``)."""
        ...


class Searcher(Protocol):
    """Proposes a batch of pipelines, then learns from their rewards."""

    def propose(self, batch_size: int, rng: np.random.Generator) -> np.ndarray: ...

    def observe(self, actions: np.ndarray, rewards: np.ndarray) -> None: ...

    def joint_policy(self) -> np.ndarray: ...


def check_actions(actions: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    """``actions`` as an int64 array of shape (batch, len(dims)) of valid indices, else ``ValueError``."""
    actions = np.asarray(actions, dtype=np.int64)
    if actions.ndim != 2 or actions.shape[1] != len(dims):
        raise ValueError(f"'actions' must have shape (batch, {len(dims)}), got {actions.shape}")
    if np.any(actions < 0) or np.any(actions >= np.asarray(dims)):
        raise ValueError(f"'actions' must index each module's choices: 0..{[d - 1 for d in dims]}")
    return actions


@dataclass
class TabularBenchmark:
    """A table of real training runs: accuracy per seed and FLOPs of every pipeline."""

    accuracy: np.ndarray  # (n_seeds, *dims) validation accuracy
    flops: np.ndarray  # (*dims) forward FLOPs
    names: tuple[tuple[str, ...], ...] = ()

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(self.accuracy.shape[1:])

    @classmethod
    def from_frame(cls, df: pd.DataFrame, modules: Sequence[str] = MODULES) -> TabularBenchmark:
        """From a tidy table with ``<module>_idx`` columns, ``seed``, ``val_accuracy``, ``flops``
        (such as :func:`edgelearn.ma2ml.load_joint_table` returns)."""
        idx = [f"{m}_idx" for m in modules]
        missing = {*idx, "seed", "val_accuracy", "flops"} - set(df.columns)
        if missing:
            raise ValueError(f"the table lacks columns {sorted(missing)}")
        dims = tuple(int(df[c].max()) + 1 for c in idx)
        seeds = sorted(df.seed.unique())
        acc = np.full((len(seeds), *dims), np.nan)
        flops = np.full(dims, np.nan)
        s = df.seed.map({v: k for k, v in enumerate(seeds)}).to_numpy()
        where = tuple(df[c].to_numpy() for c in idx)
        acc[(s, *where)] = df.val_accuracy.to_numpy()
        flops[where] = df.flops.to_numpy()
        if np.isnan(acc).any():
            raise ValueError("the table does not cover every pipeline x seed")
        names = ()
        if all(m in df for m in modules):
            names = tuple(tuple(df.sort_values(c).drop_duplicates(c)[m].astype(str)) for m, c in zip(modules, idx))
        return cls(acc, flops, names)

    def mean_accuracy(self) -> np.ndarray:
        """Accuracy averaged over training seeds, shape ``dims``."""
        return self.accuracy.mean(axis=0)

    def evaluate(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        actions = check_actions(actions, self.dims)
        seeds = rng.integers(0, self.accuracy.shape[0], len(actions))
        where = tuple(actions.T)
        return self.accuracy[(seeds, *where)], self.flops[where]


class LiveBenchmark:
    """Trains each requested pipeline for real through ``train(pipeline, seed) -> (accuracy, flops)``,
    caching results by (pipeline, seed) so no pipeline is trained twice with the same seed.
    :meth:`from_space` trains with :func:`~edgelearn.ma2ml.pipelines.evaluate_pipeline`."""

    def __init__(
        self,
        dims: tuple[int, ...],
        train: Callable[[tuple[int, ...], int], tuple[float, float]],
        seeds: Sequence[int] = (0,),
    ) -> None:
        self.dims, self.train, self.seeds = tuple(dims), train, tuple(seeds)
        self.cache: dict[tuple[tuple[int, ...], int], tuple[float, float]] = {}

    @classmethod
    def from_space(cls, space: JointSpace, config: TableConfig, data: TableData) -> LiveBenchmark:
        """Pipelines of ``space`` trained as the joint table trains them, with the seeds of ``config``."""

        def train(pipeline: tuple[int, ...], seed: int) -> tuple[float, float]:
            row = evaluate_pipeline(space, *pipeline, seed, config, data)
            return row["val_accuracy"], float(row["flops"])

        return cls(space.dims, train, config.seeds)

    def evaluate(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        out = []
        for row in check_actions(actions, self.dims):
            key = (tuple(int(a) for a in row), int(rng.choice(self.seeds)))
            if key not in self.cache:
                self.cache[key] = self.train(*key)
            out.append(self.cache[key])
        acc, flops = np.array(out).T
        return acc, flops


def search_pipelines(
    searcher: Searcher,
    benchmark: Benchmark,
    n_batches: int,
    batch_size: int,
    seed: int,
    constraint: float | None = None,
    mean_reward: np.ndarray | None = None,
) -> pd.DataFrame:
    """Run ``searcher`` for ``n_batches`` batches of ``batch_size`` pipelines.

    Each batch: ``actions = searcher.propose(batch_size, rng)``, ``benchmark.evaluate(actions,
    rng)``, the reward :func:`~edgelearn.ma2ml.flops_reward` (the accuracy when ``constraint`` is
    None), ``searcher.observe(actions, reward)``; ``rng`` is the numpy generator of ``seed``.

    Returns one row per evaluated pipeline: batch, pipeline indices ``a0, a1, ...``, observed
    accuracy, FLOPs and reward. With ``mean_reward`` (the table's seed-averaged reward, shape
    ``dims``) each row also carries the exact expected reward of the searcher's joint policy
    *before* the batch (``policy_value``, the policy the monotonic-improvement check tracks) and,
    for MA2ML, of its joint target policy (``target_value``).
    """
    if n_batches < 1 or batch_size < 1:
        raise ValueError("'n_batches' and 'batch_size' must be >= 1")
    rng = numpy_generator(check_seed(seed))
    has_target = hasattr(searcher, "target_joint_policy")
    rows = []
    for k in range(n_batches):
        value = target = np.nan
        if mean_reward is not None:
            value = float((searcher.joint_policy() * mean_reward).sum())
            if has_target:
                target = float((searcher.target_joint_policy() * mean_reward).sum())
        actions = searcher.propose(batch_size, rng)
        accuracy, flops = benchmark.evaluate(actions, rng)
        reward = flops_reward(accuracy, flops, constraint)
        searcher.observe(actions, reward)
        for a, acc, fl, r in zip(actions, accuracy, flops, reward):
            rows.append(
                {
                    "batch": k,
                    **{f"a{i}": int(v) for i, v in enumerate(a)},
                    "accuracy": float(acc),
                    "flops": float(fl),
                    "reward": float(r),
                    "policy_value": value,
                    "target_value": target,
                }
            )
    return pd.DataFrame(rows)


def top_k_curve(history: pd.DataFrame, true_value: np.ndarray, k: int) -> pd.DataFrame:
    """After each batch, the mean *true* value (seed-averaged table) of the best ``k`` distinct
    pipelines found so far, ranked by their observed rewards (the poster's top-k curves)."""
    cols = [c for c in history.columns if c.startswith("a") and c[1:].isdigit()]
    out, seen = [], {}
    for batch, group in history.groupby("batch"):
        for row in group.itertuples(index=False):
            key = tuple(getattr(row, c) for c in cols)
            seen[key] = max(seen.get(key, -np.inf), row.reward)
        best = sorted(seen, key=seen.get, reverse=True)[:k]
        out.append(
            {
                "batch": batch,
                "top_k_true": float(np.mean([true_value[b] for b in best])),
                "best_true": float(max(true_value[b] for b in seen)),
                "distinct": len(seen),
            }
        )
    return pd.DataFrame(out)
