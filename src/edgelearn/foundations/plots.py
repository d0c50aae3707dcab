"""The foundations chapter's figures, drawn from the tables of :mod:`edgelearn.foundations.experiments`.

Colours follow the book's palette (Okabe-Ito); the methods of this chapter are not among
:data:`edgelearn.core.plotting.METHOD_COLORS`, so they are fixed here.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from edgelearn.core import plotting

COLORS = {
    "Q-learning": "#D55E00",
    "Double Q-learning": "#009E73",
    "DQN": "#D55E00",
    "Double DQN": "#009E73",
    "DDPG": "#0072B2",
    "none": "#D55E00",
    "value": "#009E73",
    "bound": plotting.color("bound"),
}
BASELINE_LABELS = {"none": "no baseline", "value": r"baseline $b(s) = V^\pi(s)$"}


def _done(fig: Figure) -> Figure:
    fig.tight_layout()
    plt.close(fig)  # shown once, where the notebook glues it
    return fig


def value_iteration_figure(table: pd.DataFrame) -> Figure:
    r""":math:`\|V_k - V^*\|_\infty` against :math:`k` on a log axis, with the bound
    :math:`\gamma^k\|V_0 - V^*\|_\infty` (thm-rl-contraction)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    gamma = float(table.gamma.iloc[0])
    ax.semilogy(table.iteration, table.error, marker="o", ms=3, color="#0072B2", label=r"$\|V_k - V^*\|_\infty$")
    ax.semilogy(table.iteration, table.bound, ls="--", color=COLORS["bound"],
                label=rf"$\gamma^k \|V_0 - V^*\|_\infty$, $\gamma = {gamma:g}$")  # fmt: skip
    ax.set(xlabel="iteration k", ylabel="sup-norm error of $V_k$")
    ax.legend()
    return _done(fig)


def max_bias_figure(table: pd.DataFrame, epsilon: float = 0.1) -> Figure:
    """Share of runs taking *left* in state A per episode, with the share of an epsilon-greedy learner that knows
    the true values (epsilon / 2)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for method, d in table.groupby("method", sort=False):
        ax.plot(d.episode, 100 * d.left_share, color=COLORS[method], label=method)
    ax.axhline(100 * epsilon / 2, ls="--", color=COLORS["bound"], label="optimal (ε-greedy)")
    ax.set(xlabel="episode", ylabel="runs taking left in A (%)", ylim=(0, 100))
    ax.legend()
    return _done(fig)


def pg_figure(variance: pd.DataFrame, learning: pd.DataFrame) -> Figure:
    """Left: the seed-level estimates of one gradient component with and without the baseline, and the exact
    value. Right: J along gradient ascent, mean over seeds with a 95 % band."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    ax = axes[0]
    for label, d in variance.groupby("baseline", sort=False):
        ax.hist(d.grad_right_0, bins=30, alpha=0.55, color=COLORS[label], label=BASELINE_LABELS[label])
    ax.axvline(float(variance.exact_right_0.iloc[0]), color="black", ls="--", label="exact gradient")
    ax.set(xlabel=r"estimate of $\partial J / \partial\theta_{0,\mathrm{right}}$", ylabel="seeds")
    ax.legend(fontsize="small")
    ax = axes[1]
    for label, d in learning.groupby("baseline", sort=False):
        # "bound" only names a known method: core.plotting.color is evaluated before the colour given here
        plotting.line_with_band(ax, d, "iteration", "J", "bound", label=BASELINE_LABELS[label], color=COLORS[label])
    ax.set(xlabel="gradient step k", ylabel=r"$J(\theta_k)$ (discounted return)")
    ax.legend(fontsize="small")
    return _done(fig)


def returns_figure(dqn: pd.DataFrame, ddpg: pd.DataFrame, window: int = 10) -> Figure:
    """Episode returns against environment steps (moving average over ``window`` episodes): DQN and Double DQN on
    CartPole-v1 (left), DDPG on Pendulum-v1 (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, table, title in ((axes[0], dqn, "CartPole-v1"), (axes[1], ddpg, "Pendulum-v1")):
        for (method, seed), d in table.groupby(["method", "seed"], sort=False):
            smooth = d["return"].rolling(window, min_periods=1).mean()
            first = seed == table.seed.min()
            ax.plot(d.step, smooth, color=COLORS[method], alpha=0.9 if first else 0.4, label=method if first else None)
        ax.set(title=title, xlabel="environment steps", ylabel=f"episode return (mean of last {window})")
        ax.legend()
    return _done(fig)
