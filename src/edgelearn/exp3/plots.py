"""The EXP3 chapter's figures, drawn from the tables of :mod:`edgelearn.exp3.experiments`.

Each function takes the tidy table(s) and returns a matplotlib figure in the book's theme
(:mod:`edgelearn.core.plotting`); the notebook glues them for the chapter's pages.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from edgelearn.core import plotting
from edgelearn.exp3.exp3 import regret_bound
from edgelearn.exp3.experiments import by_eta, by_horizon, by_prior

MARKERS = {"stochastic": "o", "adversarial": "s"}
STYLES = {"stochastic": "-", "adversarial": ":"}


def _errorbar(ax, x, summary: pd.DataFrame, scale: float | pd.Series = 1.0, **kwargs) -> None:
    """Means of a :func:`~edgelearn.core.stats.mean_ci` summary with their 95 % intervals as error bars."""
    mean = summary["mean"] / scale
    ax.errorbar(x, mean, yerr=[mean - summary.lo / scale, summary.hi / scale - mean], capsize=3, **kwargs)


def regret_curves_figure(curves: pd.DataFrame, doubling: pd.DataFrame | None = None) -> Figure:
    """Regret against the round for EXP3 and UCB1 on each sequence, with the bound at EXP3's eta (fig-exp3-regret);
    ``doubling`` (the ``regret_doubling`` table) adds EXP3 with the doubling trick to the stochastic panel."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    K, T, eta = int(curves.n_arms.iloc[0]), int(curves.horizon.iloc[0]), float(curves.eta.iloc[0])
    t_grid = np.linspace(1, T, 200)
    for ax, name in zip(axes, ("stochastic", "adversarial"), strict=True):
        for method in ("EXP3", "UCB1"):
            part = curves[(curves.sequence == name) & (curves.method == method)]
            plotting.line_with_band(ax, part, "t", "regret", method)
        if doubling is not None and name == "stochastic":
            plotting.line_with_band(ax, doubling, "t", "regret", "EXP3", label="EXP3, doubling trick", ls=":")
        ax.plot(t_grid, regret_bound(t_grid, K, eta), color=plotting.color("bound"), ls="--",
                label=r"bound $\ln K/\eta + \eta K t/2$")  # fmt: skip
        ax.set(title=f"{name} losses, K = {K}", xlabel="round t", ylabel="regret $R_t$ (losses)")
        if name == "adversarial":
            ax.set_yscale("symlog", linthresh=100)
    axes[0].legend(loc="upper left")
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig


def horizon_figure(table: pd.DataFrame) -> Figure:
    r"""Regret at the horizon against the horizon, and regret over the bound :math:`\sqrt{2TK\ln K}`
    (fig-exp3-horizon)."""
    summary = by_horizon(table)
    K, runs = int(summary.n_arms.iloc[0]), table["run"].nunique()
    fig, (ax, ax_ratio) = plt.subplots(1, 2, figsize=(10, 3.8))
    stoch = summary[summary.sequence == "stochastic"]
    _errorbar(ax, stoch.horizon, stoch, marker="o", color=plotting.color("EXP3"), label="EXP3, stochastic")
    h = np.geomspace(summary.horizon.min(), summary.horizon.max(), 50)
    ax.plot(h, np.sqrt(2 * h * K * np.log(K)), ls="--", color=plotting.color("bound"), label=r"bound $\sqrt{2TK\ln K}$")
    ax.set(xscale="log", yscale="log", xlabel="horizon T (rounds)", ylabel=r"regret $R_T$ at $\eta^*(T)$ (losses)",
           title=f"stochastic losses, K = {K}")  # fmt: skip
    ax.legend()
    for name, group in summary.groupby("sequence"):
        _errorbar(ax_ratio, group.horizon, group, scale=group.bound, marker=MARKERS[name], ls=STYLES[name],
                  color=plotting.color("EXP3"), label=f"EXP3, {name}")  # fmt: skip
    ax_ratio.axhline(1.0, ls="--", color=plotting.color("bound"), label="bound")
    ax_ratio.axhline(0.0, color="0.6", lw=0.8)
    ax_ratio.set(xscale="log", xlabel="horizon T (rounds)", ylabel=r"$R_T / \sqrt{2TK\ln K}$",
                 title=f"regret relative to the bound, {runs} runs per point")  # fmt: skip
    ax_ratio.legend()
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig


def eta_figure(table: pd.DataFrame) -> Figure:
    r"""Regret at a fixed horizon against :math:`\eta/\eta^*`, with the bound (fig-exp3-eta)."""
    summary = by_eta(table)
    K, T = int(summary.n_arms.iloc[0]), int(summary.horizon.iloc[0])
    eta_opt = float((summary.eta / summary.eta_factor).iloc[0])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    grid = np.geomspace(summary.eta_factor.min(), summary.eta_factor.max(), 100)
    for ax, (name, group) in zip(axes, summary.groupby("sequence", sort=False), strict=True):
        _errorbar(ax, group.eta_factor, group, marker=MARKERS[name], color=plotting.color("EXP3"), ls=STYLES[name],
                  label=f"EXP3, {name}")  # fmt: skip
        ax.plot(grid, regret_bound(T, K, grid * eta_opt), ls="--", color=plotting.color("bound"),
                label=r"bound $\ln K/\eta + \eta TK/2$")  # fmt: skip
        ax.axvline(1.0, color="0.6", lw=0.8)
        ax.set(xscale="log", yscale="log" if name == "stochastic" else "linear", xlabel=r"$\eta / \eta^*$",
               ylabel=f"regret at T = {T:,} (losses)", title=f"{name} losses, K = {K}")  # fmt: skip
        if name != "stochastic":
            ax.set_ylim(-0.1 * group.hi.max() - 1, 1.5 * group.hi.max() + 1)
            ax.axhline(0.0, color="0.6", lw=0.8)
        ax.legend(loc="upper center")
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig


def prior_figure(table: pd.DataFrame, gap: float) -> Figure:
    r"""Regret against the size :math:`K'` of a uniform prior's support, holding the best arm or not
    (fig-exp3-prior)."""
    summary = by_prior(table)
    K_p, T_p = int(table.n_arms.iloc[0]), int(table.horizon.iloc[0])
    hit, miss = summary[summary.holds_best.astype(bool)], summary[~summary.holds_best.astype(bool)]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    _errorbar(ax, hit.subset_size, hit, marker="o", color=plotting.color("SBS"), label="subset holds the best arm")
    _errorbar(ax, miss.subset_size, miss, marker="x", color=plotting.color("UCB1"), ls=":",
              label="subset misses the best arm")  # fmt: skip
    k = np.geomspace(2, K_p, 50)
    ax.plot(
        k, np.sqrt(2 * T_p * k * np.log(k)), ls="--", color=plotting.color("bound"), label=r"bound $\sqrt{2TK'\ln K'}$"
    )
    ax.axhline(gap * T_p, color="0.6", lw=0.8, ls="-.", label=r"$\Delta T$ (linear regret)")
    ax.set_ylim(bottom=0)
    ax.set(xscale="log", yscale="symlog", xlabel="subset size K'", ylabel=f"regret at T = {T_p:,} (losses)",
           title=f"K = {K_p} arms, uniform prior on K' of them")  # fmt: skip
    ax.legend(fontsize="small")
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig
