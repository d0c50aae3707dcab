"""Summaries over seeds: means with Student-t confidence intervals, log-log slopes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci(df: pd.DataFrame, by: str | Sequence[str], value: str, level: float = 0.95) -> pd.DataFrame:
    """Mean of ``value`` over the rows of each group ``by``, with a Student-t CI.

    Returns one row per group with columns ``mean``, ``lo``, ``hi``, ``sem`` and ``n``.
    A group of one run gets a zero-width interval.
    """
    if not 0 < level < 1:
        raise ValueError(f"'level' must lie in (0, 1), got {level}")
    grouped = df.groupby(list([by] if isinstance(by, str) else by), sort=True)[value]
    out = grouped.agg(mean="mean", sem="sem", n="count").reset_index()
    out["sem"] = out["sem"].fillna(0.0)
    half = stats.t.ppf(0.5 + level / 2, np.maximum(out["n"] - 1, 1)) * out["sem"]
    out["lo"], out["hi"] = out["mean"] - half, out["mean"] + half
    return out


def loglog_slope(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Least-squares slope of ``log y`` on ``log x`` with its CI: ``(slope, lo, hi)``.

    Used for growth exponents such as regret :math:`\\propto T^{b}`; needs ``x, y > 0``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.size < 3 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("need at least 3 positive (x, y) pairs of equal shape")
    fit = stats.linregress(np.log(x), np.log(y))
    half = stats.t.ppf(0.5 + level / 2, x.size - 2) * fit.stderr
    return float(fit.slope), float(fit.slope - half), float(fit.slope + half)
