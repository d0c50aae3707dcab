"""Paper values and the scorecard join."""

from __future__ import annotations

import pytest

from edgelearn.core import scorecard
from edgelearn.core.results import Recorder


def test_every_paper_file_is_valid():
    files = sorted(scorecard.paper_dir().glob("*.yaml"))
    assert files, "data/paper holds no paper values"
    for path in files:
        spec = scorecard.paper_values(path.stem)
        assert spec["paper"] == path.stem
        assert spec["claims"]


def test_claims_must_exist_in_the_paper_file():
    with pytest.raises(ValueError, match="not in data/paper/exp3.yaml"):
        scorecard.claims_frame("exp3", [scorecard.Claim("no_such_claim", "1", "reproduced")])
    with pytest.raises(ValueError, match="verdict"):
        scorecard.Claim("regret_bound", "1", "sort of")
    with pytest.raises(FileNotFoundError, match="known papers"):
        scorecard.paper_values("no-such-paper")


def test_scorecard_marks_missing_results_not_run_and_joins_present_ones(results_dir):
    card = scorecard.scorecard("smoke", ["exp3"])
    assert set(card.verdict) == {scorecard.NOT_RUN}
    claims = [scorecard.Claim("regret_bound", "ratio 0.5", "reproduced", "test")]
    Recorder("exp3", "smoke", seeds=0, data_source="test").save("claims", scorecard.claims_frame("exp3", claims))
    card = scorecard.scorecard("smoke", ["exp3"]).set_index("claim_id")
    assert card.loc["regret_bound", "verdict"] == "reproduced"
    assert card.loc["regret_bound", "ours"] == "ratio 0.5"
    assert card.loc["sqrt_growth", "verdict"] == scorecard.NOT_RUN
