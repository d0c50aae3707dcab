"""The OD3 chapter's figures: average reward against timesteps and wall time (the paper's Figs. 4-9)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from pandas.io.formats.style import Styler

from edgelearn.core import plotting

X_LABELS = {"step": "timesteps", "wall_s": "wall time (s)"}


def on_time_grid(curves: pd.DataFrame, points: int = 60) -> pd.DataFrame:
    """Each run's average reward interpolated on a common wall-time grid, so that runs whose
    checkpoints fall at different times can be averaged (one row per run x grid point)."""
    grid = np.linspace(0, curves.wall_s.max(), points)
    out = []
    for (method, seed), d in curves.groupby(["method", "seed"]):
        d = d.dropna(subset=["reward"]).sort_values("wall_s")
        keep = grid[(grid >= d.wall_s.min()) & (grid <= d.wall_s.max())]
        out.append(
            pd.DataFrame(
                {"method": method, "seed": seed, "wall_s": keep, "reward": np.interp(keep, d.wall_s, d.reward)}
            )
        )
    return pd.concat(out, ignore_index=True)


def _curves(
    ax: Axes, curves: pd.DataFrame, x: str, methods: Sequence[str], labels: Sequence[str], colours=None
) -> None:
    data = curves if x == "step" else on_time_grid(curves)
    for i, (method, label) in enumerate(zip(methods, labels)):
        d = data[data.method == method].dropna(subset=["reward"])
        kwargs = {} if colours is None else {"color": colours[i]}
        base = method if colours is None else "EDGE-OD3"
        plotting.line_with_band(ax, d, x, "reward", base, label=label, **kwargs)
    ax.set(xlabel=X_LABELS[x], ylabel="average reward")
    ax.legend(fontsize="small")


def reward_figure(
    curves: pd.DataFrame, x: str, env: str, methods: Sequence[str] = ("CLOUD", "EDGE", "EDGE-OD3")
) -> Figure:
    """Average training reward of CLOUD, EDGE and EDGE-OD3 against ``x`` ("step": Fig. 4, "wall_s":
    Fig. 5): mean and 95 % band over seeds."""
    fig, ax = plt.subplots()
    _curves(ax, curves, x, methods, methods)
    ax.set_title(f"{env}: reward against {X_LABELS[x]}")
    fig.tight_layout()
    return fig


def sweep_figure(sweeps: pd.DataFrame, kind: str) -> Figure:
    """Case 2: EDGE-OD3 for each mini-batch size (``kind="batch"``, Figs. 6-7) or update frequency
    (``"update"``, Figs. 8-9), against timesteps (left) and wall time (right)."""
    data = sweeps[sweeps.sweep == kind]
    values = sorted(data.value.unique())
    prefix = "BS" if kind == "batch" else "LF"
    methods = [f"EDGE-OD3-{prefix}{v}" for v in values]
    colours = plt.cm.viridis(np.linspace(0.05, 0.85, len(values)))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, x in zip(axes, ("step", "wall_s")):
        _curves(ax, data, x, methods, [f"{prefix}{v}" for v in values], colours)
        ax.set_title(f"EDGE-OD3, {prefix}: against {X_LABELS[x]}")
    fig.tight_layout()
    return fig


def styled(table: pd.DataFrame, digits: int = 1) -> Styler:
    """A table for people (`edgelearn.core.plotting.table`): no index column, ``digits`` decimals,
    whole numbers with thousands separated and no trailing ``.0``, missing values as a dash."""
    return plotting.table(table, digits)
