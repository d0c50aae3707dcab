"""The ATS/PTS chapter's figures, from the tables of :func:`edgelearn.ats.experiments.run`.

Each function returns a matplotlib figure drawn with the book's theme and colours
(:mod:`edgelearn.core.plotting`); the notebook glues them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from edgelearn.ats.ats import SCENARIOS, SCHEDULERS
from edgelearn.core import plotting
from edgelearn.core.stats import mean_ci


def reward_curves(episodes: pd.DataFrame) -> Figure:
    """Reward per slot over the episodes, mean over seeds with 95% bands; one panel per scenario."""
    main = episodes[episodes.sweep == "main"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, scenario in zip(axes, SCENARIOS):
        part = main[main.scenario == scenario]
        for s in SCHEDULERS:
            plotting.line_with_band(ax, part[part.scheduler == s], "episode", "reward_per_slot", s)
        load = part.groupby("episode").load.first()
        title = (
            f"stationary, rho = {load.iloc[0]:.1f}"
            if scenario == "stationary"
            else f"dynamic, rho {load.iloc[0]:.1f} -> {load.iloc[-1]:.1f}"
        )
        ax.set(title=title, xlabel="episode", ylabel="reward per slot (training slots' cost included)")
    axes[0].legend(ncols=2)
    fig.tight_layout()
    return fig


def training_curves(episodes: pd.DataFrame) -> Figure:
    """Share of each episode's slots given to training jobs (Fixed, PTS, ATS); one panel per scenario."""
    main = episodes[(episodes.sweep == "main") & episodes.scheduler.isin(["Fixed", "PTS", "ATS"])]
    main = main.assign(share=main.training_slots / main.slots)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, scenario in zip(axes, SCENARIOS):
        part = main[main.scenario == scenario]
        for s in ("Fixed", "PTS", "ATS"):
            plotting.line_with_band(ax, part[part.scheduler == s], "episode", "share", s)
        ax.set(title=scenario, xlabel="episode", ylabel="share of slots spent training")
    axes[0].legend()
    fig.tight_layout()
    return fig


def psi_histogram(hist: pd.DataFrame, percentile: float) -> Figure:
    """Distribution of psi over the slots after ATS's fallback ended (log scale), the slots ATS
    trained in, and the pooled ``percentile``-th percentile, from the ``psi_hist`` table
    (:func:`edgelearn.ats.experiments.psi_histogram_table`: values beyond the 0.5th and 99.9th
    percentiles are counted in the end bins)."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    if hist.slots.sum() > 0:
        edges = np.append(hist.left.to_numpy(), hist.right.iloc[-1])
        ax.hist(hist.left, bins=edges, weights=hist.slots, color=plotting.color("ATS"), alpha=0.7, label="all slots")
        ax.hist(hist.left, bins=edges, weights=hist.trained, color="black", label="slots ATS trained in")
        threshold = float(hist.threshold.iloc[0])
        ax.axvline(threshold, color="black", ls="--", lw=1, label=f"pooled {percentile:g}th percentile")
        ax.set_yscale("log")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "ATS never left its PTS fallback at this scale", ha="center", transform=ax.transAxes)
    ax.set(xlabel=r"$\psi(s) = V(s^+) - V(s)$", ylabel="slots")
    fig.tight_layout()
    return fig


def sensitivity(table: pd.DataFrame, ideal: float) -> Figure:
    """Last-quarter reward against PTS's period and ATS's percentile (95% intervals over the sweep
    seeds), annotated with the share of slots spent training; Ideal's reward as a dashed line."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, sweep, label in (
        (axes[0], "period", r"PTS period $T_\ell$ (slots)"),
        (axes[1], "percentile", "ATS percentile"),
    ):
        part = table[table.sweep == sweep]
        s = mean_ci(part, "value", "reward")
        scheduler = part.scheduler.iloc[0]
        ticks = s.value.map(lambda v: f"{v:g}")
        ax.errorbar(
            ticks,
            s["mean"],
            yerr=[s["mean"] - s.lo, s.hi - s["mean"]],
            marker="o",
            color=plotting.color(scheduler),
            capsize=3,
            label=scheduler,
        )
        for tick, r in zip(ticks, s.itertuples()):
            share = part[part.value == r.value].training_share.mean()
            ax.annotate(
                f"{share:.1%} training", (tick, r.mean), textcoords="offset points", xytext=(4, -12), fontsize=8
            )
        ax.axhline(ideal, color=plotting.color("Ideal"), ls="--", lw=1, label="Ideal")
        ax.set(xlabel=label, ylabel="reward per slot, last quarter")
        ax.legend()
    fig.tight_layout()
    return fig


def final_by_scale(finals: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The end-of-training comparison (last quarter of the episodes) of several scales side by
    side: per scenario and scheduler, the reward per slot with its 95% interval over seeds and the
    share of slots spent training, one pair of columns per scale (``finals``: scale -> the
    ``final`` table of :func:`edgelearn.ats.experiments.run`)."""
    parts = []
    for scale, final in finals.items():
        f = final.set_index(["scenario", "scheduler"])
        reward = [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in zip(f["mean"], f["lo"], f["hi"])]
        share = [f"{x:.1%}" for x in f["training share"]]
        parts.append(
            pd.DataFrame({f"reward per slot, {scale}": reward, f"slots trained, {scale}": share}, index=f.index)
        )
    return pd.concat(parts, axis=1).reset_index()


def reward_over_run(episodes: pd.DataFrame, parts: int = 10) -> pd.DataFrame:
    """Does a scheduler keep what it has learnt? Per scenario and scheduler (main runs), the reward
    per slot (mean over seeds) in the best and in the last of ``parts`` equal parts of the episodes,
    the drop between them, and the gradient updates of a run (mean over seeds; Ideal's cost no slot)."""
    main = episodes[episodes.sweep == "main"]
    part = (main.episode * parts // (main.episode.max() + 1)).clip(upper=parts - 1)
    means = main.assign(part=part).groupby(["scenario", "scheduler", "part"]).reward_per_slot.mean().unstack("part")
    updates = main.groupby(["scenario", "scheduler", "seed"]).updates.max().groupby(["scenario", "scheduler"]).mean()
    out = pd.DataFrame({"best part": means.max(axis=1), "last part": means.iloc[:, -1], "updates": updates})
    out["drop"] = out["best part"] - out["last part"]
    order = [(sc, s) for sc in SCENARIOS for s in SCHEDULERS if (sc, s) in out.index]
    return out.loc[order, ["best part", "last part", "drop", "updates"]]
