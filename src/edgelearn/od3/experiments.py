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
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Sequence

import gymnasium as gym
import pandas as pd
import torch

from edgelearn.core.costs import count_flops, count_params
from edgelearn.core.results import Recorder
from edgelearn.core.seeding import numpy_generator
from edgelearn.od3.analysis import convergence_table
from edgelearn.od3.envs import make_env
from edgelearn.od3.nets import LARGENET, SMALLNET, PolicyNetGenerator, QNet, build_net, layout_for, paper_count
from edgelearn.od3.od3 import METHODS, SCALES, OD3Config, RunResult, cached_teacher, train

PAPER_LAYOUT = "paper (80x80, same padding, x2)"
PONG_CONVERGENCE_REWARD = 6.2
"""The paper's convergence point on Pong (section V-B1: "6.2 reward points")."""
SHARPENING_STATES = 2_000
"""At most this many visited states in the ``sharpening`` table (an evaluation episode's length at most)."""
TAUS = (1.0, 0.1, 0.01)
"""Temperatures of the ``sharpening`` table: the softmax at 1 and the paper's 0.01."""


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


def _evals(method: str, seed: int, run: RunResult) -> list[dict]:
    return [{"method": method, "seed": seed, "eval_return": float(r)} for r in run.eval_returns]


def case1(cfg: OD3Config, seeds: Sequence[int]) -> tuple[pd.DataFrame, pd.DataFrame, QNet, list[bool]]:
    """CLOUD (cached teachers), EDGE and EDGE-OD3 for each seed.

    Returns the curves (one row per run x checkpoint, column ``method``), the final evaluation returns
    (one row per episode), the teacher of ``seeds[0]`` that taught every EDGE-OD3 run, and per seed
    whether its teacher came from the cache.
    """
    teachers, hits = {}, []
    for s in seeds:
        teachers[s], hit = cached_teacher(cfg.teacher, s)
        hits.append(hit)
    teacher = teachers[seeds[0]].net
    curves = [run.curve.assign(method="CLOUD") for run in teachers.values()]
    evals = [row for s, run in teachers.items() for row in _evals("CLOUD", s, run)]
    for s in seeds:
        for method, kwargs in (("EDGE", {}), ("EDGE-OD3", {"teacher": teacher})):
            run = train(build_net(cfg.student.env, "smallnet", s), cfg.student, s, label=method, **kwargs)
            curves.append(run.curve.assign(method=method))
            evals += _evals(method, s, run)
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


def case2(cfg: OD3Config, seeds: Sequence[int], teacher: QNet) -> pd.DataFrame:
    """EDGE-OD3 with each mini-batch size (update every 4 steps) and each update frequency
    (mini-batch 32) for ``cfg.sweep_steps`` steps; BS32 and LF4 are one configuration, run once.

    One row per run x checkpoint, with ``sweep`` ("batch" or "update"), ``value``, ``method``
    (e.g. "EDGE-OD3-BS8") and the run's mean ``final_eval`` return.
    """
    runs = [
        ("batch", bs, dataclasses.replace(cfg.student, steps=cfg.sweep_steps, batch_size=bs)) for bs in cfg.batch_sizes
    ]
    runs += [
        ("update", lf, dataclasses.replace(cfg.student, steps=cfg.sweep_steps, update_every=lf))
        for lf in cfg.update_freqs
    ]
    out, done = [], {}
    for kind, value, run_cfg in runs:
        for s in seeds:
            if (run_cfg, s) not in done:
                run = train(build_net(run_cfg.env, "smallnet", s), run_cfg, s, teacher=teacher)
                done[(run_cfg, s)] = run.curve.assign(final_eval=float(run.eval_returns.mean()))
            label = f"EDGE-OD3-{'BS' if kind == 'batch' else 'LF'}{value}"
            out.append(done[(run_cfg, s)].assign(sweep=kind, value=value, method=label))
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


def ablation(cfg: OD3Config, seeds: Sequence[int], teacher: QNet, final_eval: pd.DataFrame) -> pd.DataFrame:
    """EDGE-OD3 whose states are gathered by the teacher's ε-greedy actions (ε = 0.05), against the
    Case-1 runs where the student acts: evaluation returns per ``actor`` and seed."""
    rows = []
    for s in seeds:
        run = train(build_net(cfg.student.env, "smallnet", s), cfg.student, s, teacher=teacher, actor="teacher")
        rows += [{"actor": "teacher", "seed": s, "eval_return": float(r)} for r in run.eval_returns]
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
    scale: str, seed: int = 0, rec: Recorder | None = None, config: OD3Config | None = None
) -> dict[str, pd.DataFrame]:
    """Run every experiment of the chapter at ``scale`` (or ``config``) and save its tables with ``rec``
    (default: :func:`recorder`); return them by name, as read back from disk.

    Seeds are ``seed`` plus the configuration's ``seeds`` and ``sweep_seeds``.
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
    curves, final_eval, teacher, hits = case1(cfg, seeds)
    save("curves", curves, teacher_cache_hits=hits)
    save("final_eval", final_eval)
    runs = table3_runs(out["curves"], out["final_eval"], cfg, seeds)
    save("table3_runs", runs, threshold=float(runs.threshold.iloc[0]))
    save("sweeps", case2(cfg, sweep_seeds, teacher))
    if cfg.ablation:
        save("ablation", ablation(cfg, seeds, teacher, out["final_eval"]))
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
