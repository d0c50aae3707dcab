r"""Bandit environments (loss sequences), a stochastic baseline, and the play loop.

Shared by the EXP3 chapter and by *Slicing for AI*.

Loss sequences are *oblivious*: the whole sequence :math:`(\ell_t)_{t\le T}` is fixed
before the learner plays (drawn from the sequence's own seed, independent of the
learner's), which is the setting of EXP3's regret bound. Every learner on the same
sequence and seed sees the same losses (common random numbers), so comparisons are paired.

Regret is measured against the best arm *in hindsight* on the realised sequence,

.. math:: R_t = \sum_{s\le t} \ell_{s,A_s} - \min_i \sum_{s \le t} \ell_{s,i},

whose expectation is the quantity the theorem bounds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd


class Learner(Protocol):
    """What :func:`play` needs from a bandit learner advancing ``n_runs`` runs at once."""

    n_runs: int

    def sample(self) -> np.ndarray: ...

    def update(self, arms: np.ndarray, losses: np.ndarray) -> object: ...


class LossSequence(Protocol):
    """An oblivious loss sequence over ``n_arms`` arms (loss columns), served in chunks of rounds."""

    n_arms: int

    def chunks(self, horizon: int, n_runs: int, seed: int, chunk: int = 1024) -> Iterator[np.ndarray]:
        """Yield arrays of shape ``(runs, rounds, n_arms)`` with losses in [0, 1]; ``runs`` is
        ``n_runs`` (a sequence per run) or 1 (one sequence shared by all runs)."""
        ...


@dataclass(frozen=True)
class BernoulliLosses:
    """Stochastic losses: :math:`\\ell_{t,i} \\sim \\mathrm{Bernoulli}(\\mu_i)` independently.

    Each run draws its own sequence. ``means`` must lie in [0, 1].
    """

    means: tuple[float, ...]

    def __post_init__(self) -> None:
        m = np.asarray(self.means, dtype=float)
        if m.ndim != 1 or m.size < 1 or np.any((m < 0) | (m > 1)):
            raise ValueError("'means' must be a non-empty sequence of probabilities in [0, 1]")

    @classmethod
    def with_gap(cls, n_arms: int, gap: float, base: float = 0.5) -> BernoulliLosses:
        """Arm 0 has mean loss ``base - gap``; every other arm ``base``."""
        if not 0 < gap <= base <= 1:
            raise ValueError(f"need 0 < gap <= base <= 1, got gap={gap}, base={base}")
        return cls((base - gap,) + (base,) * (n_arms - 1))

    @property
    def n_arms(self) -> int:
        return len(self.means)

    def chunks(self, horizon: int, n_runs: int, seed: int, chunk: int = 1024) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(seed)
        means = np.asarray(self.means)
        for start in range(0, horizon, chunk):
            rounds = min(chunk, horizon - start)
            yield (rng.random((n_runs, rounds, self.n_arms)) < means).astype(float)


@dataclass(frozen=True)
class TrapLosses:
    """The adversary that defeats any deterministic learner, here UCB1.

    An oblivious adversary may simulate a deterministic algorithm before the game starts:
    at each round it puts loss 1 on the arm UCB1 is about to play and 0 on every other
    arm. UCB1 then loses every round (total :math:`T`), while the arms' losses add up to
    :math:`T`, so the best arm in hindsight loses at most :math:`T/K`: UCB1's regret is at
    least :math:`T(1 - 1/K)`, linear in :math:`T`. The sequence is fixed in advance, so for
    EXP3 it is one more oblivious sequence and its bound holds; randomising the choice of
    arm is what protects it. The same sequence serves every run and every seed.
    """

    n_arms: int

    def __post_init__(self) -> None:
        if self.n_arms < 2:
            raise ValueError("'n_arms' must be >= 2")

    def chunks(self, horizon: int, n_runs: int, seed: int, chunk: int = 1024) -> Iterator[np.ndarray]:
        victim = Ucb1(self.n_arms, n_runs=1)
        for start in range(0, horizon, chunk):
            rounds = min(chunk, horizon - start)
            block = np.zeros((1, rounds, self.n_arms))
            for r in range(rounds):
                arm = victim.sample()
                block[0, r, arm[0]] = 1.0
                victim.update(arm, np.ones(1))
            yield block


class Ucb1:
    """UCB1 (Auer, Cesa-Bianchi & Fischer 2002) for losses: the stochastic baseline.

    Plays each arm once, then the arm minimising :math:`\\bar\\ell_i - \\sqrt{2\\ln t / n_i}`
    (ties to the lowest index). Deterministic given the losses; ``n_runs`` runs at once.
    """

    def __init__(self, n_arms: int, n_runs: int = 1) -> None:
        if n_arms < 1 or n_runs < 1:
            raise ValueError("'n_arms' and 'n_runs' must be >= 1")
        self.n_arms, self.n_runs = n_arms, n_runs
        self.counts = np.zeros((n_runs, n_arms))
        self.sums = np.zeros((n_runs, n_arms))
        self.t = 0
        self._rows = np.arange(n_runs)

    def sample(self) -> np.ndarray:
        if self.t < self.n_arms:
            return np.full(self.n_runs, self.t)
        index = self.sums / self.counts - np.sqrt(2.0 * np.log(self.t) / self.counts)
        return np.argmin(index, axis=1)

    def update(self, arms: np.ndarray, losses: np.ndarray) -> None:
        self.counts[self._rows, arms] += 1
        self.sums[self._rows, arms] += losses
        self.t += 1


@dataclass
class PlayResult:
    """Regret curves of one learner on one loss sequence: ``n_runs`` runs x checkpoints."""

    t: np.ndarray  # checkpoint rounds (1-based counts of rounds played)
    regret: np.ndarray  # (n_runs, len(t)) regret against the best arm in hindsight
    learner_loss: np.ndarray  # (n_runs, len(t)) cumulative loss of the learner
    best_loss: np.ndarray  # (n_runs, len(t)) cumulative loss of the best arm so far
    best_arm: np.ndarray  # (n_runs,) best arm in hindsight at the horizon
    tracked_prob: np.ndarray | None = field(default=None)  # (n_runs, len(t)) p_t of `track_arm`(s)

    def frame(self, **labels: object) -> pd.DataFrame:
        """Tidy table: one row per run x checkpoint, with ``labels`` as constant columns.

        Holds the regret (and ``p_tracked`` where tracked); the cumulative losses it is the
        difference of stay on the result, not in the table that is saved and recorded."""
        n_runs, n_t = self.regret.shape
        df = pd.DataFrame(
            {
                "run": np.repeat(np.arange(n_runs), n_t),
                "t": np.tile(self.t, n_runs),
                "regret": self.regret.ravel(),
            }
        )
        if self.tracked_prob is not None:
            df["p_tracked"] = self.tracked_prob.ravel()
        for key, value in labels.items():
            df[key] = value
        return df


def checkpoints(horizon: int, n: int) -> np.ndarray:
    """``n`` rounds spread evenly up to ``horizon``, ending at it (``n=1`` gives the horizon)."""
    if horizon < 1 or n < 1:
        raise ValueError("'horizon' and 'n' must be >= 1")
    n = min(n, horizon)
    return np.unique(np.linspace(horizon / n, horizon, n).round().astype(np.int64))


def play(
    learner: Learner,
    losses: LossSequence,
    horizon: int,
    seed: int,
    n_checkpoints: int = 100,
    track_arm: int | np.ndarray | None = None,
    arm_columns: np.ndarray | None = None,
) -> PlayResult:
    """Run ``learner`` for ``horizon`` rounds on ``losses`` (drawn from ``seed``).

    The learner sees only the loss of the arm it played (bandit feedback); the full loss
    vectors are used only to score it against the best arm in hindsight. ``track_arm``
    records the learner's probability of that arm (or total probability of those arms) at
    each checkpoint; it needs a learner with ``probabilities()`` (EXP3).

    ``arm_columns`` maps the learner's arms to columns of the loss sequence, for arms that
    share a loss (the decisions of a super action) or a learner restricted to some columns
    (reduced super actions); the comparator is always the best *column* in hindsight, so
    learners over different decision spaces are scored against the same optimum.
    """
    if horizon < 1:
        raise ValueError(f"'horizon' must be >= 1, got {horizon}")
    if arm_columns is not None:
        arm_columns = np.asarray(arm_columns, dtype=np.int64)
        if arm_columns.ndim != 1 or arm_columns.min() < 0 or arm_columns.max() >= losses.n_arms:
            raise ValueError(f"'arm_columns' must be a 1-d array of column indices in 0..{losses.n_arms - 1}")
    n_runs = learner.n_runs
    marks = checkpoints(horizon, n_checkpoints)
    out = {k: np.zeros((n_runs, marks.size)) for k in ("learner", "best", "prob")}
    cum_learner = np.zeros(n_runs)
    cum_columns = np.zeros((1, losses.n_arms))  # per sequence: 1 row if shared by all runs
    rows = np.arange(n_runs)
    t, mark = 0, 0
    for raw in losses.chunks(horizon, n_runs, seed):
        block = np.broadcast_to(raw, (n_runs,) + raw.shape[1:])  # a view: no copy per run
        rounds = block.shape[1]
        learner_block = np.empty((n_runs, rounds))
        for r in range(rounds):
            arms = learner.sample()
            loss = block[rows, r, arms if arm_columns is None else arm_columns[arms]]
            learner.update(arms, loss)
            learner_block[:, r] = loss
            t += 1
            if mark < marks.size and t == marks[mark]:
                if track_arm is not None:
                    probs = learner.probabilities()  # type: ignore[attr-defined]
                    out["prob"][:, mark] = probs[:, np.atleast_1d(track_arm)].sum(axis=1)
                mark += 1
        # Score the block's checkpoints with cumulative sums (vectorised over rounds), computed
        # on the sequence as drawn (one row when all runs share it), then broadcast to the runs.
        start = t - rounds
        inside = marks[(marks > start) & (marks <= t)] - start - 1
        columns_cum = cum_columns[:, None, :] + np.cumsum(raw, axis=1)[:, inside, :]
        learner_cum = cum_learner[:, None] + np.cumsum(learner_block, axis=1)[:, inside]
        first = np.searchsorted(marks, start + 1)
        out["learner"][:, first : first + inside.size] = learner_cum
        out["best"][:, first : first + inside.size] = columns_cum.min(axis=2)
        cum_columns = cum_columns + raw.sum(axis=1)
        cum_learner += learner_block.sum(axis=1)
    return PlayResult(
        t=marks,
        regret=out["learner"] - out["best"],
        learner_loss=out["learner"],
        best_loss=out["best"],
        best_arm=np.broadcast_to(cum_columns.argmin(axis=1), (n_runs,)).copy(),
        tracked_prob=out["prob"] if track_arm is not None else None,
    )
