"""MA2ML's verdict rules on synthetic result tables (every verdict each rule can give), the YAML's
coverage, the theorem's exact iteration, and the experiments' tables at smoke scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgelearn import ma2ml
from edgelearn.core.results import Recorder
from edgelearn.core.scorecard import NOT_REPRODUCED, NOT_TESTABLE, PARTLY, REPRODUCED, paper_values
from edgelearn.ma2ml import claims, experiments

METHODS = list(experiments.METHODS)
RNG = np.random.default_rng(0)


def curves(values: dict[str, np.ndarray], runs: int = 8, column: str = "top_k_true", noise: float = 0.0):
    """A search_curves-like table: ``values[method]`` is the per-batch mean curve; runs add noise.

    Methods not given get a flat curve at 0.8. Both value columns carry the same numbers."""
    rows = []
    n_batches = len(next(iter(values.values())))
    for method in METHODS:
        curve = np.asarray(values.get(method, np.full(n_batches, 0.8)), float)
        for run in range(runs):
            jitter = noise * RNG.normal(size=n_batches)
            for batch, v in enumerate(curve + jitter):
                rows.append({"method": method, "run": run, "batch": batch, "top_k_true": v, "policy_value": v})
    return pd.DataFrame(rows)


def judge(claim_id, **tables):
    return claims.rules.judge_one(claim_id, tables, "laptop")


# --------------------------------------------------------------------------------------------
# sample_efficiency: four paired comparisons of the top-k curve
# --------------------------------------------------------------------------------------------


def test_sample_efficiency_every_verdict():
    up = np.linspace(0.80, 0.85, 6)
    ahead = judge(
        "sample_efficiency",
        search_curves=curves({"MA2ML": up + 0.01, "MA2ML-Lite": up, "MA2ML on-policy": up}, noise=0.001),
    )
    assert ahead.verdict == REPRODUCED and "paired t over 8 seeds" in ahead.ours
    # ahead early (area) but level at the end (final): partly
    early = up + np.array([0.02, 0.02, 0.02, 0.02, 0.02, 0.0])
    tied_end = judge(
        "sample_efficiency",
        search_curves=curves({"MA2ML": early, "MA2ML-Lite": up, "MA2ML on-policy": up}, noise=0.002),
    )
    assert tied_end.verdict == PARTLY
    behind = judge(
        "sample_efficiency",
        search_curves=curves({"MA2ML": up - 0.01, "MA2ML-Lite": up, "MA2ML on-policy": up}, noise=0.001),
    )
    assert behind.verdict == NOT_REPRODUCED and "significantly ahead" in behind.why
    level = judge(
        "sample_efficiency", search_curves=curves({"MA2ML": up, "MA2ML-Lite": up, "MA2ML on-policy": up}, noise=0.003)
    )
    assert level.verdict in (NOT_REPRODUCED, PARTLY) and not level.verdict == REPRODUCED
    one = judge("sample_efficiency", search_curves=curves({"MA2ML": up}, runs=1))
    assert one.verdict == NOT_TESTABLE and "1 seed: a paired interval needs at least 2" == one.why


def test_sample_efficiency_without_any_win_is_not_reproduced():
    """Exactly equal curves (zero-width intervals at 0): no win, no loss."""
    up = np.linspace(0.80, 0.85, 4)
    same = curves({"MA2ML": up, "MA2ML-Lite": up, "MA2ML on-policy": up})
    assert judge("sample_efficiency", search_curves=same).verdict == NOT_REPRODUCED


# --------------------------------------------------------------------------------------------
# multi_vs_single: policy value, MA2ML vs the single agent
# --------------------------------------------------------------------------------------------


def test_multi_vs_single_every_verdict():
    up = np.linspace(0.79, 0.84, 5)
    assert (
        judge("multi_vs_single", search_curves=curves({"MA2ML": up + 0.01, "single agent": up}, noise=0.001)).verdict
        == REPRODUCED
    )
    noisy = curves({"MA2ML": up, "single agent": up}, noise=0.0)
    noisy.loc[noisy.method == "MA2ML", "policy_value"] += np.repeat(
        [0.02, -0.015, 0.01, -0.01, 0.003, 0.0, 0.0, 0.0], 5
    )
    partly = judge("multi_vs_single", search_curves=noisy)
    assert partly.verdict == PARTLY and "holds 0" in partly.why
    worse = judge("multi_vs_single", search_curves=curves({"MA2ML": up - 0.01, "single agent": up}, noise=0.001))
    assert worse.verdict == NOT_REPRODUCED
    assert judge("multi_vs_single", search_curves=curves({"MA2ML": up}, runs=1)).verdict == NOT_TESTABLE


# --------------------------------------------------------------------------------------------
# monotone: the sampling policy's expected accuracy, batch after batch
# --------------------------------------------------------------------------------------------


def test_monotone_every_verdict():
    steady = judge("monotone", search_curves=curves({"MA2ML": np.linspace(0.79, 0.84, 10)}))
    assert steady.verdict == REPRODUCED and "sampling policy pi" in steady.ours
    zigzag = 0.79 + np.linspace(0, 0.05, 10) + np.array([0, 0.01, 0, 0.01, 0, 0.01, 0, 0.01, 0, 0.0])
    assert judge("monotone", search_curves=curves({"MA2ML": zigzag})).verdict == PARTLY
    assert judge("monotone", search_curves=curves({"MA2ML": np.full(10, 0.8)})).verdict == NOT_REPRODUCED  # never moves
    assert judge("monotone", search_curves=curves({"MA2ML": np.linspace(0.84, 0.79, 10)})).verdict == NOT_REPRODUCED
    small_falls = 0.79 + np.linspace(0, 0.05, 10) - np.array([0, 0.0005, 0, 0.0005, 0, 0, 0, 0, 0, 0]) * 2
    assert judge("monotone", search_curves=curves({"MA2ML": small_falls})).verdict == REPRODUCED  # within tolerance
    assert judge("monotone", search_curves=curves({"MA2ML": [0.8]})).verdict == NOT_TESTABLE


def test_monotone_reads_pi_not_rho():
    table = curves({"MA2ML": np.full(6, 0.8)})
    table["target_value"] = np.linspace(0.7, 0.9, len(table))  # a rising rho must not rescue a flat pi
    assert judge("monotone", search_curves=table).verdict == NOT_REPRODUCED


# --------------------------------------------------------------------------------------------
# monotone_theorem: a theorem checked numerically (two-way)
# --------------------------------------------------------------------------------------------


def exact_table(values):
    rows = [
        {"lam": lam, "mode": mode, "iteration": i, "value": v}
        for lam in (0.1, 1.0)
        for mode in ("sequential", "simultaneous")
        for i, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_monotone_theorem_every_verdict():
    assert judge("monotone_theorem", exact_iteration=exact_table([0.7, 0.75, 0.8])).verdict == REPRODUCED
    assert judge("monotone_theorem", exact_iteration=exact_table([0.7, 0.8, 0.79])).verdict == NOT_REPRODUCED
    assert judge("monotone_theorem", exact_iteration=exact_table([0.7, 0.7, 0.7])).verdict == NOT_REPRODUCED  # no gain
    assert judge("monotone_theorem").verdict == NOT_TESTABLE


def test_exact_iteration_is_monotone_sequentially_and_can_fall_simultaneously():
    reward = np.random.default_rng(3).uniform(0.5, 0.9, (3, 4, 2))
    table = experiments.exact_iteration(reward, (0.0, 0.05, 0.5), 15)
    assert set(table.lam) == {0.05, 0.5}  # lambda = 0 has no Gibbs policy
    seq = table[table["mode"] == "sequential"]
    for _, g in seq.groupby("lam"):
        assert np.diff(g.value.to_numpy()).min() >= -1e-12 and g.value.iloc[-1] > g.value.iloc[0]
    assert seq.value.max() <= reward.max() + 1e-12
    # the exercise's coordination game: simultaneous best responses from (0.6, 0.4) x (0.4, 0.6) fall
    game = np.eye(2)
    policies = [np.array([0.6, 0.4]), np.array([0.4, 0.6])]
    simultaneous = [
        experiments.gibbs_policy(policies[i], experiments.counterfactual_values(game, policies, i), 0.1)
        for i in range(2)
    ]
    assert experiments.joint_value(game, policies) == pytest.approx(0.48)
    assert experiments.joint_value(game, simultaneous) == pytest.approx(0.281, abs=2e-3)


def test_gibbs_policy_maximises_the_regularised_objective():
    rho, q, lam = np.array([0.2, 0.5, 0.3]), np.array([0.1, 0.4, 0.35]), 0.2
    star = experiments.gibbs_policy(rho, q, lam)

    def objective(p):
        return p @ q - lam * np.sum(p * np.log(p / rho))

    for p in np.random.default_rng(1).dirichlet(np.ones(3), 200):
        assert objective(p) <= objective(star) + 1e-12


# --------------------------------------------------------------------------------------------
# flops_constraint and imagenet200_vs_lite
# --------------------------------------------------------------------------------------------


def flops_table(ma2ml_reward, random_reward, feasible=1.0, runs=8, noise=0.001):
    rows = []
    for method, reward, share in (("MA2ML", ma2ml_reward, feasible), ("random search", random_reward, 1.0)):
        for run in range(runs):
            rows.append(
                {
                    "method": method,
                    "run": run,
                    "top_k_feasible": share,
                    "top_k_true_reward": reward + noise * RNG.normal(),
                    "feasible_mass": share,
                    "constraint": 1.3e6,
                }
            )
    rows.append({"method": experiments.UNCONSTRAINED, "run": 0, "top_k_feasible": 0.4, "top_k_true_reward": 0.7})
    return pd.DataFrame(rows).assign(constraint=1.3e6)


def test_flops_constraint_every_verdict():
    better = judge("flops_constraint", flops_constrained=flops_table(0.84, 0.83))
    assert better.verdict == REPRODUCED and "accuracy reward: 40%" in better.ours
    assert judge("flops_constraint", flops_constrained=flops_table(0.83, 0.83, noise=0.003)).verdict in (PARTLY,)
    assert judge("flops_constraint", flops_constrained=flops_table(0.84, 0.83, feasible=0.6)).verdict == NOT_REPRODUCED
    assert judge("flops_constraint", flops_constrained=flops_table(0.82, 0.83)).verdict == NOT_REPRODUCED
    assert judge("flops_constraint", flops_constrained=flops_table(0.84, 0.83, runs=1)).verdict == NOT_TESTABLE


def test_flops_constraint_ties_are_partly_when_within_budget():
    exact_tie = flops_table(0.83, 0.83, noise=0.0)
    assert judge("flops_constraint", flops_constrained=exact_tie).verdict == PARTLY


def test_imagenet200_vs_lite_every_verdict():
    up = np.linspace(0.78, 0.83, 5)
    assert (
        judge("imagenet200_vs_lite", flops_curves=curves({"MA2ML": up + 0.01, "MA2ML-Lite": up}, noise=0.001)).verdict
        == REPRODUCED
    )
    noisy = curves({"MA2ML": up, "MA2ML-Lite": up})
    noisy.loc[noisy.method == "MA2ML", "top_k_true"] += np.repeat([0.02, -0.015, 0.01, -0.01, 0.003, 0.0, 0.0, 0.0], 5)
    assert judge("imagenet200_vs_lite", flops_curves=noisy).verdict == PARTLY
    assert (
        judge("imagenet200_vs_lite", flops_curves=curves({"MA2ML": up - 0.01, "MA2ML-Lite": up}, noise=0.001)).verdict
        == NOT_REPRODUCED
    )
    assert judge("imagenet200_vs_lite", flops_curves=curves({"MA2ML": up}, runs=1)).verdict == NOT_TESTABLE


# --------------------------------------------------------------------------------------------
# coverage, and the experiments' tables
# --------------------------------------------------------------------------------------------


def synthetic_results():
    up = np.linspace(0.79, 0.84, 5)
    return {
        "search_curves": curves({"MA2ML": up}, noise=0.001),
        "flops_constrained": flops_table(0.84, 0.83),
        "flops_curves": curves({"MA2ML": up}, noise=0.001),
        "exact_iteration": exact_table([0.7, 0.75, 0.8]),
    }


def test_judge_covers_every_yaml_claim():
    spec = paper_values("ma2ml")["claims"]
    table = claims.judge(synthetic_results(), "laptop")
    assert list(table.id) == [c["id"] for c in spec]
    untestable = {c["id"] for c in spec if c.get("testable", True) is False}
    assert {"cifar10", "cifar100", "imagenet_600m", "imagenet_490m"} <= untestable
    assert (table.set_index("id").loc[sorted(untestable), "verdict"] == NOT_TESTABLE).all()
    assert set(claims.rules.rules) == {c["id"] for c in spec} - untestable


def tiny_bench(dims=(2, 3, 2)):
    rng = np.random.default_rng(0)
    mean = rng.uniform(0.6, 0.9, dims)
    acc = mean[None] + 0.01 * rng.normal(size=(2, *dims))
    flops = np.broadcast_to(np.arange(1, dims[1] + 1)[None, :, None] * 1e6, dims).copy()
    return ma2ml.TabularBenchmark(acc, flops)


def test_run_at_smoke_scale_makes_the_tables_the_rules_read(results_dir):
    bench = tiny_bench()
    rec = Recorder("ma2ml", "smoke", seeds=[0, 1], data_source="synthetic table (test)")
    tables = experiments.run("smoke", seed=0, recorder=rec, bench=bench)
    assert set(tables) == {
        "search_histories", "search_curves", "lambda_sweep", "flops_constrained", "flops_curves", "exact_iteration"
    }  # fmt: skip
    curves_ = tables["search_curves"]
    assert {"method", "run", "batch", "top_k_true", "policy_value", "target_value"} <= set(curves_.columns)
    assert set(curves_.method) == set(METHODS) and set(curves_.run) == {0, 1}
    flops = tables["flops_constrained"]
    assert {"top_k_feasible", "top_k_true_reward", "feasible_mass", "constraint"} <= set(flops.columns)
    assert set(flops.method) == {*experiments.FLOPS_METHODS, experiments.UNCONSTRAINED}
    verdicts = ma2ml.judge(tables, "smoke")
    assert len(verdicts) == len(paper_values("ma2ml")["claims"])
    assert (results_dir / "ma2ml" / "smoke" / "flops_curves.csv").is_file()
    # each search is fixed by its seed: MA2ML's run 1 is the search one would run on its own
    cfg = ma2ml.SCALES["smoke"]
    _, alone = experiments.run_search(ma2ml.MA2ML(bench.dims, seed=1), bench, cfg, 1, bench.mean_accuracy())
    ours = curves_[(curves_.method == "MA2ML") & (curves_.run == 1)].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours[alone.columns], alone, check_dtype=False)


def test_constraint_row_reads_the_top_pipelines():
    bench = tiny_bench()
    history = pd.DataFrame(
        {"a0": [0, 1, 0], "a1": [2, 0, 2], "a2": [1, 1, 1], "reward": [0.9, 0.8, 0.7]}
    )  # pipeline (0, 2, 1) twice: counted once
    row = experiments.constraint_row(history, np.full(bench.dims, 1 / 12), bench, constraint=1.5e6, k=2)
    assert row["top_k_feasible"] == 0.5 and row["returned_feasible"] == 0.0
    assert row["feasible_mass"] == pytest.approx(4 / 12)
    assert row["returned_true_accuracy"] == pytest.approx(bench.mean_accuracy()[0, 2, 1])
