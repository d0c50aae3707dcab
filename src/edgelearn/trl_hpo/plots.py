"""The TRL-HPO chapter's figures, drawn from the tables :func:`edgelearn.trl_hpo.experiments.run` saves.

* :func:`plot_pairs` — Fig. 2: negative-reward layer pairs, TRL-HPO and random search;
* :func:`plot_attention` — Fig. 3: attention differences, true softmax weights and the authors' quantity;
* :func:`plot_anytime` — best accuracy so far against wall time, per policy, mean and 95 % band over seeds.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from edgelearn.core import plotting

from .experiments import POLICY_NAMES

PAPER_ATTENTION_MEAN = 0.22
"""The paper's mean attention difference (Section V-B)."""


def plot_pairs(pairs: pd.DataFrame) -> Figure:
    """Fig. 2: share of each (previous layer → layer) pair among the trained negative-reward layers."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    wide = pairs.pivot_table(index="pair", columns="policy", values="share", fill_value=0)
    wide = wide.loc[wide.max(axis=1).sort_values(ascending=False).index]
    wide.plot.bar(ax=ax, color=[plotting.color(c) for c in wide.columns], rot=30)
    ax.set(ylabel="share of negative-reward layers", xlabel="previous layer → layer with negative reward",
           title="negative-reward layer pairs (all seeds)")  # fmt: skip
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig


def plot_attention(att: pd.DataFrame) -> Figure:
    """Fig. 3: histograms of attention(best-reward layer) − attention(negative-reward layer), for the
    true softmax weights and for the authors' quantity, with their means and the paper's 0.22."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    panels = (("diff_attention", "softmax attention weights (ours)"),
              ("diff_authors", "authors' quantity (softmax of attention output)"))  # fmt: skip
    for ax, (col, title) in zip(axes, panels):
        if len(att):
            ax.hist(att[col], bins=20, color=plotting.color("TRL-HPO"), alpha=0.8)
            ax.axvline(att[col].mean(), color="k", ls="--", label=f"mean {att[col].mean():.3f}")
        ax.axvline(PAPER_ATTENTION_MEAN, color=plotting.color("MetaQNN"), ls=":", label="paper's mean 0.22")
        ax.set(xlabel="attention(best layer) − attention(negative layer)", ylabel="count", title=title)
        ax.legend(fontsize="small")
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig


def plot_anytime(anytime: pd.DataFrame) -> Figure:
    """Best validation accuracy so far against the search's wall time, mean and 95 % band over seeds."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for policy, name in POLICY_NAMES.items():
        plotting.line_with_band(ax, anytime[anytime.policy == policy], "wall_s", "best", name)
    ax.set(xlabel="wall time of the search (s)", ylabel="best validation accuracy so far",
           title=f"{anytime.seed.nunique()} seed(s), mean and 95 % band")  # fmt: skip
    ax.legend()
    fig.tight_layout()
    plt.close(fig)  # not shown as a cell output: the page shows it once, where it glues it
    return fig
