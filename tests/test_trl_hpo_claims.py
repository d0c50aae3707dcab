"""The TRL-HPO claim rules (edgelearn.trl_hpo.claims) on synthetic tables: every verdict each rule
can give, the YAML's coverage, and the tables the experiments write."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from edgelearn import trl_hpo as trl
from edgelearn.core.scorecard import NOT_REPRODUCED, NOT_TESTABLE, PARTLY, REPRODUCED, paper_values
from edgelearn.trl_hpo import experiments
from edgelearn.trl_hpo.claims import rules

R, P, N, T = REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_TESTABLE


def verdict(claim_id: str, results: dict, scale: str = "laptop") -> str:
    return rules.judge_one(claim_id, results, scale).verdict


def runs_table(trl_values, mq_values, column="acc_time", n_train=500, epochs=1) -> dict:
    """A ``runs`` table with TRL-HPO's and MetaQNN's ``column`` per seed (same for best accuracy)."""
    rows = []
    for policy, values in (("trl", trl_values), ("metaqnn", mq_values)):
        for seed, v in enumerate(values):
            rows.append({"policy": policy, "seed": seed, "best_accuracy": v, "acc_time": v, "flops": 1000,
                         "params": 100, "n_train": n_train, "epochs": epochs})  # fmt: skip
    return {"runs": pd.DataFrame(rows)}


PAPER_BUDGET = {"n_train": 20_000, "epochs": 5}


# --------------------------------------------------------------------------------------------
# Table II
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(0.99, R), (0.975, P), (0.95, N)]
)  # 98.6 % and 97 % are the thresholds
def test_best_accuracy_at_the_paper_budget(value, expected):
    assert verdict("best_accuracy", runs_table([value, value], [0.9, 0.9], **PAPER_BUDGET), "paper") == expected


def test_absolute_accuracies_are_not_testable_below_the_paper_budget():
    for claim_id in ("best_accuracy", "acctime_value"):
        claim = rules.judge_one(claim_id, runs_table([0.99], [0.9]), "laptop")
        assert claim.verdict == T and "20,000" in claim.why
        assert verdict(claim_id, {"runs": runs_table([0.99], [0.9])["runs"].drop(columns="n_train")}) == T
        assert verdict(claim_id, {}) == T


@pytest.mark.parametrize(("value", "expected"), [(0.93, R), (0.999, R), (0.88, P), (0.80, N)])
def test_acctime_value(value, expected):
    assert verdict("acctime_value", runs_table([value], [0.5], **PAPER_BUDGET), "paper") == expected


@pytest.mark.parametrize(
    ("trl_acc", "mq_acc", "expected"),
    [([0.95, 0.96], [0.88, 0.89], R), ([0.90, 0.91], [0.89, 0.90], P), ([0.85, 0.86], [0.88, 0.89], N)],
)
def test_acctime_advantage(trl_acc, mq_acc, expected):
    assert verdict("acctime_advantage", runs_table(trl_acc, mq_acc)) == expected


def test_acctime_advantage_needs_both_searchers():
    assert verdict("acctime_advantage", {}) == T
    only_trl = runs_table([0.9], [0.8])["runs"].query("policy == 'trl'")
    assert verdict("acctime_advantage", {"runs": only_trl}) == T


@pytest.mark.parametrize(
    ("trl_acc", "mq_acc", "expected"),
    [
        ([0.95, 0.96, 0.94], [0.88, 0.89, 0.88], R),  # interval above 0
        ([0.95, 0.80, 0.97], [0.88, 0.89, 0.88], P),  # ahead on average, interval holds 0
        ([0.80, 0.81, 0.79], [0.88, 0.89, 0.88], N),  # interval below 0
        ([0.80, 0.95, 0.85], [0.88, 0.89, 0.88], N),  # behind on average
    ],
)
def test_acctime_significant(trl_acc, mq_acc, expected):
    claim = rules.judge_one("acctime_significant", runs_table(trl_acc, mq_acc), "laptop")
    assert claim.verdict == expected and "paired t over 3 seeds" in claim.ours


def test_acctime_significance_needs_two_seeds():
    claim = rules.judge_one("acctime_significant", runs_table([0.95], [0.88]), "laptop")
    assert (
        claim.verdict == T and "1 seed: a paired interval needs at least 2" == claim.why and "+7.0 points" in claim.ours
    )
    assert verdict("acctime_significant", {}) == T


# --------------------------------------------------------------------------------------------
# the method's cost
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim_id", "column", "values"),
    [
        ("controller_params", "params", (80_000, 100_000, 200_000)),
        ("controller_flops", "flops", (1_000_000, 700_000, 100_000)),
    ],
)
def test_controller_cost_compares_the_actor(claim_id, column, values):
    for value, expected in zip(values, (R, P, N)):
        cost = pd.DataFrame([{"network": "actor", column: value}, {"network": "critic", column: 1}])
        assert verdict(claim_id, {"controller_cost": cost}) == expected
    assert verdict(claim_id, {}) == T
    assert verdict(claim_id, {"controller_cost": pd.DataFrame([{"network": "critic", column: 1}])}) == T


# --------------------------------------------------------------------------------------------
# the steps: first-layer rewards and repeated candidates
# --------------------------------------------------------------------------------------------


def steps_table(models: list[list[float]], phase="explore", trained=None) -> pd.DataFrame:
    """TRL-HPO rows: one model per list of rewards (one reward per layer)."""
    rows = []
    for m, rewards in enumerate(models):
        for step, reward in enumerate(rewards):
            rows.append({"policy": "trl", "seed": 0, "episode": 0, "model": m, "step": step, "reward": reward,
                         "phase": phase, "collapsed": False, "trained": True})  # fmt: skip
    df = pd.DataFrame(rows)
    if trained is not None:
        df["trained"] = trained
    return df


def test_first_layer_highest_reward_is_a_two_way_theorem_check():
    assert verdict("first_layer_highest_reward", {"steps": steps_table([[0.8, 0.05], [0.7, 0.1, -0.2]])}) == R
    assert verdict("first_layer_highest_reward", {"steps": steps_table([[0.8, 0.05], [0.3, 0.4]])}) == N
    assert verdict("first_layer_highest_reward", {"steps": steps_table([[0.8], [0.5]])}) == T
    assert verdict("first_layer_highest_reward", {}) == T


def test_repeated_candidates():
    models = [[0.8, 0.1]] * 20  # 40 layers; 5 % repeats reproduce the statement
    for repeats, expected in ((4, R), (1, P), (0, N)):
        trained = [True] * (40 - repeats) + [False] * repeats
        assert verdict("repeated_candidates", {"steps": steps_table(models, trained=trained)}) == expected
    # repeats of the exploitation phase are a construction and do not count
    exploit = steps_table(models, phase="exploit", trained=[False] * 40)
    assert verdict("repeated_candidates", {"steps": exploit}) == T
    assert verdict("repeated_candidates", {}) == T


# --------------------------------------------------------------------------------------------
# Fig. 2
# --------------------------------------------------------------------------------------------


def pairs_table(counts: dict[str, int], policy: str = "TRL-HPO") -> pd.DataFrame:
    total = sum(counts.values())
    return pd.DataFrame([{"pair": k, "count": v, "share": v / total, "policy": policy} for k, v in counts.items()])


def test_fc_stacking_negative():
    cases = [
        ({"FC→FC": 10, "Conv→Conv": 5, "Conv→FC": 2}, R),
        ({"Conv→FC": 10, "FC→FC": 5, "Conv→Conv": 2}, P),
        ({"Conv→FC": 10, "Conv→Conv": 5, "FC→FC": 2}, N),
        ({"Conv→FC": 10, "Conv→Conv": 5}, N),  # no FC→FC at all
        ({"FC→FC": 3, "Conv→Conv": 2}, T),  # too few to rank
    ]
    for counts, expected in cases:
        # random search's pairs must not count
        table = pd.concat([pairs_table(counts), pairs_table({"FC→FC": 100}, "random search")])
        assert verdict("fc_stacking_negative", {"negative_pairs": table}) == expected, counts
    assert verdict("fc_stacking_negative", {}) == T


def test_convconv_second():
    cases = [
        ({"FC→FC": 10, "Conv→Conv": 5, "Conv→FC": 2}, R),
        ({"Conv→Conv": 10, "FC→FC": 5, "Conv→FC": 2}, P),
        ({"Conv→FC": 10, "FC→FC": 5, "Conv→Conv": 3, "Conv→MaxPool": 2}, P),
        ({"Conv→FC": 10, "FC→FC": 5, "Conv→MaxPool": 3, "Conv→Conv": 2}, N),
        ({"Conv→Conv": 2, "FC→FC": 3}, T),
    ]
    for counts, expected in cases:
        assert verdict("convconv_second", {"negative_pairs": pairs_table(counts)}) == expected, counts
    assert verdict("convconv_second", {}) == T


# --------------------------------------------------------------------------------------------
# Fig. 3
# --------------------------------------------------------------------------------------------


def attention_table(per_seed: list[list[float]], neg=0.2, empty=None) -> pd.DataFrame:
    rows = []
    for seed, diffs in enumerate(per_seed):
        for d in diffs:
            rows.append({"seed": seed, "diff_attention": d, "diff_authors": d / 10, "att_best": neg + d,
                         "att_neg": neg, "att_empty": empty if empty is not None else neg - d})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("per_seed", "expected"),
    [
        ([[0.2, 0.3], [0.25, 0.2], [0.3, 0.2]], R),
        ([[0.5, 0.5], [-0.3, -0.1], [0.2, 0.1]], P),
        ([[-0.2, -0.3], [-0.25, -0.2], [-0.3, -0.2]], N),
        ([[0.2, 0.3]], T),  # one seed
    ],
)
def test_attention_best_layers(per_seed, expected):
    assert verdict("attention_best_layers", {"attention": attention_table(per_seed)}) == expected


@pytest.mark.parametrize(("diff", "expected"), [(0.2, R), (0.05, P), (0.6, P), (-0.1, N)])
def test_attention_mean(diff, expected):
    assert verdict("attention_mean", {"attention": attention_table([[diff] * 6, [diff] * 6])}) == expected


def test_attention_mean_needs_enough_pairs():
    assert verdict("attention_mean", {"attention": attention_table([[0.2] * 3])}) == T
    assert verdict("attention_mean", {}) == T


def test_negative_above_empty():
    up = [[0.1, 0.2], [0.15, 0.1], [0.2, 0.1]]  # att_empty = att_neg - diff
    assert verdict("negative_above_empty", {"attention": attention_table(up)}) == R
    mixed = [[0.5, 0.5], [-0.3, -0.1], [0.2, 0.1]]
    assert verdict("negative_above_empty", {"attention": attention_table(mixed)}) == P
    down = [[-0.1, -0.2], [-0.15, -0.1], [-0.2, -0.1]]
    assert verdict("negative_above_empty", {"attention": attention_table(down)}) == N
    assert verdict("negative_above_empty", {"attention": attention_table([[0.1, 0.2]])}) == T
    old = attention_table(up).drop(columns=["att_neg", "att_empty"])  # a table of older code
    claim = rules.judge_one("negative_above_empty", {"attention": old}, "laptop")
    assert claim.verdict == T and "lacks" in claim.why
    full = attention_table(up).assign(att_empty=float("nan"))  # every model filled all its slots
    assert verdict("negative_above_empty", {"attention": full}) == T


# --------------------------------------------------------------------------------------------
# coverage and the experiments' tables
# --------------------------------------------------------------------------------------------


def test_judge_covers_the_yaml():
    claims = trl.judge({}, "smoke")
    spec = paper_values("trl_hpo")["claims"]
    assert list(claims.id) == [c["id"] for c in spec]
    untestable = {c["id"] for c in spec if c.get("testable", True) is False}
    assert untestable and set(rules.rules) == {c["id"] for c in spec} - untestable
    assert (claims.verdict == NOT_TESTABLE).all()  # no tables: nothing can be decided


TINY = dataclasses.replace(
    trl.SCALES["smoke"],
    training=trl.CandidateTraining(n_train=64, n_val=64, epochs=1, perf_batches=4, perf_batch_size=16),
    min_accuracy=0.0,
)


def test_run_makes_the_tables_the_rules_read():
    tables = experiments.run("smoke", 0, cfg=TINY)
    assert {"steps", "runs", "negative_pairs", "attention", "controller_cost", "anytime", "ddpg_losses"} <= set(tables)
    runs = tables["runs"]
    assert set(runs.policy) == set(trl.POLICIES) and {"acc_time", "n_train", "epochs"} <= set(runs.columns)
    assert {"att_neg", "att_empty", "diff_attention"} <= set(tables["attention"].columns)
    # the baselines train (at least) TRL-HPO's budget of candidates
    trained = runs.set_index("policy").trained
    assert (trained >= trained["trl"]).all()
    claims = trl.judge(tables, "smoke").set_index("id")
    for claim_id in ("acctime_advantage", "controller_params", "controller_flops", "first_layer_highest_reward"):
        assert claims.verdict[claim_id] != NOT_TESTABLE, claim_id
    table2 = trl.table2(runs, "smoke")
    assert len(table2) == 6 and "TRL-HPO (ours, smoke)" in table2.index
    both = trl.table2({"smoke": runs, "deciding": runs})  # a build's runs beside a recorded run
    assert len(both) == 9 and list(both.index[-3:]) == [
        f"{m} (ours, deciding)" for m in ("TRL-HPO", "random search", "MetaQNN")
    ]
    with pytest.raises(ValueError, match="'scale'"):
        trl.table2(runs)
