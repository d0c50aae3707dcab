r"""The MA2ML chapter's experiments: one call runs them at a scale and saves every tidy table.

:func:`run` loads the joint benchmark of the scale (:func:`load_benchmark`), then runs

1. :func:`search_tables` — the five searchers of :data:`METHODS` on the plain accuracy reward,
   ``n_seeds`` searches each (tables ``search_histories`` and ``search_curves``);
2. :func:`lambda_sweep` — MA2ML for each weight :math:`\lambda` of its KL term (``lambda_sweep``);
3. :func:`flops_tables` — random search, MA2ML-Lite and MA2ML on the poster's FLOPs-constrained
   reward :func:`~edgelearn.ma2ml.flops_reward`, plus what MA2ML's accuracy-reward searches of step 1
   found, judged against the same constraint (``flops_constrained``, ``flops_curves``);
4. :func:`exact_iteration` — the setting of the monotonic-improvement theorem: exact Gibbs steps
   against the table's exact expected reward (``exact_iteration``).

The verdict rules of :mod:`edgelearn.ma2ml.claims` read these tables. Every search is seeded by
its run number (``seed`` .. ``seed + n_seeds - 1``), so the same seed gives the same tables.

The searches are independent units of work (:func:`units`: one searcher, one seed), which :func:`run`
spreads over processes by :func:`~edgelearn.core.pool.resumable_map` and, for ``make record
PAPER=ma2ml`` (the ``deciding`` scale, :func:`recorder`), keeps as they finish; a recorded run first
builds its joint table if it is not there yet (:func:`ensure_table`, resumable too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from edgelearn.core.pool import resumable_map
from edgelearn.core.results import Recorder, repo_root
from edgelearn.core.store import DiskCache, sha256
from edgelearn.ma2ml.baselines import RandomSearch, SingleAgent
from edgelearn.ma2ml.ma2ml import MA2ML, SCALES, MA2MLConfig, MA2MLLite, MA2MLScale, flops_reward
from edgelearn.ma2ml.pipelines import (
    TABLE_SCALES,
    TABLE_SPACES,
    JointSpace,
    TableConfig,
    evaluate_pipeline,
    load_table_data,
)
from edgelearn.ma2ml.search import Searcher, TabularBenchmark, search_pipelines, top_k_curve

Factory = Callable[[tuple[int, ...], int], Searcher]

METHODS: dict[str, Factory] = {
    "random search": lambda dims, s: RandomSearch(dims),
    "single agent": lambda dims, s: SingleAgent(dims),
    "MA2ML-Lite": lambda dims, s: MA2MLLite(dims),
    "MA2ML on-policy": lambda dims, s: MA2ML(dims, MA2MLConfig(off_policy=False), seed=s),
    "MA2ML": lambda dims, s: MA2ML(dims, MA2MLConfig(), seed=s),
}
"""The searchers compared, by name: ``METHODS[name](dims, seed)`` makes a fresh one."""

FLOPS_METHODS: tuple[str, ...] = ("random search", "MA2ML-Lite", "MA2ML")
"""The searchers run on the FLOPs-constrained reward."""

UNCONSTRAINED = "MA2ML (accuracy reward)"
"""The ``method`` of MA2ML's accuracy-reward searches in the ``flops_constrained`` table."""

PIPELINE = ["a0", "a1", "a2"]


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


def load_benchmark(scale: str) -> tuple[TabularBenchmark, dict[str, Any]]:
    """The joint benchmark of ``scale`` and its provenance.

    ``smoke``: a 2 x 2 x 2 subspace trained live on MNIST (seconds); otherwise the stored joint table
    of :func:`edgelearn.ma2ml.default_table_path` (``make table TABLE_SCALE=<table scale>`` builds it),
    which must hold today's configuration and space of its table scale
    (:func:`edgelearn.ma2ml.table.load_joint_table`).
    """
    cfg = SCALES[scale]
    if cfg.table_scale == "live":
        space = JointSpace().subspace(aug=[0, 1], arch=[0, 1], hpo=[0, 1])
        config = TABLE_SCALES["smoke"]
        data = load_table_data(config)
        rows = [
            evaluate_pipeline(space, a, n, h, s, config, data=data)
            for a in range(space.dims[0])
            for n in range(space.dims[1])
            for h in range(space.dims[2])
            for s in config.seeds
        ]
        return TabularBenchmark.from_frame(pd.DataFrame(rows)), {
            "data_source": f"live training ({config.dataset})",
            "rows": len(rows),
        }
    from edgelearn.ma2ml.table import default_table_path, load_joint_table  # lazily: see the package

    path = default_table_path(cfg.table_scale)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: build it with `make table TABLE_SCALE={cfg.table_scale} WORKERS=2`"
            + (" (or `make record PAPER=ma2ml`, which builds it first)" if scale == "deciding" else "")
        )
    table, meta = load_joint_table(path, cfg.table_scale)
    return TabularBenchmark.from_frame(table), meta


def ensure_table(scale: str, workers: int | None = 1, backend: str = "process") -> Path | None:
    """Build the joint table of ``scale`` unless it is current (``make table TABLE_SCALE=...``, resumable:
    a build killed before resumes from its ``.partial.csv``); return its path (``None`` for live training).
    A recorded run calls this first, so ``make record PAPER=ma2ml`` needs no separate ``make table``."""
    from edgelearn.core.pool import default_workers
    from edgelearn.ma2ml.table import build_table, default_table_path, table_is_current

    table_scale = SCALES[scale].table_scale
    if table_scale == "live":
        return None
    space, config = TABLE_SPACES[table_scale], TABLE_SCALES[table_scale]
    path = default_table_path(table_scale)
    if not table_is_current(path, space, config):
        workers = default_workers() if workers is None else workers
        print(f"building {path} first: {space.n_pipelines} pipelines x {len(config.seeds)} seeds", flush=True)
        build_table(space, config, path, workers=workers, backend=backend)
    return path


def expected_table_core_seconds(table: pd.DataFrame, measured: TableConfig, target: TableConfig) -> float:
    """The core-seconds of training that a joint table of ``target`` would take, from ``table`` (a joint
    table built at ``measured``, with its ``train_seconds`` per run): each pipeline's measured seconds per
    training image and epoch, times ``target``'s images, epochs and seeds, summed over the pipelines.
    Assumes a run's time grows in proportion to its images times epochs (evaluation left out)."""
    per_image_epoch = table.groupby(["aug", "arch", "hpo"]).train_seconds.mean() / (
        measured.train_size * measured.epochs
    )
    return float(per_image_epoch.sum() * target.train_size * target.epochs * len(target.seeds))


def benchmark_summary(bench: TabularBenchmark, data_source: str) -> pd.Series:
    """The benchmark in one column: sizes, accuracy range, best pipeline, FLOPs range, data."""
    mean_acc = bench.mean_accuracy()
    best = np.unravel_index(np.argmax(mean_acc), bench.dims)
    return pd.Series(
        {
            "modules (AUG, NAS, HPO)": bench.dims,
            "pipelines": int(np.prod(bench.dims)),
            "training seeds per pipeline": bench.accuracy.shape[0],
            "mean validation accuracy, range": (round(float(mean_acc.min()), 4), round(float(mean_acc.max()), 4)),
            "best pipeline": tuple(n[i] for n, i in zip(bench.names, best)) if bench.names else best,
            "FLOPs range": (float(bench.flops.min()), float(bench.flops.max())),
            "data": data_source,
        }
    )


def module_effects(bench: TabularBenchmark) -> pd.DataFrame:
    """Seed-averaged accuracy of each choice of each module, the other two modules averaged out."""
    mean_acc = bench.mean_accuracy()
    return pd.DataFrame(
        [
            {
                "module": module,
                "choice": bench.names[i][c] if bench.names else c,
                "mean accuracy": float(mean_acc.mean(axis=tuple(j for j in range(3) if j != i))[c]),
            }
            for i, module in enumerate(("AUG", "NAS", "HPO"))
            for c in range(bench.dims[i])
        ]
    )


def flops_constraint(bench: TabularBenchmark) -> float:
    """The chapter's constraint :math:`C`: the median FLOPs of the table's pipelines (our choice, so that
    about half of them are feasible)."""
    return float(np.median(bench.flops))


# --------------------------------------------------------------------------------------------
# Searches
# --------------------------------------------------------------------------------------------


def run_search(
    searcher: Searcher,
    bench: TabularBenchmark,
    cfg: MA2MLScale,
    seed: int,
    true_reward: np.ndarray,
    constraint: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One search: its history (one row per evaluated pipeline) and its per-batch curve.

    The curve holds :func:`~edgelearn.ma2ml.top_k_curve` of ``true_reward`` (the table's
    seed-averaged reward), the exact expected reward of the sampling policy :math:`\\pi`
    (``policy_value``) and, for MA2ML, of its target policy :math:`\\bar\\pi` (``target_value``), both
    before the batch, and the regret of the best pipeline found so far.
    """
    history = search_pipelines(
        searcher, bench, cfg.n_batches, cfg.batch_size, seed=seed, constraint=constraint, mean_reward=true_reward
    )
    curve = top_k_curve(history, true_reward, cfg.top_k)
    first = history.groupby("batch")[["policy_value", "target_value"]].first()
    curve = curve.assign(
        policy_value=first.policy_value.to_numpy(),
        target_value=first.target_value.to_numpy(),
        regret=float(true_reward.max()) - curve.best_true,
    )
    return history, curve


def search_unit(bench: TabularBenchmark, cfg: MA2MLScale, method: str, seed: int) -> dict[str, Any]:
    """One search of ``method`` on the accuracy reward: its history, curve and final joint policy."""
    searcher = METHODS[method](bench.dims, seed)
    history, curve = run_search(searcher, bench, cfg, seed, bench.mean_accuracy())
    return {"history": history, "curve": curve, "final": searcher.joint_policy()}


def search_tables(
    bench: TabularBenchmark,
    cfg: MA2MLScale,
    seeds: Sequence[int],
    methods: Sequence[str] = tuple(METHODS),
    done: dict[tuple, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[tuple[str, int], np.ndarray]]:
    """Every method of ``methods`` on the accuracy reward, one search per seed.

    Returns the histories and curves (with ``method`` and ``run`` columns) and each search's final
    joint policy by (method, run). ``done``: units already computed (:func:`units`), by their key.
    """
    histories, curves, finals = [], [], {}
    for method in methods:
        for s in seeds:
            out = _get(done, ("search", method, s), bench, cfg)
            histories.append(out["history"].assign(method=method, run=s))
            curves.append(out["curve"].assign(method=method, run=s))
            finals[(method, s)] = out["final"]
    return pd.concat(histories, ignore_index=True), pd.concat(curves, ignore_index=True), finals


def lambda_unit(bench: TabularBenchmark, cfg: MA2MLScale, lam: float, seed: int) -> dict[str, float]:
    r"""One MA2ML search with weight :math:`\lambda` = ``lam``: its row of :func:`lambda_sweep`."""
    _, curve = run_search(MA2ML(bench.dims, MA2MLConfig(lam=lam), seed=seed), bench, cfg, seed, bench.mean_accuracy())
    value = curve.policy_value.to_numpy()
    return {
        "lam": lam,
        "run": seed,
        "top_k_true": float(curve.top_k_true.iloc[-1]),
        "policy_value": float(value[-1]),
        "non_decreasing": float(np.mean(np.diff(value) >= -1e-12)) if len(value) > 1 else np.nan,
        "gain": float(value[-1] - value[0]),
    }


def lambda_sweep(
    bench: TabularBenchmark, cfg: MA2MLScale, seeds: Sequence[int], done: dict[tuple, Any] | None = None
) -> pd.DataFrame:
    r"""MA2ML for each :math:`\lambda` of ``cfg.lambdas``: per search, the final top-k true accuracy,
    the expected accuracy of :math:`\pi` before the last batch, the share of batches after which it
    did not decrease and its gain over the search."""
    return pd.DataFrame([_get(done, ("lambda", lam, s), bench, cfg) for lam in cfg.lambdas for s in seeds])


def found_pipelines(history: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k`` best distinct pipelines of a search, ranked by the best reward it observed for each."""
    return history.sort_values("reward", ascending=False, kind="stable").drop_duplicates(PIPELINE).head(k)


def constraint_row(
    history: pd.DataFrame,
    final_policy: np.ndarray,
    bench: TabularBenchmark,
    constraint: float,
    k: int,
) -> dict[str, float]:
    """What one search found, judged against ``constraint``.

    ``top_k_feasible``: share of its top ``k`` (ranked by observed reward) within the constraint;
    ``top_k_true_reward``: their mean true constrained reward; ``returned_*``: the same for its top
    pipeline; ``feasible_mass``: probability its final policy puts on feasible pipelines.
    """
    mean_acc = bench.mean_accuracy()
    true_reward = flops_reward(mean_acc, bench.flops, constraint)
    top = found_pipelines(history, k)
    where = tuple(top[PIPELINE].to_numpy().T)
    feasible = bench.flops[where] <= constraint
    return {
        "feasible_mass": float(final_policy[bench.flops <= constraint].sum()),
        "top_k_feasible": float(feasible.mean()),
        "top_k_true_reward": float(true_reward[where].mean()),
        "returned_feasible": float(feasible[0]),
        "returned_true_accuracy": float(mean_acc[where][0]),
    }


def flops_unit(bench: TabularBenchmark, cfg: MA2MLScale, method: str, seed: int) -> dict[str, Any]:
    """One search of ``method`` on the FLOPs-constrained reward (:math:`C` = :func:`flops_constraint`):
    its :func:`constraint_row` and its curve."""
    constraint = flops_constraint(bench)
    true_reward = flops_reward(bench.mean_accuracy(), bench.flops, constraint)
    searcher = METHODS[method](bench.dims, seed)
    history, curve = run_search(searcher, bench, cfg, seed, true_reward, constraint=constraint)
    row = constraint_row(history, searcher.joint_policy(), bench, constraint, cfg.top_k)
    return {"row": {"method": method, "run": seed, **row}, "curve": curve}


def flops_tables(
    bench: TabularBenchmark,
    cfg: MA2MLScale,
    seeds: Sequence[int],
    unconstrained: pd.DataFrame | None = None,
    unconstrained_finals: dict[tuple[str, int], np.ndarray] | None = None,
    done: dict[tuple, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Searches on the FLOPs-constrained reward, :math:`C` = :func:`flops_constraint`.

    Returns ``flops_constrained`` (one :func:`constraint_row` per method and run, with the
    constraint) and ``flops_curves`` (per batch: true constrained reward of the top-k found,
    expected constrained reward of the policy). With ``unconstrained`` (the accuracy-reward
    histories of :func:`search_tables`) and their final policies, MA2ML's accuracy-reward searches
    are judged against the same constraint as method :data:`UNCONSTRAINED`. ``done``: units already
    computed (:func:`units`), by their key.
    """
    constraint = flops_constraint(bench)
    rows, curves = [], []
    for method in FLOPS_METHODS:
        for s in seeds:
            out = _get(done, ("flops", method, s), bench, cfg)
            rows.append(out["row"])
            curves.append(out["curve"].assign(method=method, run=s))
    if unconstrained is not None and unconstrained_finals is not None:
        for s in seeds:
            history = unconstrained[(unconstrained.method == "MA2ML") & (unconstrained.run == s)]
            final = unconstrained_finals[("MA2ML", s)]
            rows.append(
                {"method": UNCONSTRAINED, "run": s, **constraint_row(history, final, bench, constraint, cfg.top_k)}
            )
    table = pd.DataFrame(rows).assign(constraint=constraint)
    return table, pd.concat(curves, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Units of work: one search each, resumable
# --------------------------------------------------------------------------------------------

UNITS: dict[str, Callable[..., Any]] = {"search": search_unit, "lambda": lambda_unit, "flops": flops_unit}
"""What computes a unit of each kind: ``UNITS[kind](bench, cfg, key, seed)``."""


def units(cfg: MA2MLScale, seeds: Sequence[int]) -> list[tuple[str, Any, int]]:
    """The units of work of a run, as ``(kind, method or lambda, seed)``: every search of
    :func:`search_tables`, :func:`lambda_sweep` and :func:`flops_tables`, in their order."""
    return [
        *(("search", m, s) for m in METHODS for s in seeds),
        *(("lambda", lam, s) for lam in cfg.lambdas for s in seeds),
        *(("flops", m, s) for m in FLOPS_METHODS for s in seeds),
    ]


def timed_unit(kind: str, key: Any, seed: int, cfg: MA2MLScale, bench: TabularBenchmark) -> tuple[Any, float]:
    """Run one unit (a pool task); return its result and its wall time in seconds."""
    start = time.perf_counter()
    out = UNITS[kind](bench, cfg, key, seed)
    return out, time.perf_counter() - start


def _get(done: dict[tuple, Any] | None, unit: tuple[str, Any, int], bench: TabularBenchmark, cfg: MA2MLScale) -> Any:
    """The result of ``unit`` (``(kind, key, seed)``): from ``done`` when it is there, else computed here."""
    if done is not None and unit in done:
        return done[unit]
    kind, key, seed = unit
    return UNITS[kind](bench, cfg, key, seed)


def bench_digest(bench: TabularBenchmark) -> str:
    """A hash of a benchmark's numbers (accuracy per seed, FLOPs): part of a unit's cache key."""
    arrays = (np.ascontiguousarray(bench.accuracy, float), np.ascontiguousarray(bench.flops, float))
    return sha256(b"".join(a.tobytes() for a in arrays) + repr(tuple(bench.dims)).encode())[:16]


# The theorem's setting: exact critic, exact maximisation
# --------------------------------------------------------------------------------------------


def counterfactual_values(reward: np.ndarray, policies: Sequence[np.ndarray], agent: int) -> np.ndarray:
    r""":math:`Q_i(a) = \mathbb E_{A_{-i} \sim \pi_{-i}}[\bar R(a, A_{-i})]` for every choice ``a`` of ``agent``."""
    weighted = reward
    for j, p in enumerate(policies):
        if j != agent:
            shape = [1] * reward.ndim
            shape[j] = len(p)
            weighted = weighted * p.reshape(shape)
    return weighted.sum(axis=tuple(j for j in range(reward.ndim) if j != agent))


def gibbs_policy(target: np.ndarray, values: np.ndarray, lam: float) -> np.ndarray:
    r"""The maximiser :math:`\pi^\star \propto \bar\pi\, e^{Q/\lambda}` of
    :math:`\sum_a \pi(a) Q(a) - \lambda\,\mathrm{KL}(\pi\|\bar\pi)` (theory page, Gibbs lemma)."""
    logits = np.log(target) + (values - values.max()) / lam
    p = np.exp(logits - logits.max())
    return p / p.sum()


def joint_value(reward: np.ndarray, policies: Sequence[np.ndarray]) -> float:
    r""":math:`\mathbb E_{A \sim \prod_i \pi_i}[\bar R(A)]`, exactly."""
    return float(counterfactual_values(reward, policies, 0) @ policies[0])


def exact_iteration(
    reward: np.ndarray, lambdas: Sequence[float], n_iter: int, modes: Sequence[str] = ("sequential", "simultaneous")
) -> pd.DataFrame:
    r"""The monotonic-improvement theorem's setting on a table of expected rewards.

    From uniform target policies :math:`\bar\pi`, each iteration replaces the agents' policies by their
    Gibbs policies against the exact counterfactual values: one agent after the other against the
    others' *current* policies (``"sequential"``, the case the theorem covers), or all at once against
    :math:`\bar\pi_{-i}` (``"simultaneous"``, which it does not cover); then :math:`\bar\pi \leftarrow \pi`
    (:math:`\tau = 1`). Returns the expected reward of the policy per (lam, mode, iteration); iteration 0
    is the uniform start. Rewards are the raw seed-averaged accuracies (no standardisation).
    """
    rows = []
    for lam in (v for v in lambdas if v > 0):
        for mode in modes:
            policies = [np.full(d, 1.0 / d) for d in reward.shape]
            rows.append({"lam": lam, "mode": mode, "iteration": 0, "value": joint_value(reward, policies)})
            for it in range(1, n_iter + 1):
                targets = [p.copy() for p in policies]
                for i in range(reward.ndim):
                    against = policies if mode == "sequential" else targets
                    policies[i] = gibbs_policy(targets[i], counterfactual_values(reward, against, i), lam)
                rows.append({"lam": lam, "mode": mode, "iteration": it, "value": joint_value(reward, policies)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------


def run(
    scale: str,
    seed: int = 0,
    recorder: Recorder | None = None,
    bench: TabularBenchmark | None = None,
    *,
    workers: int | None = 1,
    backend: str = "process",
    checkpoints: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the chapter's experiments at ``scale`` and return every table by name.

    Searches use seeds ``seed .. seed + n_seeds - 1``. With a ``recorder`` each table is saved
    through it (and read back, as saved), with the wall time of its own searches. ``bench``
    replaces the scale's benchmark (tests pass a small synthetic table).

    The searches (:func:`units`) are spread over ``workers`` processes (``None``: every core; the
    default 1 runs them here) by :func:`~edgelearn.core.pool.resumable_map`, longest kinds first.
    ``checkpoints``: a folder that keeps each finished search (``make record`` passes one), so that
    an interrupted run resumes and loses at most the searches in flight; with it, a missing or stale
    joint table is built first (:func:`ensure_table`, itself resumable) and a progress bar shows.
    Same ``seed``, same tables, whatever the workers, the backend or the interruptions.
    """
    cfg = SCALES[scale]
    seeds = list(range(seed, seed + cfg.n_seeds))
    if bench is None:
        if checkpoints is not None:
            ensure_table(scale, workers, backend)
        bench, meta = load_benchmark(scale)
        if recorder is not None:
            recorder.set_data_source(str(meta.get("data_source")))
    tasks = [(kind, key, s, cfg, bench) for kind, key, s in units(cfg, seeds)]
    order = sorted(range(len(tasks)), key=lambda i: tasks[i][0] == "search")  # MA2ML-heavy kinds first
    cache = DiskCache(checkpoints, "edgelearn.ma2ml.experiments") if checkpoints is not None else None
    digest = bench_digest(bench)
    with tqdm(total=len(tasks), desc="MA2ML searches", unit="search", disable=cache is None) as bar:
        outputs = resumable_map(
            timed_unit,
            [tasks[i] for i in order],
            cache,
            workers,
            backend,
            progress=lambda _: bar.update(),
            spec=lambda task: [task[0], task[1], task[2], asdict(task[3]), digest],
        )
    done, seconds = {}, {"search": 0.0, "lambda": 0.0, "flops": 0.0}
    for i, (out, secs) in zip(order, outputs, strict=True):
        done[tasks[i][:3]] = out
        seconds[tasks[i][0]] += secs

    tables: dict[str, pd.DataFrame] = {}
    histories, curves, finals = search_tables(bench, cfg, seeds, done=done)
    tables["search_histories"], tables["search_curves"] = histories, curves
    tables["lambda_sweep"] = lambda_sweep(bench, cfg, seeds, done=done)
    start = time.perf_counter()
    tables["flops_constrained"], tables["flops_curves"] = flops_tables(bench, cfg, seeds, histories, finals, done=done)
    seconds["flops"] += time.perf_counter() - start
    start = time.perf_counter()
    tables["exact_iteration"] = exact_iteration(bench.mean_accuracy(), cfg.lambdas, cfg.n_batches)
    seconds["exact"] = time.perf_counter() - start
    if recorder is not None:  # wall_time_s: each table's own searches, one after the other
        wall = {
            "search_histories": "search",
            "lambda_sweep": "lambda",
            "flops_constrained": "flops",
            "exact_iteration": "exact",
        }
        for name, df in tables.items():
            recorder.save(name, df, wall_time_s=round(seconds[wall[name]], 3) if name in wall else 0.0)
        tables = {name: recorder.load(name) for name in tables}
    return tables


def recorder(scale: str, seed: int = 0) -> Recorder:
    """The :class:`~edgelearn.core.results.Recorder` of the chapter's run at ``scale``.

    Its configuration holds the scale's sizes and, for a stored table, that table's
    :class:`~edgelearn.ma2ml.TableConfig` and space: a recorded run's fingerprint leaves out every
    ``Scales`` table (:data:`edgelearn.core.record.RECORD_METHOD`), so a change of any of them shows
    as a change of configuration."""
    cfg = SCALES[scale]
    table = None
    if cfg.table_scale != "live":
        from edgelearn.ma2ml.table import default_table_path  # lazily: see the package

        table = {
            "scale": cfg.table_scale,
            "config": TABLE_SCALES[cfg.table_scale],
            "space": TABLE_SPACES[cfg.table_scale].describe(),
            "path": str(default_table_path(cfg.table_scale).relative_to(repo_root())),
        }
    return Recorder(
        "ma2ml",
        scale,
        seeds={"searches": list(range(seed, seed + cfg.n_seeds))},
        data_source="live training (MNIST)" if table is None else f"the joint table {table['path']}",
        config={"experiments": cfg, "table": table},
    )
