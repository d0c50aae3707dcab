"""Result tables: atomic writes, provenance, tamper and staleness detection, scales."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from edgelearn import exp3, results, scales


def frame():
    return pd.DataFrame({"run": [0, 0, 1], "t": [1, 2, 1], "regret": [0.5, 0.25, 1.0]})


def test_round_trip_with_provenance(results_dir):
    rec = results.Recorder("demo", "smoke", seeds=[0, 1], data_source="synthetic", config={"K": 3})
    path = rec.save("table", frame())
    assert path == results_dir / "demo" / "smoke" / "table.csv"
    df, meta = results.load_table("demo", "smoke", "table", require_current=True)
    pd.testing.assert_frame_equal(df, frame())
    for key in ("git_commit", "source_hash", "packages", "scale", "seeds", "data_source", "wall_time_s", "device",
                "config", "table_sha256"):
        assert key in meta
    assert meta["packages"]["numpy"] and meta["scale"] == "smoke" and meta["seeds"] == [0, 1]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_edited_table_is_detected(results_dir):
    path = results.Recorder("demo", "smoke", seeds=0, data_source="x").save("table", frame())
    path.write_text(path.read_text().replace("0.25", "0.3"))
    with pytest.raises(results.StaleResultError, match="half-written or edited"):
        results.load_table("demo", "smoke", "table")


def test_table_from_other_code_is_refused_where_freshness_matters(results_dir):
    path = results.Recorder("demo", "smoke", seeds=0, data_source="x").save("table", frame())
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["source_hash"] = "000000000000"
    meta_path.write_text(json.dumps(meta))
    results.load_table("demo", "smoke", "table")  # fine when freshness is not required
    with pytest.raises(results.StaleResultError, match="re-run"):
        results.load_table("demo", "smoke", "table", require_current=True)


def test_missing_result_says_how_to_make_it(results_dir):
    with pytest.raises(FileNotFoundError, match="make book SCALE=smoke"):
        results.load_table("demo", "smoke", "nothing")


@pytest.mark.parametrize("paper, name", [("", "t"), ("../x", "t"), ("demo", "a/b"), ("demo", ".hidden")])
def test_bad_names_raise(results_dir, paper, name):
    with pytest.raises(ValueError):
        results.table_path(paper, "smoke", name)


def test_empty_table_raises(results_dir):
    with pytest.raises(ValueError, match="non-empty"):
        results.save_table(pd.DataFrame(), "demo", "smoke", "t", {})


def test_unknown_scale_names_the_valid_ones():
    with pytest.raises(ValueError, match="smoke, laptop, paper"):
        scales.check_scale("huge")
    with pytest.raises(ValueError, match="'scale'"):
        exp3.scale_config("Laptop")


def test_every_scale_is_defined_and_grows():
    configs = [exp3.scale_config(name) for name in scales.SCALE_NAMES]
    horizons = [c.horizon for c in configs]
    assert horizons == sorted(horizons)


def test_source_hash_is_stable():
    assert results.source_hash() == results.source_hash()
    assert len(results.source_hash()) == 12
