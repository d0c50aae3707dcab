"""One figure style for the whole book, and one colour per method across chapters."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from edgelearn.core.stats import mean_ci

# Fixed colours: a method keeps its colour in every chapter (Okabe-Ito / seaborn colorblind).
METHOD_COLORS: dict[str, str] = {
    # bandits and online learning
    "EXP3": "#0072B2",
    "UCB1": "#D55E00",
    "bound": "#444444",
    "OLS": "#0072B2",
    "OLS-SA": "#009E73",
    "OLS-RSA": "#CC79A7",
    "SBS": "#E69F00",
    "GBS": "#56B4E9",
    "uniform": "#0072B2",
    "optimal": "#000000",
    "fixed": "#999999",
    # architecture and hyper-parameter search
    "TRL-HPO": "#0072B2",
    "random search": "#999999",
    "MetaQNN": "#E69F00",
    "MA2ML": "#0072B2",
    "MA2ML on-policy": "#56B4E9",
    "MA2ML-Lite": "#009E73",
    "single agent": "#E69F00",
    # on-device DRL
    "CLOUD": "#0072B2",
    "EDGE": "#D55E00",
    "EDGE-OD3": "#009E73",
    # scheduling in mobile edge computing
    "SJF": "#999999",
    "Ideal": "#000000",
    "Fixed": "#E69F00",
    "PTS": "#56B4E9",
    "ATS": "#009E73",
}


def set_theme() -> None:
    """Apply the book's seaborn theme (call once at the top of every notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "figure.figsize": (6.4, 4.0),
            "axes.titlesize": "medium",
            "legend.frameon": False,
        }
    )


def color(method: str) -> str:
    """The book-wide colour of ``method``; ``KeyError`` lists the known methods."""
    try:
        return METHOD_COLORS[method]
    except KeyError:
        raise KeyError(f"no colour for method {method!r}; known: {sorted(METHOD_COLORS)}") from None


def line_with_band(
    ax: Axes, df: pd.DataFrame, x: str, y: str, method: str, label: str | None = None, level: float = 0.95, **kwargs
) -> None:
    """Plot the mean of ``y`` over runs against ``x`` with a ``level`` confidence band."""
    summary = mean_ci(df, x, y, level)
    c = kwargs.pop("color", color(method))
    ax.plot(summary[x], summary["mean"], color=c, label=label or method, **kwargs)
    ax.fill_between(summary[x], summary["lo"], summary["hi"], color=c, alpha=0.2, linewidth=0)
