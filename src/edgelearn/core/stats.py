"""Summaries over seeds: means with Student-t confidence intervals, paired comparisons of two methods
(paired t or bootstrap, by ``scipy.stats``), log-log slopes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class PairedComparison:
    """The difference ``a - b`` of two methods run on the same seeds: mean and confidence interval.

    ``test`` names how the interval was made ("paired t" or "bootstrap (BCa)"), ``n`` the number of
    seeds (pairs); ``a_better`` / ``b_better`` say whether the interval excludes zero (for a
    quantity where larger is better).
    """

    mean: float
    lo: float
    hi: float
    n: int
    level: float
    test: str

    @property
    def a_better(self) -> bool:
        return self.lo > 0

    @property
    def b_better(self) -> bool:
        return self.hi < 0

    def describe(self, digits: int = 3) -> str:
        """E.g. ``"+0.012 [0.004, 0.020], paired t over 5 seeds"``."""
        return f"{self.mean:+.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}], {self.test} over {self.n} seeds"


def _pairs(a: Sequence[float] | pd.Series, b: Sequence[float] | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        if not a.index.equals(b.index):  # pair by seed, not by position
            a, b = a.align(b, join="inner")
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(f"'a' and 'b' must be paired samples of the same length >= 2; got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("'a' and 'b' must be finite")
    return a, b


def paired_difference(
    a: Sequence[float] | pd.Series,
    b: Sequence[float] | pd.Series,
    level: float = 0.95,
    method: str = "t",
    seed: int = 0,
) -> PairedComparison:
    """Confidence interval of the mean of ``a - b`` over paired runs (same seeds), by scipy.stats.

    ``method="t"``: the paired Student-t interval (``scipy.stats.ttest_rel``); ``"bootstrap"``: a
    BCa bootstrap of the mean difference (``scipy.stats.bootstrap``, 9,999 resamples, seeded). Two
    Series are paired by their index (e.g. the seed). When every difference is equal the interval
    has zero width.
    """
    if not 0 < level < 1:
        raise ValueError(f"'level' must lie in (0, 1), got {level}")
    a, b = _pairs(a, b)
    diff = a - b
    mean = float(diff.mean())
    if np.ptp(diff) == 0:
        lo = hi = mean
        name = "paired t" if method == "t" else "bootstrap (BCa)"
    elif method == "t":
        ci = stats.ttest_rel(a, b).confidence_interval(level)
        lo, hi, name = float(ci.low), float(ci.high), "paired t"
    elif method == "bootstrap":
        res = stats.bootstrap(
            (diff,),
            np.mean,
            confidence_level=level,
            n_resamples=9_999,
            method="BCa",
            random_state=np.random.default_rng(seed),
        )
        lo, hi, name = float(res.confidence_interval.low), float(res.confidence_interval.high), "bootstrap (BCa)"
    else:
        raise ValueError(f"'method' must be 't' or 'bootstrap', got {method!r}")
    return PairedComparison(mean, lo, hi, len(diff), level, name)
