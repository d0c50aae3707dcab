"""Convergence of OD3's runs: when a run first reaches a reward, and the paper's Table 3."""

from __future__ import annotations

import math

import pandas as pd


def first_reach(curve: pd.DataFrame, threshold: float) -> tuple[float, float, float]:
    """``(step, wall_s, cpu_s)`` of the first checkpoint whose average reward reaches ``threshold``
    (NaN each when it never does)."""
    hit = curve[curve.reward >= threshold]
    if hit.empty:
        return math.nan, math.nan, math.nan
    row = hit.iloc[0]
    return float(row.step), float(row.wall_s), float(row.cpu_s)


def convergence_table(curves: pd.DataFrame, threshold: float, params: dict[str, int]) -> pd.DataFrame:
    """Table 3: per method and seed, parameters, size in % of CLOUD, the first timestep, wall and CPU
    time at which the average training reward reaches ``threshold`` (NaN if never), and the run's
    totals (steps, wall and CPU time), its final average reward and its run mean (the average reward
    averaged over its checkpoints)."""
    rows = []
    for (method, seed), curve in curves.groupby(["method", "seed"]):
        curve = curve.sort_values("step")
        step, wall, cpu = first_reach(curve, threshold)
        rows.append(
            {
                "method": method,
                "seed": seed,
                "parameters": params[method],
                "size_pct": 100 * params[method] / params["CLOUD"],
                "steps_to_converge": step,
                "wall_s_to_converge": wall,
                "cpu_s_to_converge": cpu,
                "converged": not math.isnan(step),
                "final_reward": float(curve.reward.iloc[-1]),
                "run_mean": float(curve.reward.mean()),
                "total_steps": float(curve.step.iloc[-1]),
                "total_wall_s": float(curve.wall_s.iloc[-1]),
                "total_cpu_s": float(curve.cpu_s.iloc[-1]),
            }
        )
    return pd.DataFrame(rows)
