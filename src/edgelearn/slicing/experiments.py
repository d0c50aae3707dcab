r"""The slicing chapter's experiments, one call per scale: :func:`run`.

``run(scale, seed, recorder)`` runs everything ``notebooks/slicing.md`` shows and saves each
tidy table through the :class:`~edgelearn.core.results.Recorder`:

* ``training_runs``: real classifiers trained over epochs x data fractions, one per service
  (:func:`training_runs`);
* ``accuracy_fit``: the exponential accuracy model fitted per service, our reading of the
  paper's eq. 19 (:func:`fit_models`);
* ``super_actions``: every super action of the main instance with its performance (eq. 4) under
  the fitted model *and* under the measured mean accuracies, and whether OLS-RSA keeps it
  (:func:`super_action_table`), so that OLS-RSA's elimination can be judged on measurements;
* ``space_sizes`` and ``slot_times``: the decision-space sizes and pre-learning times over a
  sweep of instances, and the time of one learning slot, both for our EXP3 and for the paper's
  dense :math:`O(K)` update (:func:`space_sizes`, :func:`slot_times`);
* ``regret_curves``: OLS, OLS-SA, OLS-RSA, the fixed allocation and uniform random play in three
  scenarios (:func:`regret_curves`);
* ``priors``: OLS-SA started from the uniform, SBS and GBS priors (:func:`prior_runs`).

The claims are judged from these tables by :mod:`edgelearn.slicing.claims`. Every random draw
is seeded from ``seed``, so the same seed gives the same tables (up to wall times).

``make record PAPER=slicing`` runs the chapter at its ``deciding`` scale through :func:`recorder`
and :func:`run`, whose learning experiments are cut into resumable units spread over processes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from functools import lru_cache
from itertools import count
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from edgelearn.core.pool import resumable_map
from edgelearn.core.results import Recorder
from edgelearn.core.stats import mean_ci
from edgelearn.core.store import DiskCache
from edgelearn.exp3 import Exp3, optimal_eta, play
from edgelearn.slicing.accuracy_model import AccuracyModel, TrainingGrid, fit_accuracy_model, is_monotone, run_grid
from edgelearn.slicing.ols import (
    OLS_VARIANTS,
    SCALES,
    FixedPolicy,
    SlicingLosses,
    SlicingScale,
    UniformPolicy,
    exp3_learner,
    fixed_allocation,
    gbs_prior,
    performance,
    sbs_prior,
)
from edgelearn.slicing.system import DecisionSpace, SlicingConfig, build_space, count_space, default_config

SCENARIOS: tuple[str, ...] = ("stationary", "drift", "switch")
STEP_COLUMNS: dict[str, str] = {
    "OLS": "feasible decisions (OLS) (s)",
    "OLS-SA": "super actions (OLS-SA) (s)",
    "OLS-RSA": "reduced super actions (OLS-RSA) (s)",
}
"""Columns of ``space_sizes`` holding each pre-learning step's time (steps 1-3, 4 and 5)."""
MAX_TIMED_ARMS = 50_000_000  # EXP3 over more arms needs more memory than a laptop has


# -- 0. the assumed constants -----------------------------------------------------------------
def assumption_tables(config: SlicingConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The instance's assumed constants for people: one row per service, and the shared grid and prices."""
    services = pd.DataFrame(
        [
            {
                "service": s.name,
                "priority w_m": s.priority,
                "samples N_m": s.samples,
                "bits per sample": s.bits_per_sample,
                "CPU cycles per sample and epoch": s.cycles_per_sample,
                "max latency (s)": s.max_latency_s,
                "max cost": s.max_cost,
            }
            for s in config.services
        ]
    )
    grid = pd.Series(
        {
            "data fractions d": config.fractions,
            "epochs e": config.epochs,
            "CPU levels (GHz)": config.cpu_ghz,
            "rate levels (Mbps)": config.rate_mbps,
            "total CPU (GHz)": config.total_cpu_ghz,
            "total rate (Mbps)": config.total_rate_mbps,
            "access delay (s)": config.access_delay_s,
            "price per GHz": config.price_cpu,
            "price per Mbps": config.price_rate,
        }
    ).to_frame("value")
    return services, grid


# -- 1. the accuracy model, fitted to real training runs ----------------------------------------
def training_runs(cfg: SlicingScale, config: SlicingConfig) -> tuple[pd.DataFrame, str]:
    """Train one classifier grid per service (:func:`run_grid`): the tidy table and its data source."""
    runs, sources = [], []
    for service, dataset, pool, n_test in zip(config.services, cfg.train_datasets, cfg.train_pools, cfg.train_tests):
        grid = TrainingGrid(
            dataset=dataset,
            arch=cfg.arch,
            pool=pool,
            n_test=n_test,
            fractions=cfg.train_fractions,
            max_epochs=cfg.levels,
            seeds=cfg.train_seeds,
        )
        df, source = run_grid(grid, progress=False)
        runs.append(df.assign(service=service.name))
        sources.append(f"{service.name}: {source}")
    return pd.concat(runs, ignore_index=True), " | ".join(sources)


def fit_models(training: pd.DataFrame, config: SlicingConfig) -> tuple[list[AccuracyModel], pd.DataFrame]:
    """Fit :class:`AccuracyModel` to each service's runs: the models and the ``accuracy_fit`` table."""
    models, rows = [], []
    epochs = np.asarray(config.epochs, float)
    for service in (s.name for s in config.services):
        model, diag = fit_accuracy_model(training[training.service == service])
        models.append(model)
        rows.append(
            {
                "service": service,
                **model.params,
                "r2": diag["r2"],
                "rmse": diag["rmse"],
                "max_abs_residual": diag["max_abs_residual"],
                "monotone": is_monotone(model, epochs, np.linspace(0.01, 1, 50)),
                **{f"se_{k}": v for k, v in diag["param_se"].items()},
            }
        )
    return models, pd.DataFrame(rows)


def models_from_fit(fit_table: pd.DataFrame) -> list[AccuracyModel]:
    """The fitted models back from the ``accuracy_fit`` table, in its row order."""
    return [AccuracyModel(r.a, r.b, r.alpha, r.beta) for r in fit_table.itertuples()]


def noise_sd(training: pd.DataFrame) -> float:
    """The simulator's per-slot noise: the mean spread of accuracy over training seeds (0.01 with one seed)."""
    if training.seed.nunique() < 2:
        return 0.01
    return float(training.groupby(["service", "fraction", "epoch"]).accuracy.std().fillna(0).mean())


def super_action_table(space: DecisionSpace, models: Sequence[AccuracyModel], training: pd.DataFrame) -> pd.DataFrame:
    """Every super action of ``space`` with its performance (eq. 4) under the fitted ``models`` and
    under the *measured* mean accuracies of ``training`` (mean over training seeds, with its
    standard error ``perf_measured_se``; NaN where a grid cell was not measured or has one seed).

    Columns: ``sa``, ``in_rsa`` (OLS-RSA keeps it), ``fixed`` (the fixed allocation),
    ``d_<m>``/``e_<m>`` per service, ``perf_model``, ``perf_measured``, ``perf_measured_se``.
    """
    fractions, epochs = space.hyper_values()
    w = space.config.priorities / space.config.priorities.sum()
    cells = (
        training.assign(fraction=training.fraction.round(4))
        .groupby(["service", "fraction", "epoch"])
        .accuracy.agg(["mean", "sem"])
    )
    measured, se2 = np.zeros(len(space.hyper)), np.zeros(len(space.hyper))
    for m, service in enumerate(s.name for s in space.config.services):
        keys = pd.MultiIndex.from_arrays([[service] * len(fractions), fractions[:, m].round(4), epochs[:, m]])
        found = cells.reindex(keys)
        measured += w[m] * found["mean"].to_numpy()
        se2 += (w[m] * found["sem"].to_numpy()) ** 2
    table = pd.DataFrame(
        {"sa": np.arange(len(space.hyper)), "in_rsa": np.isin(np.arange(len(space.hyper)), space.reduced)}
    )
    table["fixed"] = table.sa == fixed_allocation(space)
    for m in range(space.config.n_services):
        table[f"d_{m}"], table[f"e_{m}"] = fractions[:, m], epochs[:, m]
    table["perf_model"] = performance(space, list(models))
    table["perf_measured"], table["perf_measured_se"] = measured, np.sqrt(se2)
    return table


# -- 2. pre-learning: sizes and times ----------------------------------------------------------
def space_sizes(cfg: SlicingScale, max_built: int = 3_000_000, repeats: int = 5) -> pd.DataFrame:
    """|F|, |SA|, |RSA| over the sweep of services x levels (``count_space``, timed), and each
    pre-learning step's time where ``build_space`` fits (|F| <= ``max_built``): the median of
    ``repeats`` builds, so that one slow moment of a shared machine does not decide a ratio."""
    if repeats < 1:
        raise ValueError(f"'repeats' must be >= 1, got {repeats}")
    rows = []
    for n_services in cfg.size_services:
        for levels in cfg.size_levels:
            instance = default_config(n_services, levels)
            t0 = time.perf_counter()
            counted = count_space(instance)
            row = {"services": n_services, "levels": levels, **{f"|{k}|": v for k, v in counted.items()}}
            row["count_s"] = time.perf_counter() - t0
            if counted["OLS"] <= max_built:
                builds = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    built = build_space(instance)
                    builds.append(
                        {"build_s": time.perf_counter() - t0, **{f"{k} (s)": v for k, v in built.seconds.items()}}
                    )
                row.update(pd.DataFrame(builds).median().to_dict())
                row["timings"] = repeats
            rows.append(row)
    return pd.DataFrame(rows)


def exp3_slot_seconds(n_arms: int, horizon: int, seed: int, slots: int = 400) -> float:
    """Seconds per slot of our EXP3 (blocked weights, :math:`O(\\sqrt K)` a slot), one run."""
    learner = Exp3(int(n_arms), float(optimal_eta(horizon, max(n_arms, 2))), n_runs=1, seed=seed)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for _ in range(slots):
        learner.update(learner.sample(), rng.random(1))
    return (time.perf_counter() - t0) / slots


def dense_slot_seconds(n_arms: int, horizon: int, seed: int, budget: float = 2e6) -> float:
    """Seconds per slot of the paper's EXP3 (§IV-A1), which normalises the whole probability
    vector every slot: :math:`O(K)`. Times ``min(400, budget / K)`` slots (at least 5)."""
    rng = np.random.default_rng(seed)
    eta = float(optimal_eta(horizon, max(n_arms, 2)))
    log_w = np.zeros(int(n_arms))
    slots = int(np.clip(budget // max(n_arms, 1), 5, 400))
    t0 = time.perf_counter()
    for _ in range(slots):
        p = np.exp(log_w - log_w.max())
        p /= p.sum()
        arm = min(int(np.searchsorted(np.cumsum(p), rng.random())), n_arms - 1)
        log_w[arm] -= eta * rng.random() / p[arm]
    return (time.perf_counter() - t0) / slots


def slot_times(size_table: pd.DataFrame, horizon: int, seed: int) -> pd.DataFrame:
    """Per-slot time of each learner on every instance of ``size_table``: ours and the dense update."""
    rows = []
    for _, row in size_table.iterrows():
        for method in OLS_VARIANTS:
            size = int(row[f"|{method}|"])
            if size > MAX_TIMED_ARMS:
                continue
            rows.append(
                {
                    "services": row.services,
                    "levels": row.levels,
                    "method": method,
                    "size": size,
                    "seconds_per_slot": exp3_slot_seconds(size, horizon, seed),
                    "dense_seconds_per_slot": dense_slot_seconds(size, horizon, seed),
                }
            )
    return pd.DataFrame(rows)


# -- 3. learning online ------------------------------------------------------------------------
def scenarios(space: DecisionSpace, models: Sequence[AccuracyModel], noise: float) -> dict[str, SlicingLosses]:
    """The three loss sequences of the chapter (:class:`SlicingLosses`)."""
    return {name: SlicingLosses(space, tuple(models), scenario=name, noise_sd=noise) for name in SCENARIOS}


def _selected(index: Iterator[int], part: int | None) -> bool:
    """Whether an experiment runs its next configuration: every one when ``part`` is None, else only
    its ``part``-th (0-based), one unit of work of :func:`run`."""
    i = next(index)
    return part is None or i == part


def _frames(frames: list[pd.DataFrame], name: str, part: int | None) -> pd.DataFrame:
    if not frames:
        raise ValueError(f"{name} has no configuration {part!r} at this scale (see n_parts)")
    return pd.concat(frames, ignore_index=True)


def optimal_super_action(losses: SlicingLosses, horizon: int) -> int:
    """The super action with the lowest expected loss averaged over the horizon (64 slots sampled)."""
    slots = np.linspace(0, horizon - 1, 64).astype(int)
    return int(np.argmin(np.mean([losses.expected_losses(t, horizon) for t in slots], axis=0)))


def regret_curves(
    space: DecisionSpace, sequences: dict[str, SlicingLosses], cfg: SlicingScale, seed: int, part: int | None = None
) -> pd.DataFrame:
    """Regret curves of OLS, OLS-SA, OLS-RSA (EXP3 at their own :math:`\\eta^*`), the fixed
    allocation and uniform random play over the super actions, in every scenario; all are scored
    against the best super action in hindsight. ``p_tracked``: the learner's probability of the
    scenario's optimal super action (:func:`optimal_super_action`). ``part``: only that configuration
    (scenario x method, in the order of the loops), one unit of work of :func:`run`."""
    T, curves, index = cfg.horizon, [], count()
    for i, (name, losses) in enumerate(sequences.items()):
        best = optimal_super_action(losses, T)
        for j, method in enumerate(OLS_VARIANTS):
            if not _selected(index, part):
                continue
            learner, columns = exp3_learner(space, method, T, n_runs=cfg.n_runs, seed=seed + 100 * i + j)
            track = np.flatnonzero(columns == best)
            result = play(
                learner,
                losses,
                T,
                seed=seed + 1000 + i,
                n_checkpoints=cfg.checkpoints,
                track_arm=track if track.size else None,
                arm_columns=columns,
            )
            curves.append(result.frame(method=method, scenario=name, size=learner.n_arms, eta=learner.eta))
        for method in ("fixed", "uniform"):
            if not _selected(index, part):
                continue
            if method == "fixed":
                policy: FixedPolicy | UniformPolicy = FixedPolicy(fixed_allocation(space), cfg.n_runs)
            else:
                policy = UniformPolicy(len(space.hyper), cfg.n_runs, seed=seed + 100 * i + 50)
            result = play(policy, losses, T, seed=seed + 1000 + i, n_checkpoints=cfg.checkpoints)
            size = 1 if method == "fixed" else len(space.hyper)
            curves.append(result.frame(method=method, scenario=name, size=size, eta=np.nan))
    return _frames(curves, "regret_curves", part)


def final_regret(curves: pd.DataFrame) -> pd.DataFrame:
    """Regret at the horizon per scenario and method (mean, 95 % CI over runs), with the bound
    :math:`\\sqrt{2TK\\ln K}` of each EXP3 learner and the regret per slot."""
    T = int(curves.t.max())
    final = mean_ci(curves[curves.t == T], ["scenario", "method"], "regret")
    sizes = curves.groupby("method")["size"].first()
    learners = final.method.isin(OLS_VARIANTS)
    k = final.method.map(sizes).astype(float)
    final["bound"] = np.where(learners, np.sqrt(2 * T * k * np.log(np.maximum(k, 2))), np.nan)
    final["regret / T"] = final["mean"] / T
    return final


# -- 4. priors ---------------------------------------------------------------------------------
def middle(values: Sequence[float]) -> float:
    """The middle element of the sorted ``values`` (the upper one of an even count)."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def prior_runs(
    space: DecisionSpace,
    losses: SlicingLosses,
    best: int,
    cfg: SlicingScale,
    seed: int,
    n_checkpoints: int = 4,
    part: int | None = None,
) -> pd.DataFrame:
    """OLS-SA on ``losses`` from the uniform prior, SBS centred on the optimum ``best`` for every
    subset size, and SBS (middle size) and GBS (middle spread, and every spread at the smallest
    and the middle offset) with their centre moved away from the optimum towards the centre of the
    space. Columns: those of :meth:`PlayResult.frame`, ``method``, ``offset``, ``subset_size``,
    ``sigma``, ``holds_optimum`` (the prior gives the optimum positive mass) and ``space_size``.
    ``part``: only that prior configuration (in the order below), one unit of work of :func:`run`."""
    T, K = cfg.horizon, len(space.hyper)
    coords = space.coordinates()
    direction = coords.mean(axis=0) - coords[best]
    direction /= np.linalg.norm(direction)
    uniform_eta = float(optimal_eta(T, K))
    index = count()

    def one(
        prior: np.ndarray, eta: float, tag: str, k: int, offset=0.0, size=np.nan, sigma=np.nan
    ) -> pd.DataFrame | None:
        if not _selected(index, part):
            return None
        learner, columns = exp3_learner(
            space, "OLS-SA", T, n_runs=cfg.n_runs, seed=seed + 5_000 + k, prior=prior, eta=eta
        )
        result = play(learner, losses, T, seed=seed + 1000, n_checkpoints=n_checkpoints, arm_columns=columns)
        return result.frame(
            method=tag, offset=offset, subset_size=size, sigma=sigma, holds_optimum=bool(prior[best] > 0), space_size=K
        )

    def sbs_eta(size: int) -> float:
        return float(optimal_eta(T, K, 1 / size, size)) if size > 1 else 1.0

    sizes = [s for s in cfg.prior_sizes if s <= K]
    mid_size, mid_sigma = middle(sizes), middle(cfg.prior_sigmas)
    sweep_offsets = (min(cfg.prior_offsets), middle(cfg.prior_offsets))
    rows = [one(np.full(K, 1 / K), uniform_eta, "uniform", 0)]
    for k, size in enumerate(sizes):
        rows.append(one(sbs_prior(space, coords[best], size), sbs_eta(size), "SBS", 10 + k, size=size))
    for k, offset in enumerate(cfg.prior_offsets):
        centre = coords[best] + offset * direction
        rows.append(one(sbs_prior(space, centre, mid_size), sbs_eta(mid_size), "SBS", 20 + k, offset, size=mid_size))
        rows.append(one(gbs_prior(space, centre, mid_sigma), uniform_eta, "GBS", 30 + k, offset, sigma=mid_sigma))
        for j, sigma in enumerate(cfg.prior_sigmas):
            if sigma != mid_sigma and offset in sweep_offsets:
                rows.append(
                    one(gbs_prior(space, centre, sigma), uniform_eta, "GBS", 40 + 10 * k + j, offset, sigma=sigma)
                )
    return _frames([r for r in rows if r is not None], "priors", part)


def n_parts(table: str, cfg: SlicingScale, n_super_actions: int) -> int:
    """How many configurations (units of work) :func:`regret_curves` (``"regret_curves"``) or
    :func:`prior_runs` (``"priors"``) runs at ``cfg`` on a space of ``n_super_actions``."""
    if table == "regret_curves":
        return len(SCENARIOS) * (len(OLS_VARIANTS) + 2)  # + the fixed allocation and uniform play
    if table == "priors":
        sizes = [s for s in cfg.prior_sizes if s <= n_super_actions]
        sweep_offsets = (min(cfg.prior_offsets), middle(cfg.prior_offsets))
        extra_sigmas = sum(sigma != middle(cfg.prior_sigmas) for sigma in cfg.prior_sigmas)
        swept = sum(offset in sweep_offsets for offset in cfg.prior_offsets)
        return 1 + len(sizes) + 2 * len(cfg.prior_offsets) + swept * extra_sigmas
    raise ValueError(f"'table' must be 'regret_curves' or 'priors', got {table!r}")


def prior_summary(priors: pd.DataFrame) -> pd.DataFrame:
    """Regret at the horizon per prior configuration: mean and 95 % CI over runs (-1 marks 'not set')."""
    final = priors[priors.t == priors.t.max()].fillna({"subset_size": -1, "sigma": -1})
    return mean_ci(final, ["method", "offset", "subset_size", "sigma", "holds_optimum"], "regret")


# -- 5. everything at a scale ------------------------------------------------------------------
@lru_cache(maxsize=4)
def _space(levels: int) -> DecisionSpace:
    """The learning experiments' space (2 services, ``levels`` levels), built once per process."""
    return build_space(default_config(2, levels))


def learning_unit(
    table: str, cfg: SlicingScale, models: tuple[AccuracyModel, ...], noise: float, seed: int, part: int
) -> tuple[pd.DataFrame, float]:
    """One unit of work of :func:`run`: configuration ``part`` of ``table`` (``"regret_curves"`` or
    ``"priors"``) on the instance of ``cfg.levels`` levels with the fitted ``models`` and the noise
    ``noise``; returns its rows and its wall time in seconds. Rebuilds the instance where it runs
    (a worker process), so its arguments stay small."""
    start = time.perf_counter()
    space = _space(cfg.levels)
    sequences = scenarios(space, models, noise)
    if table == "regret_curves":
        frame = regret_curves(space, sequences, cfg, seed, part)
    else:
        best = optimal_super_action(sequences["stationary"], cfg.horizon)
        frame = prior_runs(space, sequences["stationary"], best, cfg, seed, part=part)
    return frame, time.perf_counter() - start


def unit_cost(task: tuple) -> float:
    """A unit's rough relative cost (slots x cost of a slot), to start the longest first: EXP3 over
    the feasible decisions is the slowest learner, the benchmarks the fastest, and the changing
    scenarios recompute the expected losses every slot."""
    table, cfg, _, _, _, part = task
    if table == "priors":
        return 1.0
    scenario, method = divmod(part, len(OLS_VARIANTS) + 2)
    return (1.2 if method == 0 else 1.0 if method < len(OLS_VARIANTS) else 0.3) + (0.5 if scenario else 0.0)


def run(
    scale: str,
    seed: int,
    recorder: Recorder,
    cfg: SlicingScale | None = None,
    workers: int | None = 1,
    backend: str = "process",
    checkpoints: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the chapter's experiments at ``scale`` and save every table through ``recorder``.

    ``cfg`` overrides the scale's sizes (tests pass a smaller one). Returns the tables by name,
    as read back from the recorder: ``training_runs``, ``accuracy_fit``, ``super_actions``,
    ``space_sizes``, ``slot_times``, ``regret_curves`` and ``priors``.

    The training runs, the fit and the timings run here; the learning experiments are cut into
    units (one learner or benchmark in one scenario, or one prior; all its runs at once, since they
    are vectorised) spread over ``workers`` processes by :func:`~edgelearn.core.pool.resumable_map`
    (``None``: every core; the default 1 runs them here), longest first. ``checkpoints``: a folder
    that keeps the training runs and each finished unit, so that an interrupted run (``make record``)
    resumes from the same fitted model and loses at most the units in flight; a progress bar shows
    then. Same ``seed``, same tables (up to wall
    times), whatever the workers, the backend or the interruptions. The learning tables' provenance
    gives their units' time as if run one after the other (``wall_time_s``); ``regret_curves``'s
    also the number of units and the wall time of all of them (``run_seconds``).
    """
    cfg = SCALES[scale] if cfg is None else cfg
    config = default_config(2, cfg.levels)
    tables: dict[str, pd.DataFrame] = {}

    def save(name: str, df: pd.DataFrame, **extra: object) -> pd.DataFrame:
        recorder.save(name, df, **extra)
        tables[name] = recorder.load(name)
        return tables[name]

    cache = DiskCache(checkpoints, "edgelearn.slicing.experiments") if checkpoints is not None else None
    kept = cache.get(["training_runs", asdict(cfg)]) if cache is not None else None
    training, source = kept if kept is not None else training_runs(cfg, config)
    if cache is not None and kept is None:
        cache.put(["training_runs", asdict(cfg)], (training, source))
    recorder.set_data_source(source)
    training = save("training_runs", training)
    models, fit_table = fit_models(training, config)
    save("accuracy_fit", fit_table)
    space = build_space(config)
    save("super_actions", super_action_table(space, models, training))
    sizes = save("space_sizes", space_sizes(cfg))
    save("slot_times", slot_times(sizes, cfg.horizon, seed))
    noise = noise_sd(training)
    tasks = [
        (table, cfg, tuple(models), noise, seed, part)
        for table in ("regret_curves", "priors")
        for part in range(n_parts(table, cfg, len(space.hyper)))
    ]
    order = sorted(range(len(tasks)), key=lambda i: -unit_cost(tasks[i]))
    start = time.perf_counter()
    with tqdm(total=len(tasks), desc="Slicing units", unit="unit", disable=cache is None) as bar:
        outputs = resumable_map(
            learning_unit,
            [tasks[i] for i in order],
            cache,
            workers,
            backend,
            progress=lambda _: bar.update(),
            spec=lambda t: [t[0], asdict(t[1]), [m.params for m in t[2]], t[3], t[4], t[5]],
        )
    run_seconds = round(time.perf_counter() - start, 1)
    done = dict(zip(order, outputs, strict=True))
    for table in ("regret_curves", "priors"):  # each table's units in their order, whatever order they ran in
        mine = [done[i] for i, task in enumerate(tasks) if task[0] == table]
        extra = {"units": len(tasks), "run_seconds": run_seconds} if table == "regret_curves" else {}
        frame = pd.concat([f for f, _ in mine], ignore_index=True)
        save(table, frame, wall_time_s=round(sum(s for _, s in mine), 3), **extra)
    return tables


def recorder(scale: str, seed: int = 0) -> Recorder:
    """The :class:`~edgelearn.core.results.Recorder` of the chapter's run at ``scale`` (the notebook's
    and ``make record``'s); :func:`run` sets its data source once the training data are loaded."""
    cfg = SCALES[scale]
    return Recorder(
        "slicing",
        scale,
        seeds={"base_seed": seed, "learner_runs": cfg.n_runs, "training_seeds": list(cfg.train_seeds)},
        data_source="set by run() once the training data are loaded",
        config=cfg,
    )
