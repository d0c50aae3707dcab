"""The TRL-HPO chapter's experiments: one call runs every search of a scale and saves the tidy tables.

:func:`run` is what the notebook (and ``make record``) calls. For each seed it runs TRL-HPO, then
random search and a MetaQNN-style searcher at TRL-HPO's budget of trained candidates (each search a
unit of work, :func:`search_unit`, spread over processes and kept for a resumed run by
:func:`run_units`), and turns the searches into the tables the figures and the claim rules
(:mod:`edgelearn.trl_hpo.claims`) read:

* ``steps`` — one row per generated layer of every search (:func:`~edgelearn.trl_hpo.trl_hpo.search_architectures`);
* ``ddpg_losses`` — TRL-HPO's DDPG updates;
* ``attention`` — Fig. 3's attention differences (:func:`~edgelearn.trl_hpo.analysis.attention_differences`);
* ``negative_pairs`` — Fig. 2's negative-reward layer pairs, TRL-HPO and random search;
* ``runs`` — Table II per policy and seed (:func:`summarise_runs`: best accuracy, AccTime, wall time);
* ``anytime`` — best accuracy so far on a common wall-time grid (:func:`anytime_curves`);
* ``controller_cost`` — parameters and FLOPs of TRL-HPO's actor and critic (:func:`controller_cost`).

:func:`table2` formats the ``runs`` table (of one scale or several) beside the paper's Table II.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from edgelearn.core import costs
from edgelearn.core.pool import resumable_map
from edgelearn.core.results import Recorder, repo_root
from edgelearn.core.store import DiskCache

from .analysis import attention_differences, best_so_far, negative_reward_pairs
from .candidates import candidate_cache, candidate_pool, load_candidate_data
from .space import N_ACTIONS
from .trl_hpo import (
    CHECKPOINT_MODULES,
    POLICIES,
    SCALES,
    Agent,
    TransformerCritic,
    TRLConfig,
    search_architectures,
    search_run_key,
)

POLICY_NAMES = {"trl": "TRL-HPO", "random": "random search", "metaqnn": "MetaQNN"}
"""The policies' names in tables and figures (also the keys of the book's colours)."""

PAPER_TABLE2 = pd.DataFrame(
    [("TRL-HPO (paper)", "99.1", "99.3 h", "94.6 ± 3.8"), ("MetaQNN (paper)", "99.5", "192–240 h", "88.5 ± 4.3"),
     ("Neary (paper)", "95.8", "1.78 h", "95.8")],
    columns=["method", "best accuracy (%)", "running time", "AccTime (%)"],
)  # fmt: skip
"""The paper's Table II as printed."""


def final_models(steps: pd.DataFrame) -> pd.DataFrame:
    """One row per generated model: its last trained layer (a collapsed last layer is never trained,
    so the model is the prefix before it), with the model's validation accuracy, phase and the number
    of distinct candidates its search had trained by then (``n_trained``)."""
    trained = steps[~steps.collapsed].sort_values("step")
    return trained.groupby(["policy", "seed", "episode", "model"], as_index=False).tail(1).reset_index(drop=True)


def acc_time(steps: pd.DataFrame, policy: str, seed: int, budget: int) -> tuple[float, float, int]:
    """AccTime (paper Section IV and Table II) of one search: mean and standard deviation of the
    validation accuracy of its models, and their number.

    TRL-HPO: the models of its exploitation phase (the paper reports TRL-HPO's results from that
    phase). A baseline: the models it completed within TRL-HPO's time, where time is counted in
    distinct trained candidates (``budget``, TRL-HPO's count for the seed): candidate training is
    the search's cost, and a wall-clock cut would make the result depend on the machine's load.
    The paper's MetaQNN AccTime (88.5 ± 4.3 %, far below its best 99.5 %) is likewise a mean over
    models, not its best model.
    """
    models = final_models(steps[(steps.policy == policy) & (steps.seed == seed)])
    models = models[models.phase == "exploit"] if policy == "trl" else models[models.n_trained <= budget]
    acc = models.val_accuracy
    return (float(acc.mean()), float(acc.std(ddof=1)), len(acc)) if len(acc) else (float("nan"), float("nan"), 0)


def summarise_runs(steps: pd.DataFrame, cfg: TRLConfig) -> pd.DataFrame:
    """Table II per policy and seed: the best trained candidate (accuracy, architecture, FLOPs,
    parameters), the search's wall time, AccTime (:func:`acc_time`), the candidates trained and
    the layers served by the cache, and the training budget of a candidate (``n_train``, ``epochs``)."""
    rows = []
    for (seed, policy), g in steps.groupby(["seed", "policy"], sort=True):
        budget = int(steps[(steps.policy == "trl") & (steps.seed == seed)].trained.sum())
        st = g[~g.collapsed]
        best = st.loc[st.val_accuracy.idxmax()]
        mean, sd, n = acc_time(steps, policy, seed, budget)
        rows.append({
            "policy": policy, "seed": int(seed), "best_accuracy": float(best.val_accuracy), "best_arch": best.arch,
            "flops": int(best.flops), "params": int(best.params), "wall_s": float(g.search_s.iloc[0]),
            "acc_time": mean, "acc_time_sd": sd, "acc_time_models": n, "trained": int(g.trained.sum()),
            "cache_hits": int((~g.trained & ~g.collapsed).sum()), "n_train": cfg.training.n_train,
            "epochs": cfg.training.epochs,
        })  # fmt: skip
    order = {p: i for i, p in enumerate(POLICIES)}
    return (
        pd.DataFrame(rows)
        .sort_values(["seed", "policy"], key=lambda c: c.map(order) if c.name == "policy" else c)
        .reset_index(drop=True)
    )


def anytime_curves(steps: pd.DataFrame, points: int = 60) -> pd.DataFrame:
    """Best validation accuracy so far of every search on a common grid of ``points`` wall times."""
    curves = pd.concat([best_so_far(g) for _, g in steps.groupby(["policy", "seed"])], ignore_index=True)
    grid = np.linspace(0, curves.wall_s.max(), points)
    rows = []
    for (policy, seed), g in curves.groupby(["policy", "seed"]):
        pos = np.searchsorted(g.wall_s.values, grid, side="right") - 1
        rows += [
            {"policy": policy, "seed": seed, "wall_s": t, "best": g.best.values[i]} for t, i in zip(grid, pos) if i >= 0
        ]
    return pd.DataFrame(rows)


def expected_core_seconds(steps: pd.DataFrame, measured: TRLConfig, target: TRLConfig) -> float:
    """The core-seconds that ``target``'s searches would take (every policy on every seed), from a
    ``steps`` table made at ``measured``: TRL-HPO's trained candidates per model, the training seconds
    per candidate and image-epoch, and the rest of each search's wall time (``search_s``: scoring on
    the validation images, the searcher's own work) per trained candidate, all as measured; the
    baselines train as many candidates as TRL-HPO (they stop at its budget). Assumes a candidate's
    training time grows in proportion to its images times epochs and the rest stays as measured."""
    trained = steps[steps.trained.astype(bool)]
    image_epochs = measured.training.n_train * measured.training.epochs
    per_image_epoch = trained.train_seconds.sum() / (len(trained) * image_epochs)
    searches = steps.groupby(["policy", "seed"])
    rest = (searches.search_s.first() - searches.train_seconds.sum()).clip(lower=0).sum()
    per_candidate = rest / len(trained)
    trl = trained[trained.policy == "trl"]
    per_model = len(trl) / (trl.seed.nunique() * measured.episodes * measured.models_per_episode)
    candidates = per_model * target.episodes * target.models_per_episode * len(target.seeds) * len(POLICIES)
    training_seconds = per_image_epoch * target.training.n_train * target.training.epochs
    return float(candidates * (training_seconds + per_candidate))


def controller_cost(agent: Agent) -> pd.DataFrame:
    """Parameters and forward FLOPs (one state; 2 per multiply-add, :mod:`edgelearn.core.costs`) of
    TRL-HPO's actor and critic: the method's own cost, which the paper's 78.8k parameters and 991k
    FLOPs describe (Section V-A)."""
    cfg = agent.cfg
    actor, critic = agent.actor.eval(), agent.critic.eval()
    state = (cfg.max_layers, cfg.d_model)
    critic_flops = costs.count_flops(_CriticOnState(critic), state)
    return pd.DataFrame([
        {"network": "actor", "params": costs.count_params(actor), "flops": costs.count_flops(actor, state)},
        {"network": "critic", "params": costs.count_params(critic), "flops": critic_flops},
    ])  # fmt: skip


class _CriticOnState(nn.Module):
    """The critic as a function of the state alone (a zero action), for the FLOP counter."""

    def __init__(self, critic: TransformerCritic) -> None:
        super().__init__()
        self.critic = critic

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.critic(state, torch.zeros(state.shape[0], N_ACTIONS))


def search_unit(
    cfg: TRLConfig, seed: int, policy: str, budget: int | None, folder: str | None, workers: int, backend: str
) -> dict[str, pd.DataFrame]:
    """One unit of work of :func:`run`: one searcher (``policy``) on one ``seed``, at ``budget``.

    Loads the data, opens a candidate pool of ``workers`` (``backend``) and runs
    :func:`~edgelearn.trl_hpo.trl_hpo.search_architectures`. With a ``folder`` its candidate cache and
    its per-episode checkpoint live there (``candidates_<policy>_seed<seed>/``, ``<policy>_seed<seed>.pkl``),
    so a killed unit resumes losing only the candidates in flight; else in a temporary folder. Returns
    plain tables (an agent does not travel between processes): ``steps`` (with the search's wall time
    ``search_s``), ``losses`` and, for TRL-HPO, ``attention`` and ``controller_cost`` of its final agent.
    """
    data = load_candidate_data(cfg.training)
    with (
        tempfile.TemporaryDirectory() as scratch,
        candidate_pool(data, cfg.training.device, workers, backend) as pool,
    ):
        root = Path(folder) if folder is not None else Path(scratch)
        cache = candidate_cache(root / f"candidates_{policy}_seed{seed}")
        ckpt = root / f"{policy}_seed{seed}.pkl" if folder is not None else None
        result = search_architectures(cfg, seed, policy, pool, cache, data.source, budget, ckpt)
    out = {"steps": result.steps.assign(search_s=result.wall_seconds), "losses": result.losses.assign(seed=seed)}
    if result.agent is not None:
        out["attention"] = attention_differences(result)
        out["controller_cost"] = controller_cost(result.agent)
    return out


def run_units(
    cfg: TRLConfig,
    units: list[tuple[int, str, int | None]],
    data_tag: str,
    workers: int,
    backend: str,
    checkpoints: Path | None,
    bar: tqdm,
) -> list[dict[str, pd.DataFrame]]:
    """:func:`search_unit` for each ``(seed, policy, budget)`` of ``units``, results in that order.

    Several units whose candidates train on the CPU: one per process of a
    :func:`~edgelearn.core.pool.resumable_map` of ``workers`` (``backend``), each training its
    candidates serially. A single unit, one worker, or candidates on a GPU (``"auto"``, the paper
    scale): the units one after the other in this process, the candidates of each on a pool of
    ``workers`` (which keeps every worker busy in a search of one seed, and gives Ray tasks their GPU
    share, :func:`~edgelearn.trl_hpo.candidates.ray_task_options`). With ``checkpoints`` each
    finished unit is kept in a :class:`~edgelearn.core.store.DiskCache` keyed by the search's identity
    (:func:`~edgelearn.trl_hpo.trl_hpo.search_run_key`) and the code of the package, so that a rerun
    skips it; a unit in flight resumes from its per-episode checkpoint, its trained candidates from
    its candidate cache, so a kill loses only the candidates being trained.
    """
    outer = min(workers, len(units)) if cfg.training.device == "cpu" else 1
    inner, inner_backend = (workers, backend) if outer == 1 else (1, "serial")
    folder = str(checkpoints) if checkpoints is not None else None
    tasks = [(cfg, seed, policy, budget, folder, inner, inner_backend) for seed, policy, budget in units]
    cache = DiskCache(checkpoints / "units", CHECKPOINT_MODULES) if checkpoints is not None else None

    def spec(task: tuple) -> dict[str, str]:
        _, seed, policy, budget, *_ = task
        return {"search": search_run_key(cfg, seed, policy, budget, data_tag)}

    def done(out: dict[str, pd.DataFrame]) -> None:
        bar.update(1)

    return resumable_map(search_unit, tasks, cache, outer, backend if outer > 1 else "serial", progress=done, spec=spec)


def run(
    scale: str,
    seed: int = 0,
    recorder: Recorder | None = None,
    *,
    workers: int | None = None,
    backend: str | None = None,
    checkpoints: str | Path | None = None,
    progress: bool | None = None,
    cfg: TRLConfig | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the chapter's searches at ``scale`` and return (and, with ``recorder``, save) its tables.

    Seeds ``seed + s`` for ``s`` in the scale's ``seeds``. Per seed: TRL-HPO, then random search and
    MetaQNN until each has trained as many distinct candidates as TRL-HPO did. The units of work are
    the searches (one searcher x one seed, :func:`search_unit`): first the TRL-HPO searches, then the
    baselines at their budgets, each phase spread over ``workers`` processes (``backend``; default the
    scale's ``cfg.workers`` and ``cfg.backend``) by :func:`run_units`. ``checkpoints``: a folder that
    keeps every finished search, every trained candidate and the running searches' per-episode
    checkpoints, so that a killed run resumes losing only the candidates being trained
    (``make record``; the ``paper`` scale uses ``data/checkpoints/trl_hpo`` by default); without one,
    everything lives in a temporary folder. A tqdm bar counts the searches (shown by default with
    ``checkpoints``). The same seed gives the same tables, wall times apart, whatever the workers,
    backend or checkpoints. ``cfg`` replaces the scale's configuration (the tests run a tiny one).
    """
    cfg = SCALES[scale] if cfg is None else cfg
    workers = cfg.workers if workers is None else workers
    backend = cfg.backend if backend is None else backend
    seeds = [seed + s for s in cfg.seeds]
    if checkpoints is None and scale == "paper":
        checkpoints = repo_root() / "data" / "checkpoints" / "trl_hpo"
    checkpoints = Path(checkpoints) if checkpoints is not None else None
    progress = checkpoints is not None if progress is None else progress
    data_source = load_candidate_data(cfg.training).source
    if recorder is not None:
        recorder.set_data_source(data_source)
    with tqdm(total=3 * len(seeds), desc="TRL-HPO searches", unit="search", disable=not progress) as bar:
        trl_out = run_units(cfg, [(s, "trl", None) for s in seeds], data_source, workers, backend, checkpoints, bar)
        budgets = {s: int(out["steps"].trained.sum()) for s, out in zip(seeds, trl_out)}
        units = [(s, policy, budgets[s]) for s in seeds for policy in ("random", "metaqnn")]
        base_out = dict(zip(units, run_units(cfg, units, data_source, workers, backend, checkpoints, bar)))
    searches = []  # per seed: TRL-HPO, random search, MetaQNN (the order of the tables' rows)
    for s, trl_result in zip(seeds, trl_out):
        searches += [trl_result, base_out[s, "random", budgets[s]], base_out[s, "metaqnn", budgets[s]]]
    steps = pd.concat([out["steps"] for out in searches], ignore_index=True)
    pairs = [negative_reward_pairs(steps[steps.policy == p]).assign(policy=POLICY_NAMES[p]) for p in ("trl", "random")]
    tables = {
        "steps": steps,
        "ddpg_losses": pd.concat([out["losses"] for out in trl_out], ignore_index=True),
        "attention": pd.concat([out["attention"] for out in trl_out], ignore_index=True),
        "negative_pairs": pd.concat(pairs, ignore_index=True),
        "runs": summarise_runs(steps, cfg),
        "anytime": anytime_curves(steps),
        "controller_cost": trl_out[0]["controller_cost"],
    }
    if recorder is not None:  # the steps' wall time: the searches' own, one after the other (kept ones included)
        search_seconds = round(float(steps.groupby(["policy", "seed"]).search_s.first().sum()), 3)
        for name, table in tables.items():
            if not table.empty:  # a scale may give no negative-reward layer (no attention rows)
                recorder.save(name, table, **({"wall_time_s": search_seconds} if name == "steps" else {}))
    return tables


def recorder(scale: str, seed: int = 0) -> Recorder:
    """The :class:`~edgelearn.core.results.Recorder` of a run at ``scale`` (its search seeds and
    configuration; :func:`run` sets the data source once the data are loaded). ``make record`` uses it."""
    cfg = SCALES[scale]
    seeds = {"search_seeds": [seed + s for s in cfg.seeds]}
    return Recorder("trl_hpo", scale, seeds=seeds, data_source="pending: set after loading MNIST", config=cfg)


def _pm(x: pd.Series, factor: float = 100.0, fmt: str = "{:.1f}") -> str:
    x = x.dropna()
    if x.empty:
        return "–"
    return fmt.format(factor * x.mean()) + (" ± " + fmt.format(factor * x.std()) if len(x) > 1 else "")


def table2(runs: pd.DataFrame | Mapping[str, pd.DataFrame], scale: str | None = None) -> pd.DataFrame:
    """The paper's Table II with our rows below: mean ± standard deviation over seeds of each
    policy's best accuracy, wall time and AccTime. ``runs``: one scale's ``runs`` table, named by
    ``scale``, or scale -> ``runs`` table (rows in that order: a build's runs beside a recorded run)."""
    if not isinstance(runs, Mapping):
        if scale is None:
            raise ValueError("'scale' must name the scale of a single 'runs' table")
        runs = {scale: runs}
    ours = [
        {"method": f"{POLICY_NAMES[p]} (ours, {name})", "best accuracy (%)": _pm(g.best_accuracy),
         "running time": _pm(g.wall_s, 1, "{:.0f}") + " s", "AccTime (%)": _pm(g.acc_time)}
        for name, table in runs.items() for p in POLICIES if not (g := table[table.policy == p]).empty
    ]  # fmt: skip
    return pd.concat([PAPER_TABLE2, pd.DataFrame(ours)], ignore_index=True).set_index("method")
