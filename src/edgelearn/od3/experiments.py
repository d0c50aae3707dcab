"""OD3's experiments: one call runs the chapter at a scale and saves every tidy table.

:func:`run` does, for the configuration of a scale (:data:`edgelearn.od3.SCALES`):

1. ``networks`` — largenet and smallnet in each layout, with the paper's Table 3 counts
   (:func:`network_table`);
2. ``curves`` and ``final_eval`` — Case 1 (Figs. 4 and 5): the CLOUD teacher per seed (cached,
   :func:`edgelearn.od3.cached_teacher`), EDGE (smallnet by DQN) and EDGE-OD3 (smallnet distilled from
   the teacher of the first seed), their average training reward against timesteps and time, and
   their final evaluation returns (ε = 0.05);
3. ``table3_runs`` — per run, when the average reward first reaches the convergence reward
   (:func:`convergence_reward`) and the run's totals (Table 3);
4. ``sweeps`` — Case 2 (Figs. 6-9): EDGE-OD3 with mini-batches 32 to 4 and updates every 4 to 32
   steps;
5. ``ablation`` — whose ε-greedy actions gather the student's states (the teacher's or its own);
6. ``sharpening`` — the teacher's softmax at several temperatures on the states it visits (eq. 3).

Each table is saved through a :class:`~edgelearn.core.results.Recorder` and returned as read back
from disk, so the verdict rules (:mod:`edgelearn.od3.claims`) see what the book sees. The same
``scale`` and ``seed`` give the same tables (apart from the measured times): every run is seeded
on its own (:func:`edgelearn.od3.train`).

The training runs are the **units of work** (:func:`units`, :func:`run_unit`): each CLOUD teacher,
each EDGE and EDGE-OD3 run, each Case-2 and ablation run. They are spread over processes by
:func:`edgelearn.core.pool.resumable_map` in two phases (the first seed's teacher with as many
other runs beside it as there are other workers, then the rest, among them the runs that distil
from that teacher: :func:`run_units`) and, with ``checkpoints``, kept one by one in a
:class:`~edgelearn.core.store.DiskCache` keyed by the code fingerprint of this module (and of
:mod:`edgelearn.od3.od3`, the networks, environments and DQN machinery it imports), so that an
interrupted ``make record PAPER=od3`` loses at most the runs in flight.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from edgelearn.core.costs import count_flops, count_params
from edgelearn.core.pool import default_workers, resumable_map
from edgelearn.core.results import Recorder
from edgelearn.core.seeding import numpy_generator
from edgelearn.core.store import DiskCache
from edgelearn.od3.analysis import convergence_table
from edgelearn.od3.envs import make_env
from edgelearn.od3.nets import LARGENET, SMALLNET, PolicyNetGenerator, QNet, build_net, layout_for, paper_count
from edgelearn.od3.od3 import METHODS, SCALES, DQNConfig, OD3Config, cached_teacher, train

PAPER_LAYOUT = "paper (80x80, same padding, x2)"
PONG_CONVERGENCE_REWARD = 6.2
"""The paper's convergence point on Pong (section V-B1: "6.2 reward points")."""
SHARPENING_STATES = 2_000
"""At most this many visited states in the ``sharpening`` table (an evaluation episode's length at most)."""
TAUS = (1.0, 0.1, 0.01)
"""Temperatures of the ``sharpening`` table: the softmax at 1 and the paper's 0.01."""
CHECKPOINT_MODULES = ("edgelearn.od3.experiments",)
"""The code a kept run depends on (with everything it imports: :mod:`edgelearn.od3.od3`, the networks,
environments and DQN machinery): an edit to any of it makes every checkpoint of a recorded run miss."""


def recorder(scale: str, seed: int = 0, config: OD3Config | None = None) -> Recorder:
    """The :class:`Recorder` of the chapter's run at ``scale`` (seeds offset by ``seed``)."""
    cfg = config or SCALES[scale]
    return Recorder(
        "od3",
        scale,
        seeds={"runs": [seed + s for s in cfg.seeds], "sweeps": [seed + s for s in cfg.sweep_seeds]},
        data_source=f"simulated environment {cfg.teacher.env} (gymnasium {gym.__version__})",
        config=cfg,
    )


# ---------------------------------------------------------------------------------------------
# Networks (Table 3's sizes) and PolicyNetGenerator (Algorithm 1, line 1)
# ---------------------------------------------------------------------------------------------

SHAPES = {"atari": ((4, 84, 84), 6), "minatar": ((4, 10, 10), 3), "mlp": ((4,), 2)}
"""Observation shape and number of actions of each layout: Pong frames, MinAtar maps, CartPole."""


def network_table() -> pd.DataFrame:
    """largenet and smallnet in each layout: parameters, forward FLOPs and size in % of largenet,
    plus the layout that gives the paper's Table 3 counts (:func:`edgelearn.od3.paper_count`)."""
    rows = []
    for layout, (shape, n_actions) in SHAPES.items():
        for name, widths in (("largenet", LARGENET[layout]), ("smallnet", SMALLNET[layout])):
            net = QNet(layout, widths, shape, n_actions)
            rows.append(
                {"layout": layout, "input": "x".join(map(str, shape)), "actions": n_actions, "network": name,
                 "widths": str(widths), "parameters": count_params(net), "forward FLOPs": count_flops(net, shape)}
            )  # fmt: skip
    for name, widths in (("largenet", LARGENET["atari"]), ("smallnet", SMALLNET["atari"])):
        rows.append(
            {"layout": PAPER_LAYOUT, "input": "4x80x80", "actions": 6, "network": name, "widths": str(widths),
             "parameters": paper_count(widths), "forward FLOPs": math.nan}
        )  # fmt: skip
    table = pd.DataFrame(rows)
    table["size %"] = 100 * table.parameters / table.groupby("layout").parameters.transform("max")
    return table


def generator_table(
    budgets: Sequence[tuple[str, float]] = (
        ("params", 600_000), ("params", 100_000), ("params", 40_000), ("flops", 1_000_000), ("flops", 100_000)
    ),
) -> pd.DataFrame:  # fmt: skip
    """What ``PolicyNetGenerator(R)`` returns for MinAtar maps at a few budgets of parameters or FLOPs."""
    gen = PolicyNetGenerator("minatar", (4, 10, 10), 3)
    rows = []
    for unit, budget in budgets:
        net = gen(budget, unit)
        rows.append({"unit": unit, "budget": budget, "widths": str(net.widths), "parameters": count_params(net),
                     "FLOPs": count_flops(net, (4, 10, 10))})  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Case 1: CLOUD, EDGE, EDGE-OD3 (Figs. 4, 5 and Table 3)
# ---------------------------------------------------------------------------------------------


def convergence_reward(cfg: OD3Config, teacher_eval: float) -> float:
    """The reward at which a run counts as converged: the paper's 6.2 points on Pong; elsewhere
    ``cfg.converge_fraction`` times the evaluation return of the teacher that taught the students."""
    if cfg.teacher.env == "pong":
        return PONG_CONVERGENCE_REWARD
    return cfg.converge_fraction * teacher_eval


def _evals(method: str, seed: int, eval_returns: Sequence[float]) -> list[dict]:
    return [{"method": method, "seed": seed, "eval_return": float(r)} for r in eval_returns]


# ---------------------------------------------------------------------------------------------
# Units of work: one training run each
# ---------------------------------------------------------------------------------------------


def unit_spec(
    method: str, cfg: DQNConfig, seed: int, teacher: tuple[DQNConfig, int] | None = None, actor: str = "student"
) -> dict[str, Any]:
    """What one training run is (JSON, the key of its checkpoint): ``method`` ``"CLOUD"`` (largenet by
    DQN, through the teacher cache), ``"EDGE"`` (smallnet by DQN) or ``"EDGE-OD3"`` (smallnet distilled
    from ``teacher``, the teacher's configuration and seed, gathering states as ``actor``), its
    configuration and seed. A run's label (the ``run`` column of its curve) is not part of it: a
    Case-2 run with the Case-1 settings is the Case-1 run."""
    if method not in METHODS:
        raise ValueError(f"'method' must be one of {METHODS}, got {method!r}")
    if (method == "EDGE-OD3") != (teacher is not None):
        raise ValueError("'teacher' is needed by EDGE-OD3 runs and by no other method")
    return {
        "method": method,
        "config": dataclasses.asdict(cfg),
        "seed": int(seed),
        "actor": actor,
        "teacher": None if teacher is None else {"config": dataclasses.asdict(teacher[0]), "seed": int(teacher[1])},
    }


def units(cfg: OD3Config, seeds: Sequence[int], sweep_seeds: Sequence[int]) -> tuple[list[dict], list[dict]]:
    """The chapter's training runs in two lists: what needs no teacher (CLOUD per seed, the first
    seed's run, the teacher, first; EDGE per seed), and what distils from the teacher of ``seeds[0]``
    (EDGE-OD3 per seed, the Case-2 sweeps, the ablation); :func:`run_units` schedules them. The
    sweeps' BS32 and LF4 settings are one configuration, run once."""
    teacher = (cfg.teacher, int(seeds[0]))
    first = [unit_spec("CLOUD", cfg.teacher, s) for s in seeds]
    first += [unit_spec("EDGE", cfg.student, s) for s in seeds]
    second = [unit_spec("EDGE-OD3", cfg.student, s, teacher) for s in seeds]
    for run_cfg in _sweep_configs(cfg).values():
        for s in sweep_seeds:
            spec = unit_spec("EDGE-OD3", run_cfg, s, teacher)
            if spec not in second:
                second.append(spec)
    if cfg.ablation:
        second += [unit_spec("EDGE-OD3", cfg.student, s, teacher, actor="teacher") for s in seeds]
    return first, second


def run_unit(spec: dict[str, Any], teacher_state: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """Run the training run ``spec`` (:func:`unit_spec`); an EDGE-OD3 run gets its teacher's weights as
    ``teacher_state``. Returns its ``curve``, ``eval_returns`` and, for CLOUD, the teacher's CPU
    ``state_dict`` and whether it came from the teacher cache (``cache_hit``)."""
    cfg, seed = DQNConfig(**spec["config"]), spec["seed"]
    if spec["method"] == "CLOUD":
        run, hit = cached_teacher(cfg, seed)
        state = {k: v.detach().cpu() for k, v in run.net.state_dict().items()}
        return {"curve": run.curve, "eval_returns": run.eval_returns, "state_dict": state, "cache_hit": hit}
    teacher = None
    if spec["teacher"] is not None:
        if teacher_state is None:
            raise ValueError("an EDGE-OD3 run needs its teacher's weights: 'teacher_state' is None")
        teacher = build_net(spec["teacher"]["config"]["env"], "largenet", spec["teacher"]["seed"])
        teacher.load_state_dict(teacher_state)
    net = build_net(cfg.env, "smallnet", seed)
    run = train(net, cfg, seed, teacher=teacher, actor=spec["actor"])
    return {"curve": run.curve, "eval_returns": run.eval_returns}


def unit_cost(spec: dict[str, Any]) -> float:
    """A rough relative run time (measured on MinAtar: a largenet update costs about 3x a smallnet one,
    a distilled update adds the teacher's forward pass): used to start the longest runs first."""
    cfg = DQNConfig(**spec["config"])
    update = {"CLOUD": 3.0, "EDGE": 1.0, "EDGE-OD3": 1.4}[spec["method"]] * (0.3 + 0.7 * cfg.batch_size / 32)
    return cfg.steps * (0.5 + 4 * update / cfg.update_every)


def _key(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True)


def run_units(
    first: list[dict],
    second: list[dict],
    teacher: dict[str, Any],
    workers: int | None = 1,
    backend: str = "process",
    cache: DiskCache | None = None,
) -> dict[str, dict[str, Any]]:
    """Every run of ``first`` (runs that need no teacher) and of ``second`` (runs that distil from
    ``teacher``, the spec of a CLOUD run of ``first``) on ``workers`` processes
    (:func:`~edgelearn.core.pool.resumable_map`: ``None`` every core, 1 here one after the other).

    Two phases, each longest first: the teacher's run, beside it the ``workers - 1`` longest other
    runs of ``first`` (so that no worker idles while the teacher trains); then everything else, the
    distilled runs with the teacher's weights. With a ``cache`` each finished run is kept and a
    rerun computes only the runs not kept yet; a progress bar shows then. Returns the results by
    :func:`_key` of their spec (the same whatever the workers: every run is seeded on its own)."""
    if teacher not in first:
        raise ValueError("'teacher' must be a run of the first phase: the second distils from it")
    beside = sorted((spec for spec in first if spec != teacher), key=lambda spec: -unit_cost(spec))
    n_beside = (default_workers() if workers is None else workers) - 1
    phases = ([teacher, *beside[:n_beside]], beside[n_beside:] + second)
    done: dict[str, dict[str, Any]] = {}
    with tqdm(total=len(first) + len(second), desc="OD3 runs", unit="run", disable=cache is None) as bar:
        for i, phase in enumerate(phases):
            weights = done[_key(teacher)]["state_dict"] if i == 1 else None
            ordered = sorted(phase, key=lambda spec: -unit_cost(spec))
            tasks = [(spec, weights if spec["teacher"] is not None else None) for spec in ordered]
            outputs = resumable_map(
                run_unit, tasks, cache, workers, backend, progress=lambda _: bar.update(), spec=lambda task: task[0]
            )
            done |= {_key(spec): out for spec, out in zip(ordered, outputs, strict=True)}
    return done


# ---------------------------------------------------------------------------------------------
# The tables, from the runs
# ---------------------------------------------------------------------------------------------


def case1(
    cfg: OD3Config, seeds: Sequence[int], done: dict[str, dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame, QNet, list[bool]]:
    """CLOUD (cached teachers), EDGE and EDGE-OD3 for each seed, from the finished runs ``done``
    (:func:`run_units`).

    Returns the curves (one row per run x checkpoint, column ``method``), the final evaluation returns
    (one row per episode), the teacher of ``seeds[0]`` that taught every EDGE-OD3 run, and per seed
    whether its teacher came from the cache.
    """
    teacher_id = (cfg.teacher, int(seeds[0]))
    clouds = [done[_key(unit_spec("CLOUD", cfg.teacher, s))] for s in seeds]
    curves = [run["curve"].assign(method="CLOUD") for run in clouds]
    evals = [row for s, run in zip(seeds, clouds) for row in _evals("CLOUD", s, run["eval_returns"])]
    for s in seeds:
        for method, teacher in (("EDGE", None), ("EDGE-OD3", teacher_id)):
            run = done[_key(unit_spec(method, cfg.student, s, teacher))]
            curves.append(run["curve"].assign(run=method, method=method))
            evals += _evals(method, s, run["eval_returns"])
    teacher = build_net(cfg.teacher.env, "largenet", seeds[0])
    teacher.load_state_dict(clouds[0]["state_dict"])
    hits = [bool(run["cache_hit"]) for run in clouds]
    return pd.concat(curves, ignore_index=True), pd.DataFrame(evals), teacher, hits


def table3_runs(curves: pd.DataFrame, final_eval: pd.DataFrame, cfg: OD3Config, seeds: Sequence[int]) -> pd.DataFrame:
    """Table 3 per run: parameters, size in % of CLOUD, the first step / wall / CPU time at which the
    average reward reaches :func:`convergence_reward`, and the run's totals; ``threshold`` and
    ``env`` name the convergence reward and the environment."""
    teacher_eval = float(final_eval.query("method == 'CLOUD' and seed == @seeds[0]").eval_return.mean())
    threshold = convergence_reward(cfg, teacher_eval)
    large, small = (
        count_params(build_net(cfg.teacher.env, "largenet")),
        count_params(build_net(cfg.student.env, "smallnet")),
    )
    params = {"CLOUD": large, "EDGE": small, "EDGE-OD3": small}
    return convergence_table(curves, threshold, params).assign(
        threshold=threshold, teacher_eval=teacher_eval, env=cfg.teacher.env
    )


def table3_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Table 3 over seeds, one row per method: parameters, size, runs converged, mean steps and wall
    time to convergence (a run that never converges counts as its whole run, a lower bound), and
    the wall time in % of CLOUD's."""
    runs = runs.assign(
        steps=runs.steps_to_converge.fillna(runs.total_steps), wall_s=runs.wall_s_to_converge.fillna(runs.total_wall_s)
    )
    table = (
        runs.groupby("method")
        .agg(parameters=("parameters", "first"), size_pct=("size_pct", "first"), converged=("converged", "sum"),
             runs=("converged", "size"), steps=("steps", "mean"), wall_s=("wall_s", "mean"))
        .reindex([m for m in METHODS if m in set(runs.method)])
    )  # fmt: skip
    table["time % of CLOUD"] = 100 * table.wall_s / table.loc["CLOUD", "wall_s"]
    return table


# ---------------------------------------------------------------------------------------------
# Case 2: mini-batch size and update frequency (Figs. 6-9)
# ---------------------------------------------------------------------------------------------


def _sweep_configs(cfg: OD3Config) -> dict[tuple[str, int], DQNConfig]:
    """Case 2's settings: each mini-batch size (update every 4 steps) and each update frequency
    (mini-batch 32), for ``cfg.sweep_steps`` steps, by ``(sweep, value)``."""
    runs = {
        ("batch", bs): dataclasses.replace(cfg.student, steps=cfg.sweep_steps, batch_size=bs) for bs in cfg.batch_sizes
    }
    runs |= {
        ("update", lf): dataclasses.replace(cfg.student, steps=cfg.sweep_steps, update_every=lf)
        for lf in cfg.update_freqs
    }
    return runs


def case2(cfg: OD3Config, seeds: Sequence[int], done: dict[str, dict[str, Any]], teacher_seed: int) -> pd.DataFrame:
    """EDGE-OD3 with each mini-batch size (update every 4 steps) and each update frequency
    (mini-batch 32) for ``cfg.sweep_steps`` steps, distilled from the CLOUD teacher of
    ``teacher_seed``, from the finished runs ``done`` (:func:`run_units`); BS32 and LF4 are one
    configuration, run once.

    One row per run x checkpoint, with ``sweep`` ("batch" or "update"), ``value``, ``method``
    (e.g. "EDGE-OD3-BS8") and the run's mean ``final_eval`` return.
    """
    teacher = (cfg.teacher, int(teacher_seed))
    out = []
    for (kind, value), run_cfg in _sweep_configs(cfg).items():
        for s in seeds:
            run = done[_key(unit_spec("EDGE-OD3", run_cfg, s, teacher))]
            label = f"EDGE-OD3-{'BS' if kind == 'batch' else 'LF'}{value}"
            final_eval = float(np.mean(run["eval_returns"])) if len(run["eval_returns"]) else float("nan")
            curve = run["curve"].assign(run="", final_eval=final_eval, sweep=kind, value=value, method=label)
            out.append(curve)
    return pd.concat(out, ignore_index=True)


def sweep_runs(sweeps: pd.DataFrame) -> pd.DataFrame:
    """One row per Case-2 run: its final average reward, run mean (the average reward averaged over
    all checkpoints, which also counts how fast it learns), wall and CPU time, updates, final evaluation."""
    ordered = sweeps.sort_values("step")
    keys = ["sweep", "value", "seed"]
    last = ordered.groupby(keys).tail(1).set_index(keys)
    out = last[["reward", "wall_s", "cpu_s", "updates", "final_eval"]].rename(columns={"reward": "final_reward"})
    out["run_mean"] = ordered.groupby(keys).reward.mean()
    return out.reset_index().sort_values(keys, ignore_index=True)


def sweep_summary(sweeps: pd.DataFrame) -> pd.DataFrame:
    """Case 2 over seeds: per setting, the mean final reward, run mean, wall time and updates."""
    runs = sweep_runs(sweeps)
    return runs.groupby(["sweep", "value"])[["final_reward", "run_mean", "wall_s", "updates", "final_eval"]].mean()


# ---------------------------------------------------------------------------------------------
# Ablation and the sharpened target
# ---------------------------------------------------------------------------------------------


def ablation(
    cfg: OD3Config, seeds: Sequence[int], done: dict[str, dict[str, Any]], final_eval: pd.DataFrame
) -> pd.DataFrame:
    """EDGE-OD3 whose states are gathered by the teacher's ε-greedy actions (ε = 0.05), against the
    Case-1 runs where the student acts: evaluation returns per ``actor`` and seed."""
    teacher = (cfg.teacher, int(seeds[0]))
    rows = []
    for s in seeds:
        run = done[_key(unit_spec("EDGE-OD3", cfg.student, s, teacher, actor="teacher"))]
        rows += [{"actor": "teacher", "seed": s, "eval_return": float(r)} for r in run["eval_returns"]]
    rows += [
        {"actor": "student", "seed": int(r.seed), "eval_return": float(r.eval_return)}
        for r in final_eval.query("method == 'EDGE-OD3'").itertuples()
    ]
    return pd.DataFrame(rows)


def sharpening(teacher: QNet, env_name: str, seed: int, steps: int, taus: Sequence[float] = TAUS) -> pd.DataFrame:
    r"""The teacher's softmax :math:`F_{sm}(q_T/\kappa)` (eq. 3; the temperature :math:`\kappa`, the paper's
    :math:`\tau`, is ``tau`` here) on the states it visits acting ε-greedily (ε = 0.05) for ``steps`` steps:
    per temperature, the mean probability of its greedy action, the mean entropy (nats), and the median
    gap between its best and second-best Q-value."""
    device = next(teacher.parameters()).device
    dtype = torch.uint8 if teacher.layout == "atari" else torch.float32
    rng = numpy_generator(seed)
    states = []
    with contextlib.closing(make_env(env_name)) as env, torch.no_grad():
        obs, _ = env.reset(seed=seed)
        for _ in range(steps):
            x = torch.as_tensor(obs, dtype=dtype, device=device).unsqueeze(0)
            q = teacher(x)
            states.append(q.squeeze(0).cpu())
            action = int(rng.integers(q.shape[1])) if rng.random() < 0.05 else int(q.argmax(dim=1))
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
    q = torch.stack(states).double()
    top2 = q.topk(2, dim=1).values
    gap = float((top2[:, 0] - top2[:, 1]).median())
    rows = []
    for tau in taus:
        logp = torch.log_softmax(q / tau, dim=1)
        p = logp.exp()
        rows.append(
            {"tau": tau, "states": len(q), "greedy_prob": float(p.max(dim=1).values.mean()),
             "entropy": float(-(p * logp).nan_to_num().sum(dim=1).mean()), "median_gap": gap,
             "uniform_entropy": math.log(q.shape[1])}
        )  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# The whole chapter
# ---------------------------------------------------------------------------------------------


def run(
    scale: str,
    seed: int = 0,
    rec: Recorder | None = None,
    config: OD3Config | None = None,
    workers: int | None = 1,
    backend: str = "process",
    checkpoints: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Run every experiment of the chapter at ``scale`` (or ``config``) and save its tables with ``rec``
    (default: :func:`recorder`); return them by name, as read back from disk.

    Seeds are ``seed`` plus the configuration's ``seeds`` and ``sweep_seeds``. The training runs
    (:func:`units`) go to ``workers`` processes (``None``: every core; the default 1 runs them here,
    one after the other) on ``backend`` (see :class:`~edgelearn.core.pool.Pool`), the teacher
    first (:func:`run_units`). ``checkpoints``: a folder that keeps each finished run, so that an interrupted run
    (``make record``) resumes and loses at most the runs in flight; a progress bar shows then. Same
    ``seed``, same tables (up to the measured times), whatever the workers, the backend or the
    interruptions: every run is seeded on its own. The ``curves`` record notes the number of runs,
    the wall time of this call (``run_seconds``) and, as its ``wall_time_s``, the runs' own time one
    after the other (runs kept from an interrupted call included).
    """
    cfg = config or SCALES[scale]
    rec = rec or recorder(scale, seed, cfg)
    seeds = [seed + s for s in cfg.seeds]
    sweep_seeds = [seed + s for s in cfg.sweep_seeds]
    out: dict[str, pd.DataFrame] = {}

    def save(name: str, df: pd.DataFrame, **extra) -> None:
        rec.save(name, df, **extra)
        out[name] = rec.load(name)

    save("networks", network_table())
    cache = DiskCache(checkpoints, CHECKPOINT_MODULES) if checkpoints is not None else None
    first, second = units(cfg, seeds, sweep_seeds)
    start = time.perf_counter()
    done = run_units(first, second, first[0], workers, backend, cache)
    run_seconds = round(time.perf_counter() - start, 1)
    curves, final_eval, teacher, hits = case1(cfg, seeds, done)
    unit_seconds = sum(float(out["curve"].wall_s.max()) for out in done.values())  # kept runs included
    save(
        "curves",
        curves,
        teacher_cache_hits=hits,
        runs=len(first) + len(second),
        run_seconds=run_seconds,
        wall_time_s=round(unit_seconds, 3),
    )
    save("final_eval", final_eval)
    runs = table3_runs(out["curves"], out["final_eval"], cfg, seeds)
    save("table3_runs", runs, threshold=float(runs.threshold.iloc[0]))
    save("sweeps", case2(cfg, sweep_seeds, done, seeds[0]))
    if cfg.ablation:
        save("ablation", ablation(cfg, seeds, done, out["final_eval"]))
    states = min(cfg.student.max_eval_steps, SHARPENING_STATES)
    save("sharpening", sharpening(teacher, cfg.teacher.env, seeds[0] + 20_000, states))
    return out


# ---------------------------------------------------------------------------------------------
# Numbers the book's pages quote
# ---------------------------------------------------------------------------------------------


def glue_values(results: dict[str, pd.DataFrame], cfg: OD3Config) -> dict[str, float]:
    """The numbers that the chapter's pages glue (``od3__<quantity>``), from :func:`run`'s tables."""
    nets = results["networks"].set_index(["layout", "network"]).parameters
    layout = layout_for(cfg.teacher.env)
    runs, evals = results["table3_runs"], results["final_eval"]
    table3 = table3_summary(runs)
    sweep = sweep_summary(results["sweeps"])
    bs_lo, bs_hi = ("batch", min(cfg.batch_sizes)), ("batch", max(cfg.batch_sizes))
    lf_lo, lf_hi = ("update", min(cfg.update_freqs)), ("update", max(cfg.update_freqs))
    sharp = results["sharpening"].set_index("tau")
    values = {
        "nature_large": nets["atari", "largenet"],
        "nature_small": nets["atari", "smallnet"],
        "paperlayout_large": nets[PAPER_LAYOUT, "largenet"],
        "paperlayout_small": nets[PAPER_LAYOUT, "smallnet"],
        "teacher_params": nets[layout, "largenet"],
        "student_params": nets[layout, "smallnet"],
        "size_pct": 100 * nets[layout, "smallnet"] / nets[layout, "largenet"],
        "converge_fraction": cfg.converge_fraction,
        "threshold": runs.threshold.iloc[0],
        "teacher_eval": runs.teacher_eval.iloc[0],
        "n_seeds": runs.seed.nunique(),
        "od3_time_pct": table3.loc["EDGE-OD3", "time % of CLOUD"],
        "bs_small": min(cfg.batch_sizes),
        "bs_wall_pct": 100 * sweep.loc[bs_lo, "wall_s"] / sweep.loc[bs_hi, "wall_s"],
        "bs_small_runmean": sweep.loc[bs_lo, "run_mean"],
        "bs_large_runmean": sweep.loc[bs_hi, "run_mean"],
        "lf_large": max(cfg.update_freqs),
        "lf_small_reward": sweep.loc[lf_lo, "final_reward"],
        "lf_large_reward": sweep.loc[lf_hi, "final_reward"],
        "lf_small_runmean": sweep.loc[lf_lo, "run_mean"],
        "lf_large_runmean": sweep.loc[lf_hi, "run_mean"],
        "lf_wall_pct": 100 * sweep.loc[lf_hi, "wall_s"] / sweep.loc[lf_lo, "wall_s"],
        "greedy_tau1": sharp.loc[1.0, "greedy_prob"],
        "greedy_tau001": sharp.loc[0.01, "greedy_prob"],
        "median_gap": sharp.median_gap.iloc[0],
    }
    for method, key in (("CLOUD", "cloud"), ("EDGE", "edge"), ("EDGE-OD3", "od3")):
        values[f"{key}_eval"] = evals[evals.method == method].eval_return.mean()
        values[f"{key}_steps"] = table3.loc[method, "steps"]
        values[f"{key}_converged"] = table3.loc[method, "converged"]
    if "ablation" in results:
        by_actor = results["ablation"].groupby("actor").eval_return.mean()
        values |= {"ablation_teacher": by_actor["teacher"], "ablation_student": by_actor["student"]}
    ints = {
        "nature_large",
        "nature_small",
        "paperlayout_large",
        "paperlayout_small",
        "teacher_params",
        "student_params",
        "n_seeds",
        "bs_small",
        "lf_large",
    } | {f"{k}_converged" for k in ("cloud", "edge", "od3")}
    return {f"od3__{k}": int(v) if k in ints else float(v) for k, v in values.items()}
