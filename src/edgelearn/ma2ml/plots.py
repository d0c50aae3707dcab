r"""The MA2ML chapter's figures and summary tables, from the tables of :func:`edgelearn.ma2ml.experiments.run`.

Colours are the book's (:func:`edgelearn.core.plotting.color`); bands are 95 % Student-t intervals
over the searches (:func:`edgelearn.core.plotting.line_with_band`).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from edgelearn.core import plotting
from edgelearn.core.stats import mean_ci
from edgelearn.ma2ml.experiments import FLOPS_METHODS, METHODS
from edgelearn.ma2ml.search import TabularBenchmark


def final_summary(
    curves: pd.DataFrame, columns: Sequence[str] = ("top_k_true", "policy_value", "regret", "distinct")
) -> pd.DataFrame:
    """Mean over searches, per method, of each column after the last batch."""
    final = curves[curves.batch == curves.batch.max()]
    return pd.concat({c: mean_ci(final, "method", c).set_index("method")["mean"] for c in columns}, axis=1)


def mean_table(table: pd.DataFrame, by: str, columns: Sequence[str], stats: Sequence[str] = ("mean",)) -> pd.DataFrame:
    """Mean (and, with ``stats``, the CI bounds ``lo``/``hi``) of each column per group ``by``."""
    return pd.concat({c: mean_ci(table, by, c).set_index(by)[list(stats)] for c in columns}, axis=1)


def plot_curves(curves: pd.DataFrame, mean_acc: np.ndarray, top_k: int) -> Figure:
    """Top-k true accuracy found, expected accuracy of the policy and regret, against the batches."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for method in METHODS:
        data = curves[curves.method == method].assign(batch=lambda d: d.batch + 1)
        for ax, col in zip(axes, ("top_k_true", "policy_value", "regret")):
            plotting.line_with_band(ax, data, "batch", col, method)
    axes[0].axhline(
        np.sort(mean_acc.ravel())[-top_k:].mean(), color="0.5", ls="--", lw=1, label=f"best {top_k} in the table"
    )
    axes[0].set(xlabel="batches", ylabel=f"true accuracy of the top-{top_k} found", title="pipelines found")
    axes[1].axhline(mean_acc.max(), color="0.5", ls="--", lw=1, label="best pipeline")
    axes[1].set(xlabel="batches", ylabel="expected accuracy of the policy π", title="where the policy is")
    axes[2].set(xlabel="batches", ylabel="optimum − best found (accuracy)", title="regret to the table's optimum")
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig


def plot_scatter(histories: pd.DataFrame, methods: Sequence[str] = ("MA2ML", "MA2ML-Lite")) -> Figure:
    """Rewards of every sampled pipeline per batch (jittered dots, pooled over searches) and batch means."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    jitter = np.random.default_rng(0)
    for offset, method in zip(np.linspace(-0.2, 0.2, len(methods)), methods):
        data = histories[histories.method == method]
        x = data.batch + 1 + offset + jitter.uniform(-0.08, 0.08, len(data))
        ax.scatter(x, data.reward, s=4, alpha=0.3, color=plotting.color(method), label=method)
        per_batch = data.groupby("batch").reward.mean()
        ax.plot(per_batch.index + 1, per_batch.values, color=plotting.color(method), lw=2)
    ax.set(
        xlabel="batch", ylabel="reward (validation accuracy)", title="rewards of the sampled pipelines, all searches"
    )
    ax.legend(markerscale=4)
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig


def plot_lambda(sweep: pd.DataFrame) -> Figure:
    """Final expected accuracy of π and the share of non-decreasing batches against λ (mean, 95 % CI)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    lambdas = sorted(sweep.lam.unique())
    x = np.arange(len(lambdas))
    for ax, col, label in (
        (axes[0], "policy_value", "expected accuracy of the final π"),
        (axes[1], "non_decreasing", "share of batches where it did not fall"),
    ):
        s = mean_ci(sweep, "lam", col).set_index("lam").loc[lambdas]
        yerr = [s["mean"] - s["lo"], s["hi"] - s["mean"]]
        ax.errorbar(x, s["mean"], yerr=yerr, marker="o", capsize=3, color=plotting.color("MA2ML"))
        ax.set(xticks=x, xticklabels=[f"{v:g}" for v in lambdas], xlabel="λ", ylabel=label)
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig


def monotone_steps(curves: pd.DataFrame) -> pd.DataFrame:
    """Batch-to-batch change (``step``) of the expected accuracy of each search's sampling policy π."""
    steps = curves.sort_values(["method", "run", "batch"]).copy()
    steps["step"] = steps.groupby(["method", "run"]).policy_value.diff()
    return steps.dropna(subset=["step"])


def plot_monotone(curves: pd.DataFrame, exact: pd.DataFrame | None = None) -> Figure:
    """Left: batch-to-batch change of E_π[accuracy] per learning searcher. Right (with ``exact``):
    the theorem's setting, exact Gibbs steps on the table, per λ and update order."""
    steps = monotone_steps(curves)
    fig, axes = plt.subplots(
        1, 2 if exact is not None else 1, figsize=(13 if exact is not None else 7, 3.8), squeeze=False
    )
    ax = axes[0, 0]
    for method in ("MA2ML", "MA2ML on-policy", "MA2ML-Lite", "single agent"):
        data = steps[steps.method == method]
        plotting.line_with_band(ax, data.assign(batch=data.batch + 1), "batch", "step", method)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set(xlabel="batch", ylabel="change of E_π[accuracy]", title="searches: batch-to-batch change of π's value")
    ax.legend(fontsize="small")
    if exact is not None:
        ax = axes[0, 1]
        shades = plt.cm.Blues(np.linspace(0.45, 0.95, exact.lam.nunique()))
        for shade, (lam, group) in zip(shades, exact.groupby("lam")):
            for mode, style in (("sequential", "-"), ("simultaneous", ":")):
                g = group[group["mode"] == mode]
                ax.plot(g.iteration, g.value, style, color=shade, label=f"λ = {lam:g}, {mode}")
        ax.set(xlabel="iteration", ylabel="E_π[accuracy]", title="exact critic, exact Gibbs steps, τ = 1")
        ax.legend(fontsize="x-small", ncol=2)
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig


def plot_flops(bench: TabularBenchmark, flops: pd.DataFrame, n_batches: int) -> Figure:
    """Left: accuracy against FLOPs of every pipeline, with the constraint. Right: share of each
    searcher's top-k within the constraint (mean, 95 % CI)."""
    constraint = float(flops.constraint.iloc[0])
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axes[0].scatter(
        bench.flops.ravel(), bench.mean_accuracy().ravel(), s=8, color="0.6", label="all pipelines (seed mean)"
    )
    axes[0].axvline(constraint, color="k", ls="--", lw=1, label=r"constraint FLOPs$_{\max}$")
    axes[0].set(xscale="log", xlabel="FLOPs (forward, one image)", ylabel="validation accuracy", title="the trade-off")
    axes[0].legend(fontsize="small")
    order = [m for m in (*FLOPS_METHODS, "MA2ML (accuracy reward)") if m in set(flops.method)]
    s = mean_ci(flops, "method", "top_k_feasible").set_index("method").loc[order]
    colours = [plotting.color(m) if m in plotting.METHOD_COLORS else "#9ecae1" for m in order]
    axes[1].bar(range(len(order)), s["mean"], yerr=[s["mean"] - s.lo, s.hi - s["mean"]], capsize=3, color=colours)
    axes[1].set(xticks=range(len(order)), ylim=(0, 1.05), title=f"after {n_batches} batches")
    axes[1].set_xticklabels([m.replace(" (", "\n(") for m in order], fontsize="small")
    axes[1].set_ylabel(r"share of the top-k within FLOPs$_{\max}$")
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig
