"""The slicing chapter's figures, each drawn from the tidy tables of :mod:`edgelearn.slicing.experiments`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from edgelearn.core import plotting
from edgelearn.core.stats import mean_ci
from edgelearn.exp3 import optimal_eta
from edgelearn.slicing.accuracy_model import residuals
from edgelearn.slicing.experiments import SCENARIOS, STEP_COLUMNS, middle, models_from_fit
from edgelearn.slicing.ols import OLS_VARIANTS


def _errorbar(ax, data: pd.DataFrame, x: str, fmt: str, **kwargs) -> None:
    ax.errorbar(
        data[x], data["mean"], yerr=[data["mean"] - data.lo, data.hi - data["mean"]], fmt=fmt, capsize=3, **kwargs
    )


def accuracy_figure(training: pd.DataFrame, fit_table: pd.DataFrame) -> Figure:
    """Measured accuracy against epochs per data fraction with the fitted model (left), residuals (right)."""
    services = list(fit_table.service)
    fig, axes = plt.subplots(
        len(services), 2, figsize=(10, 3.5 * len(services)), gridspec_kw={"width_ratios": [1.4, 1]}
    )
    axes = np.atleast_2d(axes)
    fractions = sorted(training.fraction.unique())
    palette = plt.cm.viridis(np.linspace(0.1, 0.9, len(fractions)))
    for row, (service, model) in enumerate(zip(services, models_from_fit(fit_table))):
        data = training[training.service == service]
        ax, e_grid = axes[row, 0], np.linspace(1, data.epoch.max(), 50)
        for colour, (fraction, group) in zip(
            palette, mean_ci(data, ["fraction", "epoch"], "accuracy").groupby("fraction")
        ):
            _errorbar(ax, group, "epoch", "o", color=colour, ms=4, label=f"d = {fraction:g}")
            ax.plot(e_grid, model(e_grid, fraction), color=colour, lw=1)
        r2 = fit_table.set_index("service").r2[service]
        ax.set(
            xlabel="epochs e", ylabel="test accuracy", title=f"{service} ({data.dataset.iloc[0]}): fit R² = {r2:.3f}"
        )
        ax.legend(fontsize="x-small", ncol=2)
        res = residuals(model, data).pivot(index="fraction", columns="epoch", values="residual")
        im = axes[row, 1].imshow(res.values, cmap="RdBu", vmin=-0.05, vmax=0.05, aspect="auto", origin="lower")
        axes[row, 1].set(
            xticks=range(res.shape[1]),
            xticklabels=res.columns,
            yticks=range(res.shape[0]),
            yticklabels=res.index,
            xlabel="epochs e",
            ylabel="data fraction d",
            title="residual (measured − fit)",
        )
        fig.colorbar(im, ax=axes[row, 1])
    fig.tight_layout()
    return fig


def sizes_figure(size_table: pd.DataFrame, slot_times: pd.DataFrame) -> Figure:
    """Decision-space sizes against grid levels (left); time per slot against size (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    markers = {1: "o", 2: "s", 3: "^", 4: "D"}
    for method in OLS_VARIANTS:
        for n_services, group in size_table.groupby("services"):
            axes[0].plot(
                group.levels,
                group[f"|{method}|"],
                marker=markers.get(int(n_services), "o"),
                color=plotting.color(method),
                label=method if n_services == size_table.services.min() else None,
                ls="-" if n_services == 2 else ":",
            )
    axes[0].set(
        yscale="log",
        xlabel="levels per decision variable",
        ylabel="decision-space size",
        title="sizes (marker: number of services M)",
    )
    axes[0].legend()
    for method, group in slot_times.groupby("method"):
        axes[1].scatter(
            group["size"], 1e6 * group.seconds_per_slot, color=plotting.color(method), label=f"{method} (ours)", s=18
        )
        if "dense_seconds_per_slot" in group:
            axes[1].scatter(
                group["size"],
                1e6 * group.dense_seconds_per_slot,
                color=plotting.color(method),
                marker="^",
                s=18,
                label=f"{method} (O(K))",
            )
    built = size_table.dropna(subset=["build_s"])
    axes[1].scatter(built["|OLS|"], 1e3 * built.build_s, marker="x", color="0.3", label="pre-learning (ms, all steps)")
    axes[1].set(
        xscale="log",
        yscale="log",
        xlabel="decision-space size K",
        ylabel="µs per slot (EXP3, 1 run)",
        title="time against size",
    )
    axes[1].legend(fontsize="x-small", ncol=2)
    fig.tight_layout()
    return fig


def steps_figure(size_table: pd.DataFrame) -> Figure:
    """Time of each pre-learning step against |F|."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    built = size_table.dropna(subset=["build_s"])
    for column in STEP_COLUMNS.values():
        ax.scatter(built["|OLS|"], built[column], label=column.replace(" (s)", ""), s=18)
    ax.set(xscale="log", yscale="log", xlabel="|F| (feasible decisions)", ylabel="seconds", title="pre-learning steps")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def regret_figure(curves: pd.DataFrame) -> Figure:
    """Regret against the slot per scenario, with the bounds of OLS-SA and OLS-RSA (dashed)."""
    T = int(curves.t.max())
    sizes = curves.groupby("method")["size"].first()
    fig, axes = plt.subplots(1, len(SCENARIOS), figsize=(13, 3.8), sharey=True)
    for ax, name in zip(axes, SCENARIOS):
        for method in (*OLS_VARIANTS, "fixed", "uniform"):
            data = curves.query("scenario == @name and method == @method")
            if not data.empty:
                plotting.line_with_band(ax, data, "t", "regret", method, ls=":" if method == "uniform" else "-")
        t = np.linspace(1, T, 100)
        for method in ("OLS-SA", "OLS-RSA"):
            k = int(sizes[method])
            eta = float(optimal_eta(T, max(k, 2)))
            ax.plot(t, np.log(max(k, 2)) / eta + eta * k * t / 2, ls="--", color=plotting.color(method), lw=1)
        ax.set(title=name, xlabel="slot t", yscale="log", ylim=(1, None))
    axes[0].set_ylabel("regret against the best super action")
    axes[0].legend(title="dashed: bounds", fontsize="small")
    fig.tight_layout()
    return fig


def popt_figure(curves: pd.DataFrame) -> Figure:
    """Each learner's probability of the optimal super action against the slot."""
    fig, axes = plt.subplots(1, len(SCENARIOS), figsize=(13, 3.6), sharey=True)
    for ax, name in zip(axes, SCENARIOS):
        for method in OLS_VARIANTS:
            data = curves.query("scenario == @name and method == @method")
            if data.p_tracked.notna().any():
                plotting.line_with_band(ax, data, "t", "p_tracked", method)
        ax.set(title=name, xlabel="slot t", ylim=(0, 1))
    axes[0].set_ylabel("probability of the optimal super action")
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def priors_figure(summary: pd.DataFrame, horizon: int) -> Figure:
    """Regret at T: SBS against K' (left), SBS and GBS against the offset (middle), GBS against sigma (right).

    ``summary`` is :func:`edgelearn.slicing.experiments.prior_summary` (-1 marks 'not set')."""
    uniform = summary.query("method == 'uniform'")["mean"].iloc[0]
    sizes = sorted(s for s in summary.subset_size.unique() if s > 0)
    sigmas = sorted(s for s in summary.sigma.unique() if s > 0)
    counts = summary.query("method == 'SBS'").groupby("subset_size").offset.nunique()
    mid_size = float(counts.idxmax()) if len(counts) else middle(sizes)
    mid_sigma = float(
        middle(
            list(
                summary.query("method == 'GBS'").groupby("sigma").offset.nunique().pipe(lambda c: c[c == c.max()].index)
            )
        )
    )
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    sbs_size = summary.query("method == 'SBS' and offset == 0 and subset_size > 0").sort_values("subset_size")
    _errorbar(ax, sbs_size, "subset_size", "-o", color=plotting.color("SBS"), label="SBS (μ at the optimum)")
    k = np.array([s for s in sbs_size.subset_size if s > 1], float)
    ax.plot(
        k,
        np.sqrt(2 * horizon * k * np.log(k)),
        ls="--",
        color=plotting.color("bound"),
        label=r"bound $\sqrt{2TK'\ln K'}$",
    )
    ax.set(xscale="log", yscale="symlog", xlabel="subset size K'", ylabel="regret at T", title="SBS: subset size")
    ax.set_ylim(bottom=0)
    ax = axes[1]
    for method, fmt, label in (("SBS", "-o", f"SBS (K' = {mid_size:g})"), ("GBS", "-s", f"GBS (σ = {mid_sigma:g})")):
        data = summary.query("method == @method and (subset_size == @mid_size or sigma == @mid_sigma)").sort_values(
            "offset"
        )
        _errorbar(ax, data, "offset", fmt, color=plotting.color(method), label=label)
    ax.set(xlabel="offset of μ from the optimum", ylabel="regret at T", title="a misplaced prior")
    ax = axes[2]
    for offset, fmt in zip(sorted(summary.query("method == 'GBS'").offset.unique())[:3], ("-s", "--s", ":s")):
        data = summary.query("method == 'GBS' and offset == @offset").sort_values("sigma")
        if len(data) > 1:
            _errorbar(ax, data, "sigma", fmt, color=plotting.color("GBS"), label=f"GBS, offset {offset:g}")
    ax.set(xscale="log", xlabel="σ", ylabel="regret at T", title="GBS: spread")
    ax.set_xticks(sigmas, [f"{s:g}" for s in sigmas])
    ax.minorticks_off()
    for ax in axes:
        ax.axhline(uniform, color=plotting.color("uniform"), ls=":", label="uniform prior")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
