"""Recorded runs: resumable maps, `make record`'s runner, and recorded results that are loaded
with the modules changed since they were made (never refused, never shown as current)."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from edgelearn.core import record
from edgelearn.core.pool import resumable_map
from edgelearn.core.record import ALL_SCALES
from edgelearn.core.store import DiskCache


def square_and_mark(folder: str, k: int) -> int:
    """A task that leaves a file for every time it runs."""
    marks = Path(folder)
    n = len(list(marks.glob(f"{k}-*")))
    (marks / f"{k}-{n}").touch()
    return k * k


def test_resumable_map_computes_only_the_tasks_it_has_not_kept(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    cache = DiskCache(tmp_path / "cache", "edgelearn.core.pool")
    tasks = [(str(marks), k) for k in range(5)]
    seen = []
    assert resumable_map(square_and_mark, tasks, cache, workers=2, progress=seen.append) == [0, 1, 4, 9, 16]
    assert sorted(seen) == [0, 1, 4, 9, 16] and len(list(marks.iterdir())) == 5
    cache.path(tasks[3]).unlink()  # as if the run had been killed before task 3 finished
    assert resumable_map(square_and_mark, tasks, cache, workers=2) == [0, 1, 4, 9, 16]
    assert sorted(p.name for p in marks.iterdir()) == ["0-0", "1-0", "2-0", "3-0", "3-1", "4-0"]
    assert resumable_map(square_and_mark, tasks, None, backend="serial") == [0, 1, 4, 9, 16]  # no cache: plain map


def test_record_writes_tables_claims_and_summary_and_loads_them_back(tmp_path, monkeypatch):
    monkeypatch.setattr(record, "checkpoints_root", lambda: tmp_path / "checkpoints")
    summary = record.record("ats", "smoke", root=tmp_path / "recorded", workers=1, backend="serial")
    folder = tmp_path / "recorded" / "ats" / "smoke"
    assert {"episodes", "psi", "claims"} <= set(summary["tables"])
    assert json.loads((folder / "RECORD.json").read_text())["wall_time_s"] == summary["wall_time_s"]
    assert any((tmp_path / "checkpoints" / "ats" / "smoke").glob("*.pkl")), "the runs were not kept for a resume"
    assert not (tmp_path / "recorded" / ".partial").exists(), "the staging folder was left behind"
    loaded = record.load_recorded("ats", "smoke", root=tmp_path / "recorded")
    assert loaded.current and set(loaded.tables) >= {"episodes", "claims"}
    assert len(loaded.tables["claims"]) == 10
    # the same run again resumes from the kept runs and gives the same tables
    again = record.record("ats", "smoke", root=tmp_path / "recorded", workers=1, backend="serial")
    assert again["tables"] == summary["tables"]
    episodes = pd.read_csv(folder / "episodes.csv")
    pd.testing.assert_frame_equal(
        episodes.drop(columns=[c for c in episodes if "second" in c or c.endswith("_s")]),
        loaded.tables["episodes"].drop(columns=[c for c in episodes if "second" in c or c.endswith("_s")]),
    )
    assert "unchanged" in loaded.provenance()["code since"]
    # compute: every table's own units of work, one after the other (a resumed run's earlier part included)
    assert again["compute_s"] == pytest.approx(
        sum(json.loads(p.read_text())["wall_time_s"] for p in folder.glob("*.json") if p.name != "RECORD.json"), abs=0.5
    )
    assert "core-hours" in loaded.provenance()["compute"]
    assert "resuming" not in loaded.provenance()["wall time"]
    # the data source and the package versions, as every table of the run records them
    assert loaded.provenance()["data source"].startswith("simulated")
    assert f"torch {torch.__version__.split('+')[0]}" in loaded.provenance()["packages"]
    assert "unchanged since" in record.recorded_note("ats", loaded)
    assert loaded.summary["code"]["method"] == record.RECORD_METHOD and loaded.summary["config"]["episodes"] == 4
    # the verdicts are judged again by today's rules when the run is loaded
    monkeypatch.setattr(
        "edgelearn.ats.claims.judge", lambda tables, scale: pd.DataFrame({"id": ["x"], "n": [len(tables)]})
    )
    assert (
        record.load_recorded("ats", "smoke", root=tmp_path / "recorded").tables["claims"].n.item()
        == len(summary["tables"]) - 1
    )
    monkeypatch.undo()
    # code that computes nothing (saving, loading, verdicts) edited since: still current
    meta = json.loads((folder / "RECORD.json").read_text())
    for module in (*record.NOT_COMPUTING, "edgelearn.ats.claims", "edgelearn.core.scorecard"):
        meta["code"]["files"][module] = "0" * 12
    (folder / "RECORD.json").write_text(json.dumps(meta))
    assert record.load_recorded("ats", "smoke", root=tmp_path / "recorded").current
    # code that computes the numbers edited since: loaded, and says which modules changed
    meta["code"]["files"]["edgelearn.ats.mec"] = "0" * 12
    (folder / "RECORD.json").write_text(json.dumps(meta))
    stale = record.load_recorded("ats", "smoke", root=tmp_path / "recorded")
    assert not stale.current and stale.changed == ["edgelearn.ats.mec"]
    assert "Made by older code" in record.recorded_note("ats", stale) and "edgelearn.ats.mec" in record.recorded_note(
        "ats", stale
    )
    assert "changed: edgelearn.ats.mec" in stale.provenance()["code since"]
    # the configuration of its scale changed since (compared by value, not by the code's fingerprint)
    meta["config"]["episodes"] = 5
    (folder / "RECORD.json").write_text(json.dumps(meta))
    stale = record.load_recorded("ats", "smoke", root=tmp_path / "recorded")
    assert stale.changed == ["edgelearn.ats.mec", "the configuration of the smoke scale (edgelearn.ats.SCALES)"]
    assert "the configuration of the smoke scale" in record.recorded_note("ats", stale)
    meta["config"]["episodes"] = 4
    assert "No run of this chapter" in record.recorded_note("ats", None)
    (folder / "RECORD.json").write_text(json.dumps(meta))
    monkeypatch.setenv(record.RECORDED_ENV, str(tmp_path / "recorded"))
    assert record.load_recorded("ats", "smoke").changed == ["edgelearn.ats.mec"]  # $EDGELEARN_RECORDED_DIR


@pytest.mark.parametrize("paper", ["exp3", "slicing"])
def test_record_runs_exp3_and_slicing_resumably(paper, tmp_path, monkeypatch):
    if paper == "slicing":
        from edgelearn.core.data import DataUnavailableError, load_dataset

        try:
            load_dataset("mnist", "test", download=False)
        except DataUnavailableError:
            pytest.skip("no local MNIST test set")
    monkeypatch.setattr(record, "checkpoints_root", lambda: tmp_path / "checkpoints")
    summary = record.record(paper, "smoke", root=tmp_path / "recorded", workers=1, backend="serial")
    assert "claims" in summary["tables"] and "regret_curves" in summary["tables"]
    assert any((tmp_path / "checkpoints" / paper / "smoke").glob("*.pkl")), "the units were not kept for a resume"
    loaded = record.load_recorded(paper, "smoke", root=tmp_path / "recorded")
    assert loaded.current and loaded.summary["seeds"]["base_seed"] == 0
    assert loaded.tables["claims"].verdict.notna().all()


def test_a_killed_record_leaves_the_last_complete_one_as_it_was(tmp_path, monkeypatch):
    from edgelearn.ats import experiments

    monkeypatch.setattr(record, "checkpoints_root", lambda: tmp_path / "checkpoints")
    folder = tmp_path / "recorded" / "ats" / "smoke"
    folder.mkdir(parents=True)
    (folder / "RECORD.json").write_text('{"complete": true}')

    def killed(scale, seed, recorder, **options):
        recorder.save("episodes", pd.DataFrame({"episode": [0]}))
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments, "run", killed)
    with pytest.raises(KeyboardInterrupt):
        record.record("ats", "smoke", root=tmp_path / "recorded", workers=1, backend="serial")
    assert sorted(p.name for p in folder.iterdir()) == ["RECORD.json"]  # nothing half-written beside it
    assert json.loads((folder / "RECORD.json").read_text()) == {"complete": True}


def test_record_names_bad_input():
    assert "deciding" in ALL_SCALES
    with pytest.raises(ValueError, match="'paper' must be one of"):
        record.record("nope", "smoke")
    with pytest.raises(ValueError, match="scale"):
        record.record("ats", "huge")
    scales = {paper: getattr(importlib.import_module(f"edgelearn.{paper}"), "SCALES", None) for paper in record.PAPERS}
    lacking = [paper for paper, names in scales.items() if names is not None and "deciding" not in tuple(names)]
    for paper in lacking[:1]:  # a chapter without a deciding scale is refused by name
        with pytest.raises(ValueError, match=f"{paper} defines no 'deciding' scale yet"):
            record.record(paper, "deciding")
    for paper in ("exp3", "slicing", "ma2ml", "trl_hpo", "od3", "ats"):  # those with one are not
        assert paper not in lacking
        experiments, _ = record._chapter(paper, "deciding")
        assert {"workers", "backend", "checkpoints"} <= set(inspect.signature(experiments.run).parameters)
    assert record.load_recorded("ats", "smoke", root=Path("/nonexistent")) is None


def test_the_scorecard_shows_recorded_verdicts_and_marks_stale_ones(tmp_path, monkeypatch, results_dir):
    from edgelearn.core import scorecard
    from edgelearn.core.results import Recorder

    monkeypatch.setattr(record, "recorded_root", lambda: tmp_path / "recorded")
    card = scorecard.scorecard("smoke", ["exp3"])
    assert set(card.recorded_verdict) == {scorecard.NOT_RECORDED}
    assert "Recorded" not in scorecard.card_html(card)  # no column while nothing is recorded
    with record.results_in(tmp_path / "recorded"):
        rec = Recorder("exp3", "deciding", seeds=0, data_source="test")
        claims = [scorecard.Claim("regret_bound", scorecard.PARTLY, "ratio 1.1", "test", "above 1")]
        rec.save("claims", scorecard.claims_frame("exp3", claims))
    summary = {"paper": "exp3", "scale": "deciding", "code": rec.base["code"]}
    (tmp_path / "recorded" / "exp3" / "deciding" / "RECORD.json").write_text(json.dumps(summary))
    card = scorecard.scorecard("smoke", ["exp3"]).set_index("claim_id")
    assert card.loc["regret_bound", "recorded_verdict"] == scorecard.PARTLY
    assert card.loc["sqrt_growth", "recorded_verdict"] == scorecard.NOT_RECORDED
    html = scorecard.card_html(card.reset_index())
    assert "Recorded (deciding)" in html and "ratio 1.1" in html and "made by older code" not in html
    runs = record.recorded_runs()
    assert runs.paper.tolist() == ["exp3"] and runs.current.item() and runs.claims.item() == 1
    summary["code"]["files"]["edgelearn.exp3.exp3"] = "0" * 12
    (tmp_path / "recorded" / "exp3" / "deciding" / "RECORD.json").write_text(json.dumps(summary))
    assert "made by older code" in scorecard.card_html(scorecard.scorecard("smoke", ["exp3"]))
    assert record.recorded_runs().changed.item() == "edgelearn.exp3.exp3"


def test_verdict_changes_lists_the_claims_a_recorded_run_decides_otherwise():
    from edgelearn.core import scorecard as sc

    card = pd.DataFrame(
        {
            "paper": ["p"] * 5,
            "claim_id": ["same", "decided", "reversed", "unrecorded", "unrun"],
            "claim": ["c"] * 5,
            "scale": ["laptop"] * 5,
            "verdict": [sc.REPRODUCED, sc.NOT_TESTABLE, sc.REPRODUCED, sc.PARTLY, sc.NOT_RUN],
            "ours": ["1", "2", "3", "4", ""],
            "recorded_scale": ["deciding"] * 5,
            "recorded_verdict": [sc.REPRODUCED, sc.REPRODUCED, sc.NOT_REPRODUCED, sc.NOT_RECORDED, sc.REPRODUCED],
            "recorded_ours": ["1", "2b", "3b", "", "5"],
        }
    )
    changes = sc.verdict_changes(card)
    assert changes.claim_id.tolist() == ["decided", "reversed"]
    assert changes.loc[1, ["verdict", "recorded_verdict"]].tolist() == [sc.REPRODUCED, sc.NOT_REPRODUCED]
    assert sc.verdict_changes(card[card.claim_id == "same"]).empty
    # the chapter's sentence: the changed claims with both verdicts, none, or no recorded run
    note = sc.changes_note(card.assign(claim=card.claim_id))
    assert "- decided: *not testable here* at laptop, *reproduced* at deciding" in note and "- reversed:" in note
    # the scorecard's list: under the paper's title, with what each run measured, markup escaped
    full = sc.changes_note(card.assign(claim=card.claim_id, ours="a [b]_c"), with_values=True)
    assert full.startswith("**p**\n") and "- reversed: *reproduced* at laptop (a \\[b\\]\\_c); *not reproduced*" in full
    unmeasured = sc.changes_note(card.assign(claim=card.claim_id, ours=""), with_values=True)
    assert "- reversed: *reproduced* at laptop; *not reproduced* at deciding (3b)" in unmeasured
    assert "- same" not in note and "- unrun" not in note
    assert "confirm every verdict" in sc.changes_note(card[card.claim_id == "same"])
    assert "No run is recorded" in sc.changes_note(card.assign(recorded_verdict=sc.NOT_RECORDED))


def test_every_recorded_run_in_git_loads_and_is_current_or_marked(results_dir):
    """Judged beside an empty results folder (``results_dir``): whatever laptop results a developer's
    tree holds, current or not, the recorded runs must load and be marked when stale."""
    from edgelearn.core import scorecard

    found = sorted(record.recorded_root().glob("*/*/RECORD.json"))
    for summary in found:
        paper, scale = summary.parent.parent.name, summary.parent.name
        loaded = record.load_recorded(paper, scale)
        assert loaded is not None and "claims" in loaded.tables, summary
        html = scorecard.card_html(scorecard.scorecard("laptop", [paper], recorded_scale=scale))
        assert loaded.current or "made by older code" in html, f"{paper}/{scale}: stale and not marked"
