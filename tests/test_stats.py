"""Summaries over seeds: Student-t intervals and log-log slopes against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from edgelearn.core.stats import loglog_slope, mean_ci, paired_difference


def test_mean_ci_matches_the_student_t_interval_by_hand():
    df = pd.DataFrame({"method": ["a"] * 4 + ["b"] * 2, "value": [1.0, 2.0, 3.0, 4.0, 5.0, 5.0]})
    out = mean_ci(df, "method", "value").set_index("method")
    sem = np.std([1, 2, 3, 4], ddof=1) / 2
    half = scipy_stats.t.ppf(0.975, 3) * sem
    assert out.loc["a", "mean"] == pytest.approx(2.5) and out.loc["a", "n"] == 4
    assert out.loc["a", "lo"] == pytest.approx(2.5 - half) and out.loc["a", "hi"] == pytest.approx(2.5 + half)
    assert out.loc["b", "lo"] == out.loc["b", "hi"] == 5.0  # no spread, zero width


def test_mean_ci_single_run_and_levels():
    df = pd.DataFrame({"g": [0, 1, 1, 1], "v": [3.0, 0.0, 1.0, 2.0]})
    out = mean_ci(df, ["g"], "v", level=0.5).set_index("g")
    assert out.loc[0, "lo"] == out.loc[0, "hi"] == 3.0  # one run: a zero-width interval
    wide = mean_ci(df, "g", "v", level=0.99).set_index("g")
    assert wide.loc[1, "hi"] - wide.loc[1, "lo"] > out.loc[1, "hi"] - out.loc[1, "lo"]
    for level in (0, 1, 1.5):
        with pytest.raises(ValueError, match="'level'"):
            mean_ci(df, "g", "v", level=level)


def test_mean_ci_covers_the_true_mean_about_as_often_as_promised():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"rep": np.repeat(np.arange(400), 5), "v": rng.normal(1.0, 2.0, 2000)})
    out = mean_ci(df, "rep", "v")
    coverage = float(((out["lo"] <= 1.0) & (1.0 <= out["hi"])).mean())
    assert 0.92 <= coverage <= 0.98


def test_loglog_slope_recovers_a_power_law():
    x = np.array([10.0, 100.0, 1000.0, 10000.0])
    slope, lo, hi = loglog_slope(x, 3 * x**0.5)
    assert slope == pytest.approx(0.5) and lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    noisy = 3 * x**0.5 * np.array([1.1, 0.9, 1.05, 0.97])
    slope, lo, hi = loglog_slope(x, noisy)
    assert lo < slope < hi and lo < 0.5 < hi


@pytest.mark.parametrize("x, y", [([1, 2], [1, 2]), ([1, 2, 3], [1, 0, 3]), ([1, 2, 3], [1, 2])])
def test_loglog_slope_rejects_bad_input(x, y):
    with pytest.raises(ValueError, match="3 positive"):
        loglog_slope(np.array(x, float), np.array(y, float))


def test_paired_difference_matches_the_t_interval_of_the_differences():
    a = np.array([0.90, 0.85, 0.88, 0.91, 0.87])
    b = np.array([0.86, 0.84, 0.85, 0.88, 0.86])
    cmp = paired_difference(a, b)
    d = a - b
    half = scipy_stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert cmp.mean == pytest.approx(d.mean()) and cmp.n == 5 and cmp.test == "paired t"
    assert cmp.lo == pytest.approx(d.mean() - half) and cmp.hi == pytest.approx(d.mean() + half)
    assert cmp.a_better and not cmp.b_better and "paired t over 5 seeds" in cmp.describe()
    flipped = paired_difference(b, a)
    assert flipped.b_better and not flipped.a_better


def test_paired_difference_can_find_no_difference_and_pairs_series_by_seed():
    a = pd.Series([1.0, 2.0, 3.0, 4.0], index=[3, 2, 1, 0])
    b = pd.Series([4.5, 2.5, 1.5, 1.5], index=[0, 1, 2, 3])  # same seeds, other order
    cmp = paired_difference(a, b)
    assert cmp.mean == pytest.approx(0.0) and cmp.lo < 0 < cmp.hi
    assert not cmp.a_better and not cmp.b_better
    same = paired_difference([1.0, 2.0], [0.5, 1.5])  # equal differences: zero width
    assert same.lo == same.hi == 0.5 and same.a_better


def test_paired_bootstrap_agrees_roughly_with_t_and_is_seeded():
    rng = np.random.default_rng(1)
    a = rng.normal(1.0, 1.0, 30)
    b = a - 0.5 + rng.normal(0.0, 0.2, 30)
    boot = paired_difference(a, b, method="bootstrap")
    t = paired_difference(a, b)
    assert boot.test == "bootstrap (BCa)" and boot.lo == pytest.approx(t.lo, abs=0.05)
    assert boot == paired_difference(a, b, method="bootstrap")


@pytest.mark.parametrize(
    "a, b, kwargs, match",
    [
        ([1.0], [2.0], {}, "length >= 2"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], {}, "same length"),
        ([1.0, np.nan], [1.0, 2.0], {}, "finite"),
        ([1.0, 2.0], [2.0, 1.0], {"level": 1.0}, "'level'"),
        ([1.0, 2.0], [2.0, 1.0], {"method": "wilcoxon"}, "'method'"),
    ],
)
def test_paired_difference_rejects_bad_input(a, b, kwargs, match):
    with pytest.raises(ValueError, match=match):
        paired_difference(a, b, **kwargs)
