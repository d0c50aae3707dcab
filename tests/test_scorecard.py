"""Paper values, the claim-rule registry, the verdict helpers and the scorecard join."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgelearn.core import scorecard
from edgelearn.core.results import Recorder
from edgelearn.core.scorecard import NOT_REPRODUCED, NOT_TESTABLE, PARTLY, REPRODUCED, Claim, ClaimRules, linear_rate
from edgelearn.core.stats import paired_difference


def test_every_paper_file_is_valid():
    files = sorted(scorecard.paper_dir().glob("*.yaml"))
    assert files, "data/paper holds no paper values"
    for path in files:
        spec = scorecard.paper_values(path.stem)
        assert spec["paper"] == path.stem
        assert spec["claims"]
        assert spec["kind"] in scorecard.KINDS
    assert scorecard.paper_values("exp3")["kind"] == "textbook"


def test_claims_must_exist_in_the_paper_file():
    with pytest.raises(ValueError, match="not in data/paper/exp3.yaml"):
        scorecard.claims_frame("exp3", [Claim("no_such_claim", REPRODUCED, "1")])
    with pytest.raises(ValueError, match="verdict"):
        Claim("regret_bound", "sort of")
    with pytest.raises(ValueError, match="reason"):
        Claim("regret_bound", NOT_TESTABLE)
    with pytest.raises(FileNotFoundError, match="known papers"):
        scorecard.paper_values("no-such-paper")


def test_scorecard_marks_missing_results_not_run_and_joins_present_ones(results_dir):
    card = scorecard.scorecard("smoke", ["exp3"])
    assert set(card.verdict) == {scorecard.NOT_RUN}
    claims = [Claim("regret_bound", REPRODUCED, "ratio 0.5", "test", "below 1")]
    Recorder("exp3", "smoke", seeds=0, data_source="test").save("claims", scorecard.claims_frame("exp3", claims))
    card = scorecard.scorecard("smoke", ["exp3"]).set_index("claim_id")
    assert card.loc["regret_bound", "verdict"] == REPRODUCED
    assert card.loc["regret_bound", "ours"] == "ratio 0.5"
    assert card.loc["regret_bound", "why"] == "below 1"
    assert card.loc["sqrt_growth", "verdict"] == scorecard.NOT_RUN


def test_headline_counts_papers_apart_from_textbook_checks():
    card = pd.DataFrame(
        {
            "paper": ["a", "a", "b", "b", "b", "t"],
            "kind": ["paper"] * 5 + ["textbook"],
            "verdict": [REPRODUCED, NOT_TESTABLE, PARTLY, NOT_REPRODUCED, REPRODUCED, REPRODUCED],
        }
    )
    table = scorecard.headline(card)
    assert list(table.index) == ["a", "b", "papers (total)", "t"]
    assert table.loc["papers (total)", REPRODUCED] == 2 and table.loc["papers (total)", NOT_TESTABLE] == 1
    assert table.loc["papers (total)", "claims"] == 5 and table.loc["t", "claims"] == 1
    assert scorecard.NOT_RUN not in table.columns


def test_graded_reaches_every_verdict_both_ways():
    assert [scorecard.graded(v, 0.9, 0.5) for v in (0.95, 0.7, 0.1)] == [REPRODUCED, PARTLY, NOT_REPRODUCED]
    lower = [scorecard.graded(v, 1.0, 2.0, higher_is_better=False) for v in (0.5, 1.5, 3.0)]
    assert lower == [REPRODUCED, PARTLY, NOT_REPRODUCED]
    with pytest.raises(ValueError, match="out of order"):
        scorecard.graded(1.0, 0.5, 0.9)


@pytest.mark.parametrize(
    ("shift", "higher", "expected"),
    [
        (1.0, True, REPRODUCED),
        (-1.0, True, NOT_REPRODUCED),
        (0.05, True, PARTLY),
        (-0.05, True, NOT_REPRODUCED),
        (-1.0, False, REPRODUCED),
        (0.05, False, NOT_REPRODUCED),
        (-0.05, False, PARTLY),
    ],
)
def test_beats_verdict_from_a_paired_interval(shift, higher, expected):
    noise = np.random.default_rng(0).normal(0, 0.5, 8)
    comparison = paired_difference(np.zeros(8) + shift + noise, noise[::-1])
    verdict, why = scorecard.beats_verdict(comparison, "A", "B", higher_is_better=higher)
    assert verdict == expected, (comparison, why)
    assert "paired t" in why


def _rules_for_exp3() -> ClaimRules:
    rules = ClaimRules("exp3")
    for claim in scorecard.paper_values("exp3")["claims"]:
        if claim.get("testable", True) is False:
            continue

        @rules.claim(claim["id"])
        def rule(results, scale, cid=claim["id"]):
            value = float(results["x"].value.iloc[0])
            return Claim(cid, scorecard.graded(value, 1.0, 0.5), f"{value:.1f}", f"scale {scale}", "threshold")

    return rules


def test_claim_rules_judge_every_yaml_claim_and_check_coverage():
    rules = _rules_for_exp3()
    table = rules.judge({"x": pd.DataFrame({"value": [0.7]})}, "smoke")
    assert list(table.id) == [c["id"] for c in scorecard.paper_values("exp3")["claims"]]
    untestable = {c["id"] for c in scorecard.paper_values("exp3")["claims"] if c.get("testable", True) is False}
    assert untestable, "exp3.yaml should hold a claim marked 'testable: false' for this test"
    assert set(table.set_index("id").verdict[sorted(untestable)]) == {NOT_TESTABLE}
    assert set(table[~table.id.isin(untestable)].verdict) == {PARTLY}
    assert list(table.columns) == ["id", "verdict", "ours", "measured", "why"]
    rules.rules[sorted(untestable)[0]] = rules.rules["sqrt_growth"]
    with pytest.raises(ValueError, match="marked 'testable: false' that have a rule"):
        rules.check()
    del rules.rules[sorted(untestable)[0]]
    del rules.rules["regret_bound"]
    with pytest.raises(ValueError, match="neither a rule nor 'testable: false'.*regret_bound"):
        rules.judge({"x": pd.DataFrame({"value": [0.7]})}, "smoke")
    rules.rules["no_such"] = rules.rules["sqrt_growth"]
    with pytest.raises(ValueError, match="not in the YAML"):
        rules.check()
    with pytest.raises(ValueError, match="two rules"):
        rules.claim("sqrt_growth")(lambda results, scale: None)


def test_a_rule_must_answer_for_its_own_claim():
    rules = ClaimRules("exp3")
    rules.claim("regret_bound")(lambda results, scale: Claim("sqrt_growth", REPRODUCED))
    with pytest.raises(TypeError, match="regret_bound"):
        rules.judge_one("regret_bound", {}, "smoke")
    with pytest.raises(KeyError, match="no rule"):
        rules.judge_one("adversarial", {}, "smoke")


def test_card_html_shows_one_coloured_verdict_cell_per_claim():
    card = scorecard.scorecard("smoke", ["exp3"], recorded_scale=None)  # no recorded column
    html = scorecard.card_html(card)
    assert html.count("background-color") == len(card)
    assert "&lt;" in scorecard.card_html(card.assign(claim="<b>"))  # escaped


def test_unavailable_and_too_few_seeds_name_what_is_missing():
    results = {"runs": pd.DataFrame({"seed": [0, 1], "reward": [1.0, 2.0]}), "empty": pd.DataFrame()}
    assert scorecard.unavailable("c", results, {"runs": ["reward"]}) is None
    assert "no 'curves' table" in scorecard.unavailable("c", results, ["curves"]).why
    assert "no 'empty' table" in scorecard.unavailable("c", results, ["empty"]).why
    lacks = scorecard.unavailable("c", results, {"runs": ["reward", "time"]})
    assert lacks.verdict == NOT_TESTABLE and "['time']" in lacks.why
    assert scorecard.too_few_seeds("c", 2) is None
    assert "1 seed: a paired interval needs at least 2" == scorecard.too_few_seeds("c", 1).why


def test_beats_claim_pairs_by_seed_and_reaches_every_verdict():
    a = pd.Series([1.0, 1.2, 0.9, 1.1], index=[3, 0, 1, 2])
    b = pd.Series([0.1, 0.0, 0.2, 0.1], index=[0, 1, 2, 3])
    win = scorecard.beats_claim("c", a, b, "A", "B", measured="runs")
    assert win.verdict == REPRODUCED and "paired t over 4 seeds" in win.ours and win.measured == "runs"
    assert scorecard.beats_claim("c", b, a, "B", "A").verdict == NOT_REPRODUCED
    assert scorecard.beats_claim("c", a, b, "A", "B", higher_is_better=False).verdict == NOT_REPRODUCED
    tie = scorecard.beats_claim("c", b + pd.Series([0.05, -0.02, 0.01, 0.0], index=b.index), b, "A", "B")
    assert tie.verdict == PARTLY
    assert scorecard.beats_claim("c", a.iloc[:1], b, "A", "B").verdict == NOT_TESTABLE


def test_too_few_seeds_names_its_interval_and_keeps_what_it_can_show():
    claim = scorecard.too_few_seeds("c", 1, "runs", interval="a confidence interval", ours="+0.1 on one seed")
    assert claim.why == "1 seed: a confidence interval needs at least 2"
    assert (claim.ours, claim.measured, claim.verdict) == ("+0.1 on one seed", "runs", NOT_TESTABLE)
    assert scorecard.too_few_seeds("c", 0).why == "0 seeds: a paired interval needs at least 2"
    assert scorecard.too_few_seeds("c", 2, minimum=3) is not None


def test_beats_claim_leaves_out_pairs_with_a_missing_value():
    a = pd.Series([1.0, 1.2, float("nan"), 1.1], index=[0, 1, 2, 3])
    b = pd.Series([0.1, 0.0, 0.2, float("nan")], index=[0, 1, 2, 3])
    claim = scorecard.beats_claim("c", a, b, "A", "B", ours="reward", digits=2)
    assert claim.ours.startswith("reward; A - B: +1.05 [") and "paired t over 2 seeds" in claim.ours
    one = scorecard.beats_claim("c", a, b.where(b.index != 1), "A", "B", measured="runs")
    assert one.verdict == NOT_TESTABLE and one.measured == "runs" and one.why.startswith("1 seed:")


def test_linear_rate_splits_a_linear_part_from_a_sqrt_part():
    t = np.array([5e5, 1e6, 1.5e6, 2e6])
    assert linear_rate(t, 0.003 * t + 7.0 * np.sqrt(t)) == pytest.approx(0.003)
    assert linear_rate(t, 7.0 * np.sqrt(t)) == pytest.approx(0.0, abs=1e-12)
    runs = np.stack([0.001 * t, 0.002 * t + np.sqrt(t), 4.0 * np.sqrt(t)])
    np.testing.assert_allclose(linear_rate(t, runs), [0.001, 0.002, 0.0], atol=1e-12)
    assert linear_rate(t, t**0.3) < 0  # flatter than sqrt(t): a negative linear part


@pytest.mark.parametrize(
    "t, y", [([1.0], [1.0]), ([2.0, 2.0], [1.0, 2.0]), ([0.0, 1.0], [0.0, 1.0]), ([1.0, 2.0], [1.0])]
)
def test_linear_rate_rejects_bad_input(t, y):
    with pytest.raises(ValueError, match="'t'|'y'"):
        linear_rate(np.array(t), np.array(y))
