r"""The EXP3 chapter's experiments: one function per table, and :func:`run` for all of them.

Every table is tidy (one row per run x checkpoint, or per arm) and carries the labels a reader
needs (sequence, method, :math:`K`, :math:`T`, :math:`\eta`). The chapter's notebook
(``notebooks/exp3.md``) calls :func:`run` once and draws its figures from the returned tables
(:mod:`edgelearn.exp3.plots`); :mod:`edgelearn.exp3.claims` judges the chapter's claims from the
same tables. Seeds: every experiment derives its learners' and its loss sequences' seeds from
one base ``seed`` with fixed offsets, so the same seed gives the same tables, and learners compared
on one loss sequence share its seed (common random numbers: runs are paired by ``run``).

Tables (name: what it holds):

* ``regret_curves`` — EXP3 at :math:`\eta^*` and UCB1 on the stochastic and the trap sequence,
  regret at ``cfg.checkpoints`` rounds up to ``cfg.horizon``;
* ``regret_vs_horizon`` — EXP3 with :math:`\eta^*(T)` tuned to each horizon of ``cfg.horizons``;
* ``regret_vs_eta`` — EXP3 at :math:`\eta = c\,\eta^*` for each factor :math:`c` of ``cfg.eta_factors``;
* ``regret_vs_prior`` — EXP3 from a prior uniform on :math:`K'` of the arms, holding the best arm or not
  (Corollary cor-exp3-prior, parts 1 and 3);
* ``regret_full_prior`` — EXP3 from full-support priors: uniform, a discretised Gaussian centred on the
  best arm and one centred off it (part 2, the GBS form);
* ``regret_doubling`` — EXP3 with the doubling trick (no horizon needed) on the stochastic sequence of
  ``regret_curves`` (same loss seed: paired with it by ``run``), Exercise ex-exp3-doubling;
* ``estimator`` — a Monte Carlo check of Lemma lem-exp3-estimator (unbiased estimates, second moment).

:func:`run` cuts the experiments into :func:`units` (one learner on one loss sequence) that it spreads
over processes and, for ``make record PAPER=exp3`` (the ``deciding`` scale), keeps as they finish.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict
from itertools import count
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from edgelearn.core.pool import resumable_map
from edgelearn.core.results import Recorder
from edgelearn.core.stats import mean_ci
from edgelearn.core.store import DiskCache
from edgelearn.exp3.bandits import BernoulliLosses, LossSequence, TrapLosses, Ucb1, play
from edgelearn.exp3.exp3 import DOUBLING_FACTOR, SCALES, Exp3, Exp3Doubling, Exp3Scale, optimal_eta, regret_bound

#: What the chapter's results depend on (for :class:`~edgelearn.core.results.Recorder`). Named here
#: rather than imported by ``edgelearn.exp3`` itself, so that *Slicing for AI*, which imports EXP3,
#: does not go stale when the chapter's experiments or verdict rules change.
MODULES = ("edgelearn.exp3", "edgelearn.exp3.experiments", "edgelearn.exp3.claims")
DATA_SOURCE = "synthetic loss sequences (no data set)"
TABLES = (
    "regret_curves",
    "regret_vs_horizon",
    "regret_vs_eta",
    "regret_vs_prior",
    "regret_full_prior",
    "estimator",
    "regret_doubling",
)


def _selected(index: Iterator[int], part: int | None) -> bool:
    """Whether an experiment runs its next configuration: every one when ``part`` is None, else only
    its ``part``-th (0-based), one unit of work of :func:`run` (see :data:`PARTS`)."""
    i = next(index)
    return part is None or i == part


def _frames(frames: list[pd.DataFrame], name: str, part: int | None) -> pd.DataFrame:
    if not frames:
        raise ValueError(f"{name} has no configuration {part!r} at this scale (see PARTS)")
    return pd.concat(frames, ignore_index=True)


def sequences(cfg: Exp3Scale, n_arms: int | None = None) -> dict[str, LossSequence]:
    """The two loss sequences: ``stochastic`` (arm 0 better by ``cfg.gap``) and ``adversarial`` (the trap)."""
    k = cfg.n_arms if n_arms is None else n_arms
    return {"stochastic": BernoulliLosses.with_gap(k, cfg.gap), "adversarial": TrapLosses(k)}


def regret_curves(cfg: Exp3Scale, seed: int, part: int | None = None) -> pd.DataFrame:
    r"""EXP3 (at :math:`\eta^* = \sqrt{2\ln K/(TK)}`) and UCB1 on both sequences, ``cfg.checkpoints`` points each.

    ``part``: only that configuration (sequence x method), as in every experiment of this module."""
    K, T = cfg.n_arms, cfg.horizon
    eta_star = float(optimal_eta(T, K))
    frames, index = [], count()
    for i, (name, losses) in enumerate(sequences(cfg).items()):
        for method in ("EXP3", "UCB1"):
            if not _selected(index, part):
                continue
            if method == "EXP3":
                learner: Exp3 | Ucb1 = Exp3(K, eta_star, n_runs=cfg.n_runs, seed=seed + 100 * i)
            else:
                learner = Ucb1(K, n_runs=cfg.n_runs)
            result = play(learner, losses, T, seed=seed + 1000 + i, n_checkpoints=cfg.checkpoints)
            frames.append(result.frame(method=method, sequence=name, n_arms=K, eta=eta_star, horizon=T))
    return _frames(frames, "regret_curves", part)


def regret_vs_horizon(cfg: Exp3Scale, seed: int, part: int | None = None) -> pd.DataFrame:
    r"""EXP3's regret at each horizon of ``cfg.horizons``, a fresh learner per horizon with :math:`\eta^*(T)`."""
    K = cfg.n_arms
    frames, index = [], count()
    for i, (name, losses) in enumerate(sequences(cfg).items()):
        for j, horizon in enumerate(cfg.horizons):
            if not _selected(index, part):
                continue
            eta = float(optimal_eta(horizon, K))
            learner = Exp3(K, eta, n_runs=cfg.n_runs, seed=seed + 10_000 + 100 * i + j)
            result = play(learner, losses, horizon, seed=seed + 20_000 + 100 * i + j, n_checkpoints=1)
            frames.append(result.frame(method="EXP3", sequence=name, n_arms=K, eta=eta, horizon=horizon))
    return _frames(frames, "regret_vs_horizon", part)


def regret_vs_eta(cfg: Exp3Scale, seed: int, part: int | None = None) -> pd.DataFrame:
    r"""EXP3's regret at ``cfg.eta_horizon`` for :math:`\eta = c\,\eta^*`, :math:`c` in ``cfg.eta_factors``."""
    K, T = cfg.n_arms, cfg.eta_horizon
    eta_opt = float(optimal_eta(T, K))
    frames, index = [], count()
    for i, (name, losses) in enumerate(sequences(cfg).items()):
        for j, factor in enumerate(cfg.eta_factors):
            if not _selected(index, part):
                continue
            learner = Exp3(K, factor * eta_opt, n_runs=cfg.n_runs, seed=seed + 30_000 + 100 * i + j)
            result = play(learner, losses, T, seed=seed + 40_000 + 100 * i + j, n_checkpoints=1)
            frames.append(
                result.frame(method="EXP3", sequence=name, n_arms=K, eta=factor * eta_opt, eta_factor=factor, horizon=T)
            )
    return _frames(frames, "regret_vs_eta", part)


def regret_vs_prior(cfg: Exp3Scale, seed: int, part: int | None = None) -> pd.DataFrame:
    r"""EXP3 from a prior uniform on :math:`K'` of ``cfg.prior_arms`` arms (the SBS form), stochastic losses.

    For each :math:`K'` of ``cfg.prior_sizes`` the subset either holds the best arm (arm 0; then
    :math:`\eta` is tuned to :math:`K'` as in Corollary cor-exp3-prior, part 1) or misses it (arms
    :math:`1..K'`; part 3). All runs of all priors share one loss sequence per run.
    """
    K_p, T_p = cfg.prior_arms, cfg.prior_horizon
    losses = BernoulliLosses.with_gap(K_p, cfg.gap)  # arm 0 is the best arm
    frames, index = [], count()
    for j, size in enumerate(cfg.prior_sizes):
        for holds_best in (True, False):
            if not holds_best and size == K_p:
                continue  # the full set always holds the best arm
            if not _selected(index, part):
                continue
            support = np.arange(size) if holds_best else np.arange(1, size + 1)
            prior = np.zeros(K_p)
            prior[support] = 1.0 / size
            eta = float(optimal_eta(T_p, K_p, prior_best=1 / size, support=size)) if size > 1 else 1.0
            learner = Exp3(K_p, eta, n_runs=cfg.n_runs, prior=prior, seed=seed + 50_000 + 10 * j + holds_best)
            result = play(learner, losses, T_p, seed=seed + 60_000, n_checkpoints=1)
            frames.append(
                result.frame(method="EXP3", subset_size=size, holds_best=holds_best, eta=eta, n_arms=K_p, horizon=T_p)
            )
    return _frames(frames, "regret_vs_prior", part)


def gaussian_prior(n_arms: int, centre: float, width: float) -> np.ndarray:
    r"""The discretised Gaussian prior :math:`p_{0,i} \propto \exp(-(i-\mu)^2/(2\sigma^2))` of GBS (full support)."""
    p = np.exp(-0.5 * ((np.arange(n_arms) - centre) / width) ** 2)
    return p / p.sum()


def full_support_priors(n_arms: int) -> dict[str, np.ndarray]:
    """The priors of :func:`regret_full_prior`: uniform, and a Gaussian of width 1 arm centred on the
    best arm (arm 0) or two arms away from it, where it puts less than :math:`1/K` on the best arm."""
    return {
        "uniform": np.full(n_arms, 1.0 / n_arms),
        "Gaussian on the best arm": gaussian_prior(n_arms, 0.0, 1.0),
        "Gaussian off the best arm": gaussian_prior(n_arms, 2.0, 1.0),
    }


def regret_full_prior(cfg: Exp3Scale, seed: int, part: int | None = None) -> pd.DataFrame:
    r"""EXP3 from full-support priors (Corollary cor-exp3-prior, part 2) on stochastic losses.

    :math:`K` = ``cfg.n_arms``, :math:`T` = ``cfg.eta_horizon``; each prior gets the learning rate
    :math:`\eta^* = \sqrt{2\ln(1/p_{0,i^*})/(TK)}` that minimises its bound. The priors share one
    loss sequence per run, so they are paired by ``run``.
    """
    K, T = cfg.n_arms, cfg.eta_horizon
    losses = BernoulliLosses.with_gap(K, cfg.gap)  # arm 0 is the best arm
    frames, index = [], count()
    for j, (name, prior) in enumerate(full_support_priors(K).items()):
        if not _selected(index, part):
            continue
        eta = float(optimal_eta(T, K, prior_best=float(prior[0]), support=K))
        learner = Exp3(K, eta, n_runs=cfg.n_runs, prior=prior, seed=seed + 70_000 + j)
        result = play(learner, losses, T, seed=seed + 80_000, n_checkpoints=1)
        frames.append(
            result.frame(
                method="EXP3", sequence="stochastic", prior=name, prior_best=float(prior[0]), eta=eta, n_arms=K,
                horizon=T,
            )
        )  # fmt: skip
    return _frames(frames, "regret_full_prior", part)


def estimator(cfg: Exp3Scale, seed: int) -> pd.DataFrame:
    r"""Monte Carlo check of Lemma lem-exp3-estimator over ``cfg.estimator_draws`` independent rounds.

    One round of EXP3 from a random full-support distribution :math:`p` on ``cfg.n_arms`` arms, with
    fixed losses :math:`\ell`. Rows ``quantity == "estimate"`` (one per arm): the mean of
    :math:`\hat\ell_i` over the draws, its standard error, and the expected value :math:`\ell_i`; row
    ``"second moment"``: the mean of :math:`\sum_i p_i\hat\ell_i^{\,2} = \ell_{A}^2/p_{A}` against
    :math:`\sum_i \ell_i^2`.
    """
    K, n = cfg.n_arms, cfg.estimator_draws
    rng = np.random.default_rng(seed + 90_000)
    prior = 0.5 * rng.dirichlet(np.ones(K)) + 0.5 / K  # every arm at least 1/(2K)
    losses = rng.random(K)
    learner = Exp3(K, 0.1, n_runs=n, prior=prior, seed=seed + 90_001)
    arms = learner.sample()
    est = np.zeros((n, K))
    est[np.arange(n), arms] = learner.update(arms, losses[arms])
    second = (prior[None, :] * est**2).sum(axis=1)
    rows = [
        {"quantity": "estimate", "arm": i, "p": prior[i], "expected": losses[i], "mean": est[:, i].mean(),
         "se": est[:, i].std(ddof=1) / np.sqrt(n), "draws": n}
        for i in range(K)
    ]  # fmt: skip
    rows.append(
        {"quantity": "second moment", "arm": -1, "p": 1.0, "expected": float((losses**2).sum()),
         "mean": second.mean(), "se": second.std(ddof=1) / np.sqrt(n), "draws": n}
    )  # fmt: skip
    return pd.DataFrame(rows)


def regret_doubling(cfg: Exp3Scale, seed: int) -> pd.DataFrame:
    """EXP3 with the doubling trick on the stochastic sequence for ``cfg.horizon`` rounds (Exercise ex-exp3-doubling).

    The loss seed is that of the stochastic sequence of :func:`regret_curves`, so run ``r`` sees the same
    losses as EXP3 at :math:`\\eta^*` there.
    """
    K, T = cfg.n_arms, cfg.horizon
    learner = Exp3Doubling(K, n_runs=cfg.n_runs, seed=seed + 95_000)
    result = play(learner, sequences(cfg)["stochastic"], T, seed=seed + 1000, n_checkpoints=cfg.checkpoints)
    return result.frame(method="EXP3 (doubling)", sequence="stochastic", n_arms=K, horizon=T)


MAKERS = {
    "regret_curves": regret_curves,
    "regret_vs_horizon": regret_vs_horizon,
    "regret_vs_eta": regret_vs_eta,
    "regret_vs_prior": regret_vs_prior,
    "regret_full_prior": regret_full_prior,
    "estimator": estimator,
    "regret_doubling": regret_doubling,
}
"""The function that makes each table of :data:`TABLES`."""

PARTS = {
    "regret_curves": lambda cfg: 2 * 2,  # sequence x (EXP3, UCB1)
    "regret_vs_horizon": lambda cfg: 2 * len(cfg.horizons),
    "regret_vs_eta": lambda cfg: 2 * len(cfg.eta_factors),
    "regret_vs_prior": lambda cfg: sum(1 if size == cfg.prior_arms else 2 for size in cfg.prior_sizes),
    "regret_full_prior": lambda cfg: len(full_support_priors(cfg.n_arms)),
}
"""Tables made of independent configurations (their functions take ``part``): how many each has. The
others are one unit each. A configuration runs all its runs at once (they are vectorised), so a unit
is one learner on one loss sequence: splitting it would change its random numbers."""


def units(cfg: Exp3Scale, seed: int) -> list[tuple[str, Exp3Scale, int, int | None]]:
    """The units of work of :func:`run`, as arguments of :func:`unit`: one per configuration."""
    return [
        (name, cfg, seed, part) for name in TABLES for part in (range(PARTS[name](cfg)) if name in PARTS else (None,))
    ]


def unit(name: str, cfg: Exp3Scale, seed: int, part: int | None) -> pd.DataFrame:
    """One unit of work: configuration ``part`` of table ``name`` (the whole table when ``None``)."""
    return MAKERS[name](cfg, seed) if part is None else MAKERS[name](cfg, seed, part)


def timed_unit(name: str, cfg: Exp3Scale, seed: int, part: int | None) -> tuple[pd.DataFrame, float]:
    """:func:`unit` and its wall time in seconds (what a resumable run keeps per unit)."""
    start = time.perf_counter()
    return unit(name, cfg, seed, part), time.perf_counter() - start


def unit_rounds(task: tuple[str, Exp3Scale, int, int | None]) -> float:
    """A unit's rough cost in learner rounds (all its runs advance together), to start the longest first."""
    name, cfg, _, part = task
    if name == "regret_vs_horizon":
        return float(cfg.horizons[part % len(cfg.horizons)])  # type: ignore[operator]
    if name in ("regret_vs_eta", "regret_full_prior"):
        return float(cfg.eta_horizon)
    if name == "regret_vs_prior":
        return float(cfg.prior_horizon)
    if name == "estimator":
        return 0.0
    return float(cfg.horizon)


def run(
    scale: str,
    seed: int = 0,
    recorder: Recorder | None = None,
    workers: int | None = 1,
    backend: str = "process",
    checkpoints: Path | None = None,
    config: Exp3Scale | None = None,
) -> dict[str, pd.DataFrame]:
    """Run every experiment of the chapter at ``scale`` and return its tables by name (:data:`TABLES`).

    The experiments are cut into :func:`units` (one learner on one loss sequence, all its runs),
    spread over ``workers`` processes by :func:`~edgelearn.core.pool.resumable_map` (``None``: every
    core; the default 1 runs them here, one after the other), longest first. ``checkpoints``: a
    folder that keeps each finished unit, so that an interrupted run (``make record``) resumes and
    loses at most the units in flight; a progress bar shows then. Same ``seed``, same tables,
    whatever the workers, the backend or the interruptions. With a ``recorder`` each table is saved
    with its provenance (``wall_time_s``: its units' time, as if run one after the other); the
    ``regret_curves`` record also notes the number of units and the run's wall time (``run_seconds``).
    ``config`` replaces the scale's sizes (e.g. a smaller one in a test).
    """
    cfg = config or SCALES[scale]
    tasks = units(cfg, seed)
    order = sorted(range(len(tasks)), key=lambda i: -unit_rounds(tasks[i]))
    cache = DiskCache(checkpoints, "edgelearn.exp3.experiments") if checkpoints is not None else None
    start = time.perf_counter()
    with tqdm(total=len(tasks), desc="EXP3 units", unit="unit", disable=cache is None) as bar:
        outputs = resumable_map(
            timed_unit,
            [tasks[i] for i in order],
            cache,
            workers,
            backend,
            progress=lambda _: bar.update(),
            spec=lambda task: [task[0], asdict(task[1]), task[2], task[3]],
        )
    run_seconds = round(time.perf_counter() - start, 1)
    done = dict(zip(order, outputs, strict=True))
    tables, seconds = {}, {}
    for name in TABLES:  # each table's units in their order (task order), whatever order they ran in
        mine = [done[i] for i, task in enumerate(tasks) if task[0] == name]
        tables[name] = pd.concat([frame for frame, _ in mine], ignore_index=True)
        seconds[name] = sum(s for _, s in mine)
    if recorder is not None:
        for name in TABLES:  # wall_time_s: the table's own units, one after the other
            extra = {"units": len(tasks), "run_seconds": run_seconds} if name == "regret_curves" else {}
            recorder.save(name, tables[name], wall_time_s=round(seconds[name], 3), **extra)
    return tables


def recorder(scale: str, seed: int = 0) -> Recorder:
    """The :class:`~edgelearn.core.results.Recorder` of the chapter's run at ``scale`` (modules: :data:`MODULES`)."""
    cfg = SCALES[scale]
    return Recorder(
        "exp3",
        scale,
        seeds={"base_seed": seed, "runs_per_configuration": cfg.n_runs},
        data_source=DATA_SOURCE,
        config=cfg,
        modules=MODULES,
    )


# -- summaries the chapter shows ----------------------------------------------------------------
def final_regret(curves: pd.DataFrame) -> pd.DataFrame:
    """Regret at the horizon of ``regret_curves`` per sequence and method: mean, 95 % CI, bound, ratios."""
    final = curves[curves.t == curves.horizon]
    out = mean_ci(final, ["sequence", "method", "n_arms", "eta", "horizon"], "regret")
    out["bound"] = regret_bound(out.horizon, out.n_arms.iloc[0], out.eta)
    out["mean / bound"] = out["mean"] / out["bound"]
    out["regret / T"] = out["mean"] / out.horizon
    return out


def by_horizon(table: pd.DataFrame) -> pd.DataFrame:
    r"""``regret_vs_horizon`` summarised per sequence and horizon, with the bound :math:`\sqrt{2TK\ln K}`."""
    out = mean_ci(table, ["sequence", "horizon", "n_arms"], "regret")
    out["bound"] = np.sqrt(2 * out.horizon * out.n_arms * np.log(out.n_arms))
    out["mean / bound"] = out["mean"] / out["bound"]
    return out


def by_eta(table: pd.DataFrame) -> pd.DataFrame:
    r"""``regret_vs_eta`` summarised per sequence and :math:`\eta`, with the bound :math:`\ln K/\eta + \eta TK/2`."""
    out = mean_ci(table, ["sequence", "eta_factor", "eta", "n_arms", "horizon"], "regret")
    out["bound"] = regret_bound(out.horizon, out.n_arms.iloc[0], out.eta)
    return out


def by_prior(table: pd.DataFrame) -> pd.DataFrame:
    r"""``regret_vs_prior`` summarised per subset, with the bound :math:`\sqrt{2TK'\ln K'}` where the
    subset holds the best arm."""
    out = mean_ci(table, ["holds_best", "subset_size", "horizon"], "regret")
    k = out.subset_size.astype(float)
    out["bound"] = np.where(out.holds_best, np.sqrt(2 * out.horizon * k * np.log(k)), np.nan)
    out["regret / T"] = out["mean"] / out.horizon
    return out


def by_doubling(table: pd.DataFrame) -> pd.DataFrame:
    r"""``regret_doubling`` per checkpoint, with the bound :math:`\frac{\sqrt 2}{\sqrt 2-1}\sqrt{2tK\ln K}`."""
    out = mean_ci(table, ["t", "n_arms"], "regret")
    out["bound"] = DOUBLING_FACTOR * np.sqrt(2 * out.t * out.n_arms * np.log(out.n_arms))
    out["mean / bound"] = out["mean"] / out["bound"]
    return out


def by_full_prior(table: pd.DataFrame) -> pd.DataFrame:
    r"""``regret_full_prior`` per prior, with the bound :math:`\ln(1/p_{0,i^*})/\eta + \eta TK/2`."""
    out = mean_ci(table, ["prior", "prior_best", "eta", "n_arms", "horizon"], "regret")
    out["bound"] = [float(regret_bound(r.horizon, r.n_arms, r.eta, prior_best=r.prior_best)) for r in out.itertuples()]
    return out.sort_values("prior_best", ascending=False, ignore_index=True)
