"""One figure style for the whole book, and one colour per method across chapters."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from pandas.io.formats.style import Styler

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


def _number_format(values: pd.Series, digits: int):
    """One format for a numeric column: whole numbers with thousands separated; a column of small
    numbers with significant digits; otherwise ``digits`` decimals (fewer for large numbers), and a
    value that would show as 0 in scientific notation (never 0.000 for a value that is not 0)."""
    finite = values[np.isfinite(values)]
    if finite.empty or (finite == finite.round()).all():
        return lambda x: f"{x:,.0f}"
    top = float(finite.abs().max())
    smallest = float(finite[finite != 0].abs().min())
    significant = max(2, digits)
    if top < 1 and smallest < 10.0 ** -(digits - 1):
        return lambda x: "0" if x == 0 else f"{x:.{significant}g}" if abs(x) >= 1e-4 else f"{x:.{significant - 1}e}"
    decimals = digits if top < 100 else max(1, digits - 1) if top < 10_000 else 0

    def fmt(x: float) -> str:
        if x != 0 and abs(x) < 0.5 * 10.0**-decimals:
            return f"{x:.{significant - 1}e}"
        return f"{x:,.{decimals}f}"

    return fmt


def _cell(x: object, na: str) -> str:
    """A cell that is not a plain number: a sequence as its items, numbers without numpy's repr."""
    if isinstance(x, (tuple, list, np.ndarray)):
        return ", ".join(f"{v:g}" if isinstance(v, (float, np.floating)) else str(v) for v in x)
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return na
    return str(x)


# Names that say what a column holds: an interval's ends, a standard error, and units from suffixes.
NAMES = {"lo": "95% CI low", "hi": "95% CI high", "sem": "standard error"}
SUFFIXES = {"_s": " (s)", "_pct": " (%)", "_ms": " (ms)"}


def _name(col: object, names: dict) -> str:
    if col in names:
        return names[col]
    text = str(col)
    if " " in text:  # already written for people (and may hold a subscript such as w_m)
        return text
    for suffix, unit in SUFFIXES.items():
        if text.endswith(suffix):
            text = text.removesuffix(suffix) + unit
    return text.replace("_", " ")


def table(df: pd.DataFrame | pd.Series, digits: int = 3, na: str = "—", names: dict | None = None) -> Styler:
    """A table for people: no index column (a named index becomes columns; column levels are
    joined), every row shown, whole numbers with thousands separated, small numbers with
    significant digits instead of 0.000, sequences as their items, missing values as ``na``.
    Columns are renamed by ``names`` (to give their units); ``lo``/``hi`` say they bound a 95%
    interval, ``_s`` and ``_pct`` become units, and underscores become spaces."""
    if isinstance(df, pd.Series):
        df = df.to_frame(df.name if df.name is not None else "value")
    if any(name is not None for name in df.index.names):
        df = df.reset_index()
    names = {**NAMES, **(names or {})}
    if isinstance(df.columns, pd.MultiIndex):
        df.columns = [" ".join(_name(part, names) for part in col if str(part)) for col in df.columns]
    formats = {}
    for col in df.columns:
        values = df[col]
        if pd.api.types.is_bool_dtype(values):
            formats[col] = lambda x: "yes" if x else "no"
        elif pd.api.types.is_numeric_dtype(values):
            fmt = _number_format(values.astype(float), digits)
            formats[col] = lambda x, fmt=fmt: na if pd.isna(x) else fmt(float(x))
        else:
            formats[col] = lambda x: _cell(x, na)
    styled = df.style.hide(axis="index").format(formats, na_rep=na)
    return styled.relabel_index([_name(col, names) for col in df.columns], axis="columns")


def by_scale(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The same summary at several scales stacked into one table whose first column is ``scale``
    (``tables``: scale -> table, in the order to show; a named index becomes columns): a chapter's
    build-time run beside its recorded one."""
    if not tables:
        raise ValueError("'tables' must map at least one scale to its table")
    parts = []
    for s, t in tables.items():
        t = t.reset_index() if any(n is not None for n in t.index.names) else t.reset_index(drop=True)
        key = ("scale", *[""] * (t.columns.nlevels - 1)) if isinstance(t.columns, pd.MultiIndex) else "scale"
        t.insert(0, key, s)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict) and value:
        return [row for key, item in value.items() for row in _flatten(item, f"{prefix}{key}.")]
    return [(prefix.rstrip("."), value)]


def settings_table(settings: Any) -> Styler:
    """A configuration (a dataclass, nested ones included) or a record such as a result's
    provenance, as a two-column table of ``setting`` and ``value``, nested names joined by dots
    (``teacher.steps``): readable where the object's one-line repr would run off the page."""
    rows = [(key, _cell(item, "—")) for key, item in _flatten(settings)]
    return table(pd.DataFrame(rows, columns=["setting", "value"]))
