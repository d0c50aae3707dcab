"""The ATS/PTS chapter's experiments: one call runs them at a scale and saves every tidy table.

:func:`run` is what the notebook (and ``make record``) calls: the environment's speed, every
scheduler of :data:`edgelearn.ats.ats.SCHEDULERS` in both scenarios over the scale's seeds, and
the sensitivity sweeps of PTS's period and ATS's percentile (stationary scenario), spread over the
machine's cores by :func:`edgelearn.core.pool.parallel_map`. The tables it returns (and saves
through a :class:`~edgelearn.core.results.Recorder`) are the inputs of :mod:`edgelearn.ats.claims`:

* ``env_speed`` — environment steps per second under random actions, per load;
* ``episodes`` — one row per run x episode (:func:`edgelearn.ats.ats.run`), with ``sweep``
  ("main", "period" or "percentile") and ``value`` (the swept setting) columns;
* ``psi`` — ATS's decisions in its main runs, summed per run and episode (:func:`psi_summary`):
  slots decided, by the PTS fallback or by the psi rule, trained, and the sum of psi;
* ``psi_hist`` — the distribution of psi over the slots the psi rule decided, as a histogram
  (:func:`psi_histogram_table`). The slot-by-slot values (200,000 per run at the paper's scale) are
  not kept: these two tables hold everything the claims, figures and text use;
* ``final`` — mean reward per slot over the last quarter of the episodes with a 95% interval over
  seeds, and the share of slots spent training, per scenario and scheduler;
* ``sensitivity`` — per swept setting and seed: reward and training share (last quarter);
* ``throughput`` — steps per second of the environment alone and of the schedulers end to end.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from edgelearn.ats.ats import SCALES, SCENARIOS, SCHEDULERS, ATSScale, run_task
from edgelearn.ats.mec import MECEnv
from edgelearn.core.pool import resumable_map
from edgelearn.core.results import Recorder
from edgelearn.core.stats import mean_ci
from edgelearn.core.store import DiskCache

DATA_SOURCE = "simulated MEC environment (edgelearn.ats.mec), no external data"


def last_quarter(episodes: pd.DataFrame) -> pd.DataFrame:
    """The rows of the last quarter of the episodes (where epsilon has reached its floor and, in the
    dynamic scenario, the load is highest): the window in which "final" performance is measured."""
    n = int(episodes.episode.max()) + 1
    return episodes[episodes.episode >= int(0.75 * n)]


def per_run(episodes: pd.DataFrame, by: tuple[str, ...] = ("scenario", "scheduler", "seed")) -> pd.DataFrame:
    """One row per run: mean ``reward`` per slot and the ``training_share`` of slots over ``episodes``."""
    return (
        episodes.groupby(list(by), as_index=False)
        .agg(reward=("reward_per_slot", "mean"), trained=("training_slots", "sum"), slots=("slots", "sum"))
        .assign(training_share=lambda d: d.trained / d.slots)
    )


def seeds_of(cfg: ATSScale, seed: int = 0) -> tuple[list[int], list[int]]:
    """The run seeds (``seed``, ``seed + 1``, ...) and the first of them that the sweeps use."""
    seeds = [seed + i for i in range(cfg.seeds)]
    return seeds, seeds[: cfg.sweep_seeds]


def assumptions(cfg: ATSScale) -> pd.DataFrame:
    """Every number the summary leaves open, as chosen for this scale: (quantity, our choice)."""
    env, agent, tr = cfg.env, cfg.agent, cfg.training
    rows = [
        ("computing resources C", env.n_resources),
        ("users U (Bernoulli arrivals)", env.n_users),
        ("buffer size", env.buffer_size),
        ("execution time (slots)", f"U{{1..{env.max_exec}}}"),
        ("resource demand (units)", f"U{{1..{env.max_demand}}}"),
        ("deadline", f"arrival + execution + U{{0..{env.max_slack}}}"),
        ("reward", f"+{env.reward_per_job:g} per job on time, -{env.miss_penalty:g} per job late, dropped or rejected"),
        ("slots per episode", cfg.horizon),
        ("episodes per run", cfg.episodes),
        ("seeds (sweeps)", f"{cfg.seeds} ({cfg.sweep_seeds})"),
        (
            "utilisation at rho = 0.1 / 0.3",
            f"{replace(env, load=0.1).utilisation:.3f} / {replace(env, load=0.3).utilisation:.3f}",
        ),
        ("Q-network", f"MLP {agent.hidden}, Double DQN, PER alpha={agent.per_alpha}, beta={agent.per_beta}"),
        ("one training job", f"{agent.updates_per_job} minibatches of {agent.batch_size}"),
        (
            "epsilon",
            f"{agent.eps_start} -> {agent.eps_end}, exponential over {agent.eps_decay_episodes} episodes, "
            f"then {agent.eps_end}",
        ),
        ("PTS period T_l", tr.period),
        ("ATS percentile / window", f"{tr.percentile} / {tr.window}"),
        (
            "ATS fallback",
            f"PTS while fewer than {tr.min_history} psi values or relative TD error > {tr.td_tolerance}",
        ),
        ("Fixed", f"trains as PTS in the first {tr.fixed_fraction:.0%} of the episodes, then never"),
        ("sweeps (stationary)", f"T_l in {list(cfg.periods)}; percentile in {list(cfg.percentiles)}"),
    ]
    return pd.DataFrame(rows, columns=["quantity", "our choice"]).astype(str)


def env_speed(cfg: ATSScale, seed: int, steps: int) -> pd.DataFrame:
    """Environment steps per second under uniformly random actions, at load 0.1 and 0.3."""
    rows = []
    for load in (0.1, 0.3):
        env = MECEnv(replace(cfg.env, load=load, horizon=10**9))
        env.reset(seed=seed)
        actions = np.random.default_rng(seed).integers(0, cfg.env.buffer_size + 1, steps).tolist()
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        rows.append({"load": load, "steps_per_s": steps / (time.perf_counter() - start)})
    return pd.DataFrame(rows)


def tasks(cfg: ATSScale, seeds: list[int], sweep_seeds: list[int]) -> list[tuple]:
    """The runs of the chapter, as arguments of :func:`edgelearn.ats.ats.run_task`: every scheduler in
    both scenarios on every seed (ATS records psi), then the PTS-period and ATS-percentile sweeps in
    the stationary scenario (the default setting is not rerun: the main runs' first seeds stand in)."""
    out = [
        (s, scenario, cfg, sd, None, s == "ATS", {"sweep": "main"})
        for scenario in SCENARIOS
        for s in SCHEDULERS
        for sd in seeds
    ]
    out += [
        ("PTS", "stationary", cfg, sd, replace(cfg.training, period=p), False, {"sweep": "period", "value": p})
        for p in cfg.periods
        if p != cfg.training.period
        for sd in sweep_seeds
    ]
    out += [
        ("ATS", "stationary", cfg, sd, replace(cfg.training, percentile=q), False, {"sweep": "percentile", "value": q})
        for q in cfg.percentiles
        if q != cfg.training.percentile
        for sd in sweep_seeds
    ]
    return out


def _expected_cost(task: tuple) -> float:
    """A rough relative run time (training jobs dominate): used to start the longest runs first."""
    scheduler, _, cfg, _, training = task[:5]
    training = training or cfg.training
    if scheduler == "SJF":
        return 0.0
    if scheduler == "Fixed":
        return 1.0 + training.fixed_fraction * 10.0 / training.period
    if scheduler == "ATS":  # psi every slot; after the fallback it trains in 1 - q/100 of the slots
        return 1.5 + 10.0 * (1.0 - training.percentile / 100.0)
    return 1.0 + 10.0 / training.period + (0.2 if scheduler == "Ideal" else 0.0)  # Ideal loses no slot


def run_all(
    task_list: list[tuple], workers: int | None = None, backend: str = "process", cache: DiskCache | None = None
) -> list[dict[str, pd.DataFrame]]:
    """:func:`~edgelearn.ats.ats.run_task` over ``task_list`` on the machine's cores, longest first;
    results in task order (the order does not change any run: each is seeded on its own). With a
    ``cache`` each finished run is kept, and a rerun computes only the runs not kept yet."""
    order = sorted(range(len(task_list)), key=lambda i: -_expected_cost(task_list[i]))
    ordered = [task_list[i] for i in order]
    with tqdm(total=len(ordered), desc="ATS runs", unit="run", disable=cache is None) as bar:
        outputs = resumable_map(run_task, ordered, cache, workers, backend, progress=lambda _: bar.update())
    results: list[dict[str, pd.DataFrame]] = [{}] * len(task_list)
    for i, out in zip(order, outputs):
        results[i] = out
    return results


def final_table(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and scheduler (main runs): mean reward per slot over the last quarter with its
    95% Student-t interval over seeds (``mean``, ``lo``, ``hi``) and the share of slots trained."""
    runs = per_run(last_quarter(episodes[episodes.sweep == "main"]))
    summary = mean_ci(runs, ["scenario", "scheduler"], "reward").set_index(["scenario", "scheduler"])
    share = runs.groupby(["scenario", "scheduler"]).training_share.mean().rename("training share")
    index = pd.MultiIndex.from_product([SCENARIOS, SCHEDULERS], names=["scenario", "scheduler"])
    return summary[["mean", "lo", "hi"]].join(share).reindex(index).reset_index()


def sensitivity_table(episodes: pd.DataFrame, cfg: ATSScale, sweep_seeds: list[int]) -> pd.DataFrame:
    """Per swept setting and seed (stationary, last quarter): ``reward`` and ``training_share``; the
    default setting comes from the main runs on the sweep seeds."""
    main = episodes[(episodes.sweep == "main") & (episodes.scenario == "stationary") & episodes.seed.isin(sweep_seeds)]
    parts = []
    for sweep, scheduler, default in (
        ("period", "PTS", cfg.training.period),
        ("percentile", "ATS", cfg.training.percentile),
    ):
        base = main[main.scheduler == scheduler].assign(value=float(default))
        both = pd.concat([episodes[episodes.sweep == sweep], base], ignore_index=True)
        runs = per_run(last_quarter(both), by=("value", "seed"))
        parts.append(runs.assign(sweep=sweep, scheduler=scheduler))
    return pd.concat(parts, ignore_index=True)[
        ["value", "seed", "reward", "trained", "training_share", "sweep", "scheduler"]
    ]


def throughput_table(speed: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """Steps per second: the environment alone (its slower load) and the schedulers end to end."""
    drl, sjf = episodes[episodes.scheduler != "SJF"], episodes[episodes.scheduler == "SJF"]
    return pd.DataFrame(
        [
            {"what": "environment alone (random actions)", "steps_per_s": float(speed.steps_per_s.min())},
            {
                "what": "DRL schedulers end to end (acting, psi, training jobs)",
                "steps_per_s": float(drl.steps.sum() / drl.seconds.sum()),
            },
            {"what": "SJF end to end", "steps_per_s": float(sjf.steps.sum() / sjf.seconds.sum())},
        ]
    )


def expected_core_seconds(episodes: pd.DataFrame, target: ATSScale) -> float:
    """The core-seconds the runs of ``target`` (:func:`tasks`, sweeps included) would take at the cost
    per slot measured in ``episodes`` (per scheduler: its seconds over its slots, all runs pooled).
    The cost per slot grows as the replay memory fills, so a long run's table is the better basis."""
    per_slot = episodes.groupby("scheduler").seconds.sum() / episodes.groupby("scheduler").slots.sum()
    seeds, sweep_seeds = seeds_of(target, 0)
    slots = target.episodes * target.horizon
    return float(sum(slots * per_slot[task[0]] for task in tasks(target, seeds, sweep_seeds)))


def run(
    scale: str,
    seed: int = 0,
    recorder: Recorder | None = None,
    workers: int | None = None,
    backend: str = "process",
    config: ATSScale | None = None,
    checkpoints: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the chapter's experiments at ``scale`` and save every table through ``recorder``.

    Returns the tables by name (see the module docstring); the ``episodes`` table's provenance
    records the number of runs, the wall time of this call (``run_seconds``) and, as its
    ``wall_time_s``, the runs' own time one after the other (runs kept from an interrupted call
    included). ``workers`` and ``backend``
    go to :func:`~edgelearn.core.pool.parallel_map` ("serial" runs in this process, bit-identical).
    ``config`` replaces the scale's configuration (e.g. a smaller one in a test). ``checkpoints``: a
    folder that keeps each finished run, so that an interrupted run resumes (``make record``). Same
    ``seed``, same tables (up to the timing columns).
    """
    cfg = config or SCALES[scale]
    seeds, sweep_seeds = seeds_of(cfg, seed)
    cache = DiskCache(checkpoints, "edgelearn.ats.ats") if checkpoints is not None else None
    save = recorder.save if recorder is not None else (lambda name, df, **extra: None)
    results: dict[str, pd.DataFrame] = {}
    results["env_speed"] = env_speed(cfg, seed, 20_000 if scale == "smoke" else 100_000)
    save("env_speed", results["env_speed"])
    task_list = tasks(cfg, seeds, sweep_seeds)
    start = time.perf_counter()
    outputs = run_all(task_list, workers, backend, cache)
    run_seconds = time.perf_counter() - start
    results["episodes"] = pd.concat([o["episodes"] for o in outputs], ignore_index=True)
    slots = pd.concat([o["psi"] for o in outputs if len(o["psi"])], ignore_index=True)
    results["psi"] = psi_summary(slots)
    results["psi_hist"] = psi_histogram_table(slots, cfg.training.percentile)
    unit_seconds = round(float(results["episodes"].seconds.sum()), 3)  # the runs' own time, kept ones included
    save(
        "episodes",
        results["episodes"],
        runs=len(task_list),
        run_seconds=round(run_seconds, 1),
        wall_time_s=unit_seconds,
    )
    save("psi", results["psi"])
    save("psi_hist", results["psi_hist"])
    results["final"] = final_table(results["episodes"])
    save("final", results["final"])
    results["sensitivity"] = sensitivity_table(results["episodes"], cfg, sweep_seeds)
    save("sensitivity", results["sensitivity"])
    results["throughput"] = throughput_table(results["env_speed"], results["episodes"])
    save("throughput", results["throughput"])
    return results


def recorder(scale: str, seed: int = 0) -> Recorder:
    """The :class:`~edgelearn.core.results.Recorder` of a run at ``scale``: its seeds, data source and
    configuration (the notebook and ``make record`` both use it)."""
    cfg = SCALES[scale]
    run_seeds, sweep_seeds = seeds_of(cfg, seed)
    seeds = {"base_seed": seed, "run_seeds": run_seeds, "sweep_seeds": sweep_seeds}
    return Recorder("ats", scale, seeds=seeds, data_source=DATA_SOURCE, config=cfg)


def fallback_episodes(psi: pd.DataFrame) -> pd.Series:
    """Per (scenario, seed) of ATS's main runs: the episodes until its PTS fallback ended for good
    (``psi``: the :func:`psi_summary` table)."""
    main = psi[psi.sweep == "main"] if "sweep" in psi else psi
    return main.groupby(["scenario", "seed"]).apply(
        lambda d: int(d.episode[d.fallback > 0].max() + 1) if (d.fallback > 0).any() else 0, include_groups=False
    )


def psi_summary(slots: pd.DataFrame) -> pd.DataFrame:
    """ATS's slot decisions (one row per slot, as :func:`edgelearn.ats.ats.run` records them) summed
    per run and episode: ``decisions``, ``fallback`` (slots the PTS fallback decided), ``trusted``
    (slots the psi rule decided), ``trained`` (trusted slots that trained) and ``psi_sum`` (the sum
    of psi over the trusted slots)."""
    keys = [c for c in ("scheduler", "scenario", "seed", "sweep", "percentile", "episode") if c in slots]
    fallback = slots.fallback.astype(bool)
    per_slot = slots[keys].assign(
        fallback=fallback,
        trusted=~fallback,
        trained=~fallback & slots.train.astype(bool),
        psi_sum=slots.psi.where(~fallback, 0.0),
    )
    summed = per_slot.groupby(keys, sort=False).agg(
        decisions=("fallback", "size"),
        fallback=("fallback", "sum"),
        trusted=("trusted", "sum"),
        trained=("trained", "sum"),
        psi_sum=("psi_sum", "sum"),
    )
    return summed.reset_index()


def psi_histogram_table(slots: pd.DataFrame, percentile: float, bins: int = 60) -> pd.DataFrame:
    """The distribution of psi over the trusted slots of the main runs (both scenarios, all
    seeds): ``bins`` equal bins between the pooled 0.5th and 99.9th percentiles (values beyond go
    to the end bins), with the slots (``slots``) and the trained slots (``trained``) in each, and
    the pooled ``percentile``-th percentile of psi (``threshold``, the same on every row). When the
    psi rule decided no slot, one row with no slots and no edges."""
    main = slots[slots.sweep == "main"] if "sweep" in slots else slots
    trusted = main[~main.fallback.astype(bool)]
    if trusted.empty:
        return pd.DataFrame({"left": [np.nan], "right": [np.nan], "slots": [0], "trained": [0], "threshold": [np.nan]})
    lo, hi = np.percentile(trusted.psi, [0.5, 99.9])
    edges = np.linspace(lo, hi, bins + 1) if hi > lo else np.array([lo - 0.5, lo + 0.5])
    values = trusted.psi.clip(edges[0], edges[-1]).to_numpy()
    every, _ = np.histogram(values, edges)
    trained, _ = np.histogram(values[trusted.train.astype(bool).to_numpy()], edges)
    threshold = float(np.percentile(trusted.psi, percentile))
    return pd.DataFrame(
        {"left": edges[:-1], "right": edges[1:], "slots": every, "trained": trained, "threshold": threshold}
    )


def glue_values(results: dict[str, pd.DataFrame], cfg: ATSScale) -> dict[str, float]:
    """The numbers the chapter's pages quote, by glue key (``ats__...``)."""
    final = results["final"].set_index(["scenario", "scheduler"])["mean"]
    psi = results["psi"]
    main = psi[psi.sweep == "main"]
    trusted = int(main.trusted.sum())
    out: dict[str, float] = {
        "ats__eps_episodes": cfg.agent.eps_decay_episodes,
        "ats__horizon": cfg.horizon,
        "ats__episodes": cfg.episodes,
        "ats__seeds": cfg.seeds,
        "ats__sweep_seeds": cfg.sweep_seeds,
        "ats__percentile": float(cfg.training.percentile),
        "ats__window": cfg.training.window,
        "ats__period": cfg.training.period,
        "ats__env_speed": float(results["env_speed"].steps_per_s.min()),
        "ats__agent_speed": float(results["throughput"].steps_per_s.iloc[1]),
        "ats__fallback_episodes": float(fallback_episodes(psi).mean()),
        "ats__psi_train_share": float(main.trained.sum() / trusted) if trusted else float("nan"),
        "ats__psi_mean": float(main.psi_sum.sum() / trusted) if trusted else float("nan"),
    }
    for scenario in SCENARIOS:
        out[f"ats__gap_{scenario}"] = float(final[scenario, "Ideal"] - final[scenario, "ATS"])
        for s in SCHEDULERS:
            out[f"ats__final_{scenario}_{s}"] = float(final[scenario, s])
    return out
