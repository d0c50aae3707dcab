"""Tests for edgelearn.slicing.claims: every verdict each rule can give, on synthetic result tables
with the columns edgelearn.slicing.experiments writes; judge covers the YAML; run() at smoke scale
makes the tables the rules read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgelearn.core.data import DataUnavailableError, load_dataset
from edgelearn.core.results import Recorder
from edgelearn.core.scorecard import NOT_REPRODUCED, NOT_TESTABLE, PARTLY, REPRODUCED, paper_values
from edgelearn.slicing import claims, experiments
from edgelearn.slicing.experiments import STEP_COLUMNS

R, P, N, X = REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_TESTABLE
T = 1000
RUNS = 6
JITTER = np.array([1.0, -1.0, 0.5, -0.5, 0.2, -0.2])  # per-run spread, mean 0


def jitter(method: str) -> np.ndarray:
    """The per-run spread, scaled per method so that paired differences are not constant."""
    return JITTER * (1 + (sum(map(ord, method)) % 7) / 3)


def verdict(claim_id: str, results: dict[str, pd.DataFrame], scale: str = "laptop") -> str:
    return claims.rules.judge_one(claim_id, results, scale).verdict


# -- synthetic regret curves -------------------------------------------------------------------
def curve(method: str, final: float, exponent: float = 0.5, scenario: str = "stationary", size: int = 10, p=np.nan):
    """Regret final * (t/T)^exponent at ten checkpoints, per run (with a small per-run spread)."""
    t = np.linspace(T / 10, T, 10).round().astype(int)
    rows = [
        pd.DataFrame(
            {
                "run": run,
                "t": t,
                "regret": (final + jitter(method)[run]) * (t / T) ** exponent,
                "p_tracked": p,
                "method": method,
                "scenario": scenario,
                "size": size,
            }
        )
        for run in range(RUNS)
    ]
    return pd.concat(rows, ignore_index=True)


def curves(
    learners: dict[str, tuple[float, float]], uniform=(500.0, 1.0), fixed=200.0, scenarios=("stationary",), p=None
):
    """One scenario's learners {method: (final regret, exponent)}, uniform play and the fixed allocation."""
    parts = []
    for scenario in scenarios:
        for method, (final, exponent) in learners.items():
            parts.append(curve(method, final, exponent, scenario, p=(p or {}).get(method, np.nan)))
        if uniform is not None:
            parts.append(curve("uniform", *uniform, scenario, size=10))
        parts.append(curve("fixed", fixed, 1.0, scenario, size=1))
    return {"regret_curves": pd.concat(parts, ignore_index=True)}


ALL = ("OLS", "OLS-SA", "OLS-RSA")


def same(final: float, exponent: float = 0.5) -> dict[str, tuple[float, float]]:
    return {m: (final, exponent) for m in ALL}


def test_converges_every_verdict():
    assert verdict("converges", curves(same(50), p={m: 0.9 for m in ALL})) == R
    assert verdict("converges", curves(same(50), p={"OLS": 0.1, "OLS-SA": 0.2, "OLS-RSA": 0.9})) == P
    assert verdict("converges", curves(same(50), p={m: 0.1 for m in ALL})) == N
    assert verdict("converges", curves(same(50))) == X  # p_tracked not recorded
    assert verdict("converges", {}) == X


@pytest.mark.parametrize(
    "claim_id, scenarios", [("sublinear_regret", ("stationary",)), ("adapts", ("drift", "switch"))]
)
def test_sublinear_and_adapts_every_verdict(claim_id, scenarios):
    assert verdict(claim_id, curves(same(50, 0.5), scenarios=scenarios)) == R
    # ahead of uniform but growing linearly: not yet sub-linear
    assert verdict(claim_id, curves(same(100, 1.0), scenarios=scenarios)) == P
    mixed = {"OLS": (600, 1.0), "OLS-SA": (50, 0.5), "OLS-RSA": (50, 0.5)}
    assert verdict(claim_id, curves(mixed, scenarios=scenarios)) == P
    # no better than uniform play: the baseline that must fail
    assert verdict(claim_id, curves(same(501, 1.0), scenarios=scenarios)) == N
    assert verdict(claim_id, curves(same(600, 1.0), scenarios=scenarios)) == N
    assert verdict(claim_id, curves(same(50), uniform=None, scenarios=scenarios)) == X
    one_run = curves(same(50), scenarios=scenarios)
    one_run["regret_curves"] = one_run["regret_curves"].query("run == 0")
    assert verdict(claim_id, one_run) == X


def test_adapts_needs_the_changing_scenarios():
    assert verdict("adapts", curves(same(50))) == X


def test_regret_bound_every_verdict():
    # K = 10, T = 1000: bound sqrt(2 T K ln K) = 214.6
    assert verdict("regret_bound", curves(same(50))) == R
    assert verdict("regret_bound", curves({"OLS": (50, 0.5), "OLS-SA": (50, 0.5), "OLS-RSA": (400, 0.5)})) == P
    assert verdict("regret_bound", curves({"OLS": (50, 0.5), "OLS-SA": (400, 0.5), "OLS-RSA": (50, 0.5)})) == N
    assert verdict("regret_bound", {}) == X


def test_beats_fixed_every_verdict():
    assert verdict("beats_fixed", curves(same(50), fixed=200)) == R
    assert verdict("beats_fixed", curves({"OLS": (300, 1), "OLS-SA": (50, 0.5), "OLS-RSA": (50, 0.5)}, fixed=200)) == P
    assert verdict("beats_fixed", curves(same(300), fixed=200)) == N
    one_run = curves(same(50))
    one_run["regret_curves"] = one_run["regret_curves"].query("run == 0")
    assert verdict("beats_fixed", one_run) == X


# -- pre-learning ------------------------------------------------------------------------------
def sizes(
    rows: list[tuple[int, int, int]], steps: tuple[float, float, float] | None = (0.1, 0.01, 0.01)
) -> pd.DataFrame:
    table = pd.DataFrame(
        [
            {"services": 2, "levels": 3 + i, "|OLS|": f, "|OLS-SA|": sa, "|OLS-RSA|": rsa}
            for i, (f, sa, rsa) in enumerate(rows)
        ]
    )
    if steps is not None:
        for column, seconds in zip(STEP_COLUMNS.values(), steps):
            table[column] = seconds
        table["build_s"] = sum(steps)
    return table


def test_space_reduction_every_verdict():
    assert verdict("space_reduction", {"space_sizes": sizes([(100, 10, 3), (1000, 50, 5)])}) == R
    assert verdict("space_reduction", {"space_sizes": sizes([(10, 10, 3), (1000, 50, 5)])}) == P
    assert verdict("space_reduction", {"space_sizes": sizes([(10, 10, 10), (50, 50, 5)])}) == N
    assert verdict("space_reduction", {"space_sizes": sizes([(100, 10, 30), (1000, 50, 5)])}) == N  # order violated
    assert verdict("space_reduction", {}) == X


def timing(dense: tuple[float, float, float], steps=(0.1, 0.01, 0.01)) -> dict[str, pd.DataFrame]:
    table = sizes([(10_000, 100, 10)], steps)
    slots = pd.DataFrame(
        {
            "services": 2,
            "levels": 3,
            "method": list(ALL),
            "size": [10_000, 100, 10],
            "seconds_per_slot": 5e-5,
            "dense_seconds_per_slot": dense,
        }
    )
    return {"space_sizes": table, "slot_times": slots, **curves(same(50))}


def test_time_reduction_every_verdict():
    # T = 1000 slots: OLS 0.1 + 1000 dense_OLS against OLS-RSA 0.12 + 1000 dense_RSA
    assert verdict("time_reduction", timing((1e-3, 1e-5, 1e-6))) == R  # 1.1 s vs 0.121 s
    assert verdict("time_reduction", timing((1e-4, 1e-5, 5e-5))) == P  # 0.2 s vs 0.17 s
    assert verdict("time_reduction", timing((1e-5, 1e-5, 1e-5))) == N  # 0.11 s vs 0.13 s
    no_dense = timing((1e-3, 1e-5, 1e-6))
    no_dense["slot_times"] = no_dense["slot_times"].drop(columns="dense_seconds_per_slot")
    assert verdict("time_reduction", no_dense) == X
    assert verdict("time_reduction", timing((1e-3, 1e-5, 1e-6), steps=None)) == X  # nothing built


def test_sa_overhead_every_verdict():
    assert verdict("sa_overhead", {"space_sizes": sizes([(100, 10, 3)], (1.0, 0.1, 0.1))}) == R
    assert verdict("sa_overhead", {"space_sizes": sizes([(100, 10, 3)], (1.0, 0.8, 0.1))}) == P
    assert verdict("sa_overhead", {"space_sizes": sizes([(100, 10, 3)], (1.0, 2.0, 0.1))}) == N
    assert verdict("sa_overhead", {"space_sizes": sizes([(100, 10, 3)], None)}) == X


# -- accuracy model and OLS-RSA ----------------------------------------------------------------
def training(accuracy, seeds: int = 3) -> dict[str, pd.DataFrame]:
    """One service, fractions 0.5 and 1.0, epochs 1..5; ``accuracy(fraction_index, epoch)``."""
    rows = [
        {"service": "s", "seed": s, "fraction": f, "epoch": e, "accuracy": accuracy(i, e) + 1e-4 * s}
        for s in range(seeds)
        for i, f in enumerate((0.5, 1.0))
        for e in range(1, 6)
    ]
    return {"training_runs": pd.DataFrame(rows)}


def test_accuracy_increases_every_verdict():
    def rising(i, e):
        return 0.5 + 0.05 * e + 0.1 * i

    assert verdict("accuracy_increases", training(rising)) == R
    # one significant drop (epoch 4 -> 5 at fraction 0.5) among 13 steps: 92 %
    assert verdict("accuracy_increases", training(lambda i, e: rising(i, e) - (0.2 if (i, e) == (0, 5) else 0))) == P
    assert verdict("accuracy_increases", training(lambda i, e: 1 - rising(i, e))) == N
    assert verdict("accuracy_increases", training(rising, seeds=1)) == X


def super_actions(perf, in_rsa, se) -> dict[str, pd.DataFrame]:
    return {
        "super_actions": pd.DataFrame(
            {
                "sa": range(len(perf)),
                "in_rsa": in_rsa,
                "perf_measured": perf,
                "perf_measured_se": se,
                "perf_model": perf,
            }
        )
    }


def test_rsa_keeps_optimum_every_verdict():
    kept = [False, True, True]
    assert verdict("rsa_keeps_optimum", super_actions([0.5, 0.8, 0.7], kept, 0.001)) == R
    assert verdict("rsa_keeps_optimum", super_actions([0.801, 0.8, 0.7], kept, 0.01)) == P  # within noise
    assert verdict("rsa_keeps_optimum", super_actions([0.9, 0.8, 0.7], kept, 0.001)) == N
    assert verdict("rsa_keeps_optimum", super_actions([0.9, 0.8, 0.7], kept, np.nan)) == X  # one training seed
    assert verdict("rsa_keeps_optimum", super_actions([np.nan, 0.8, 0.7], kept, 0.001)) == X  # grid not measured
    assert verdict("rsa_keeps_optimum", {}) == X


def test_exp_model_fits_every_verdict():
    def fit(r2):
        return {"accuracy_fit": pd.DataFrame({"service": ["a", "b"], "r2": [0.99, r2], "rmse": [0.01, 0.02]})}

    assert [verdict("exp_model_fits", fit(r2)) for r2 in (0.95, 0.8, 0.5)] == [R, P, N]
    assert verdict("exp_model_fits", {}) == X


# -- priors ------------------------------------------------------------------------------------
def prior(method, regret, offset=0.0, size=np.nan, sigma=np.nan, holds=True, growth_exponent=None) -> pd.DataFrame:
    """Rows of the priors table for one configuration: regret at T (and at T/2 if an exponent is given)."""
    ts = [T] if growth_exponent is None else [T // 2, T]
    rows = [
        {
            "run": run,
            "t": t,
            "regret": (regret + jitter(method)[run]) * (t / T) ** (growth_exponent or 1.0),
            "method": method,
            "offset": offset,
            "subset_size": size,
            "sigma": sigma,
            "holds_optimum": holds,
            "space_size": 64,
        }
        for run in range(RUNS)
        for t in ts
    ]
    return pd.DataFrame(rows)


def priors(*parts: pd.DataFrame, uniform: float = 500.0) -> dict[str, pd.DataFrame]:
    return {"priors": pd.concat([prior("uniform", uniform), *parts], ignore_index=True)}


def test_sbs_every_verdict():
    assert verdict("sbs", priors(prior("SBS", 50, size=4), prior("SBS", 100, size=16))) == R
    assert verdict("sbs", priors(prior("SBS", 50, size=4), prior("SBS", 600, size=16))) == P
    assert verdict("sbs", priors(prior("SBS", 550, size=4), prior("SBS", 600, size=16))) == N
    assert verdict("sbs", priors(prior("SBS", 0, size=1), prior("SBS", 500, size=64))) == X  # no 1 < K' < K
    one_run = priors(prior("SBS", 50, size=4))
    one_run["priors"] = one_run["priors"].query("run == 0")
    assert verdict("sbs", one_run) == X


def test_sbs_size_every_verdict():
    def sweep(regrets):
        return priors(*(prior("SBS", r, size=k) for k, r in zip((1, 4, 16, 64), regrets)))

    assert verdict("sbs_size", sweep((0, 40, 130, 500))) == R
    assert verdict("sbs_size", sweep((0, 140, 130, 500))) == P
    assert verdict("sbs_size", sweep((500, 140, 130, 0))) == N
    assert verdict("sbs_size", priors(prior("SBS", 0, size=1), prior("SBS", 40, size=4))) == X


def test_sbs_outside_every_verdict():
    def missing(*exponents):
        parts = [
            prior("SBS", 300, offset=0.5 + 0.25 * i, size=4, holds=False, growth_exponent=b)
            for i, b in enumerate(exponents)
        ]
        return {"priors": pd.concat([prior("uniform", 500, growth_exponent=1.0), *parts], ignore_index=True)}

    assert verdict("sbs_outside", missing(1.0, 1.0)) == R  # linear: all of R_T is a t
    assert verdict("sbs_outside", missing(0.8, 0.75)) == R  # a t is 71 % and 54 % of R_T
    assert verdict("sbs_outside", missing(0.7, 0.7)) == P  # a > 0, but a t is only 44 % of R_T
    assert verdict("sbs_outside", missing(1.0, 0.5)) == P  # one linear, one sqrt(t)
    assert verdict("sbs_outside", missing(0.5, 0.3)) == N  # sqrt(t) and flatter: a = 0 and a < 0
    assert verdict("sbs_outside", priors(prior("SBS", 300, offset=0.5, size=4, holds=False))) == X  # T only
    assert verdict("sbs_outside", priors(prior("SBS", 50, size=4))) == X  # no subset missed the optimum


def test_gbs_every_verdict():
    def at(offsets_regrets):
        parts = [prior("GBS", 400, offset=0.0, sigma=0.2)]
        for offset, (sbs, gbs) in offsets_regrets.items():
            parts += [prior("SBS", sbs, offset, size=4, holds=False), prior("GBS", gbs, offset, sigma=0.2)]
        return priors(*parts)

    assert verdict("gbs", at({0.5: (300, 200), 1.0: (400, 250)})) == R
    assert verdict("gbs", at({0.5: (300, 200), 1.0: (250, 400)})) == P
    assert verdict("gbs", at({0.5: (200, 300), 1.0: (250, 400)})) == N
    assert verdict("gbs", priors(prior("SBS", 50, size=4), prior("GBS", 100, sigma=0.2))) == X


def test_gbs_centred_every_verdict():
    assert verdict("gbs_centred", priors(prior("GBS", 300, sigma=0.2))) == R
    ahead = prior("GBS", 0, sigma=0.2).assign(regret=500 + np.array([-3.0, 1.0, -2.0, 2.0, -3.0, 1.0]))
    assert verdict("gbs_centred", priors(ahead)) == P  # ahead on average, interval holds 0
    assert verdict("gbs_centred", priors(prior("GBS", 600, sigma=0.2))) == N
    assert verdict("gbs_centred", priors(prior("GBS", 300, offset=0.5, sigma=0.2))) == X


# -- the whole table ---------------------------------------------------------------------------
def test_judge_covers_the_yaml_and_untestable_claims_say_why():
    spec = paper_values("slicing")["claims"]
    table = claims.judge({}, "smoke")
    assert list(table.id) == [c["id"] for c in spec]
    assert (table.verdict == NOT_TESTABLE).all() and table.why.str.len().gt(0).all()
    assert {c["id"] for c in spec if c.get("testable", True) is False} == {"np_hard", "eq19_coefficients"}


def test_run_at_smoke_scale_makes_the_tables_the_rules_read(results_dir):
    try:
        load_dataset("mnist", "test", download=False)
    except DataUnavailableError:
        pytest.skip("no local MNIST test set")
    rec = Recorder("slicing", "smoke", seeds=[0], data_source="pending")
    tables = experiments.run("smoke", 0, rec)
    assert set(tables) == {
        "training_runs",
        "accuracy_fit",
        "super_actions",
        "space_sizes",
        "slot_times",
        "regret_curves",
        "priors",
    }
    assert {"uniform", "fixed", *ALL} <= set(tables["regret_curves"].method)
    assert "dense_seconds_per_slot" in tables["slot_times"] and tables["priors"].t.nunique() > 1
    assert tables["super_actions"].perf_measured.notna().all()
    table = claims.judge(tables, "smoke")
    assert len(table) == len(paper_values("slicing")["claims"])
    # the rules that need no second seed or third subset size decide at smoke scale
    decided = table.set_index("id").verdict
    for claim_id in ("sublinear_regret", "regret_bound", "space_reduction", "time_reduction", "rsa_keeps_optimum"):
        assert decided[claim_id] != NOT_TESTABLE, claim_id


def test_super_action_table_reads_the_measured_cells():
    from edgelearn import slicing

    config = slicing.default_config(2, 3)
    space = slicing.build_space(config)
    model = slicing.AccuracyModel(0.9, 0.5, 0.4, 2.0)
    rows = [
        {"service": s.name, "seed": seed, "fraction": d, "epoch": e, "accuracy": float(model(e, d))}
        for s in config.services
        for seed in (0, 1)
        for d in config.fractions
        for e in config.epochs
    ]
    table = experiments.super_action_table(space, [model, model], pd.DataFrame(rows))
    assert len(table) == len(space.hyper) and table.in_rsa.sum() == len(space.reduced)
    np.testing.assert_allclose(table.perf_measured, table.perf_model)
    assert (table.perf_measured_se == 0).all() and table.fixed.sum() == 1


def test_uniform_policy_plays_every_arm():
    from edgelearn.slicing import UniformPolicy

    policy = UniformPolicy(5, n_runs=1000, seed=0)
    arms = policy.sample()
    assert arms.shape == (1000,) and set(arms) == set(range(5))
    with pytest.raises(ValueError, match="n_arms"):
        UniformPolicy(0)
