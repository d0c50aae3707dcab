"""Result tables: atomic writes, provenance, tamper and staleness detection, scales."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from edgelearn import exp3
from edgelearn.core import results, scales


def frame():
    return pd.DataFrame({"run": [0, 0, 1], "t": [1, 2, 1], "regret": [0.5, 0.25, 1.0]})


def test_round_trip_with_provenance(results_dir):
    rec = results.Recorder("exp3", "smoke", seeds=[0, 1], data_source="synthetic", config={"K": 3})
    path = rec.save("table", frame())
    assert path == results_dir / "exp3" / "smoke" / "table.csv"
    df, meta = results.load_result("exp3", "smoke", "table", require_current=True)
    pd.testing.assert_frame_equal(df, frame())
    for key in (
        "git_commit",
        "code",
        "packages",
        "scale",
        "seeds",
        "data_source",
        "wall_time_s",
        "device",
        "config",
        "table_sha256",
    ):
        assert key in meta
    assert meta["packages"]["numpy"] and meta["scale"] == "smoke" and meta["seeds"] == [0, 1]
    # the result depends on the EXP3 package and what it imports, and on nothing of the other papers
    assert meta["code"]["modules"] == ["edgelearn.exp3"]
    assert "edgelearn.exp3.exp3" in meta["code"]["files"]
    assert not any(m.startswith(("edgelearn.od3", "edgelearn.ma2ml")) for m in meta["code"]["files"])
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_edited_table_is_detected(results_dir):
    path = results.Recorder("exp3", "smoke", seeds=0, data_source="x").save("table", frame())
    path.write_text(path.read_text().replace("0.25", "0.3"))
    with pytest.raises(results.StaleResultError, match="half-written or edited"):
        results.load_result("exp3", "smoke", "table")


def test_table_from_other_code_is_refused_where_freshness_matters(results_dir):
    path = results.Recorder("exp3", "smoke", seeds=0, data_source="x").save("table", frame())
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["code"]["files"]["edgelearn.exp3.bandits"] = "000000000000"
    meta_path.write_text(json.dumps(meta))
    results.load_result("exp3", "smoke", "table")  # fine when freshness is not required
    with pytest.raises(results.StaleResultError, match=r"changed since: edgelearn\.exp3\.bandits\)"):
        results.load_result("exp3", "smoke", "table", require_current=True)


def test_missing_result_says_how_to_make_it(results_dir):
    with pytest.raises(FileNotFoundError, match="make book SCALE=smoke"):
        results.load_result("exp3", "smoke", "nothing")


@pytest.mark.parametrize("paper, name", [("", "t"), ("../x", "t"), ("demo", "a/b"), ("demo", ".hidden")])
def test_bad_names_raise(results_dir, paper, name):
    with pytest.raises(ValueError):
        results.result_path(paper, "smoke", name)


def test_empty_table_and_missing_fingerprint_raise(results_dir, tmp_path):
    with pytest.raises(ValueError, match="non-empty"):
        results.save_result(pd.DataFrame(), "demo", "smoke", "t", {"code": {}})
    with pytest.raises(ValueError, match="code fingerprint"):
        results.write_table(tmp_path / "t.csv", frame(), {"scale": "smoke"})
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_recorder_for_unknown_modules_raises(results_dir):
    with pytest.raises(ValueError, match="'modules'"):
        results.Recorder("no_such_paper", "smoke", seeds=0, data_source="x")


def test_unknown_scale_names_the_valid_ones():
    with pytest.raises(ValueError, match="smoke, laptop, paper"):
        scales.check_scale("huge")
    with pytest.raises(ValueError, match="'scale'.*smoke, laptop, paper"):
        exp3.SCALES["Laptop"]


def test_scales_mapping_requires_every_scale_and_allows_more():
    with pytest.raises(ValueError, match="missing \\['paper'\\]"):
        scales.Scales(smoke=1, laptop=2)
    table = scales.Scales(smoke=1, laptop=2, paper=3, decide=4)
    assert list(table) == ["smoke", "laptop", "paper", "decide"] and table["decide"] == 4 and len(table) == 4
    with pytest.raises(ValueError, match="smoke, laptop, paper, decide"):
        table["huge"]


def test_every_scale_is_defined_and_grows():
    horizons = [exp3.SCALES[name].horizon for name in scales.SCALE_NAMES]
    assert horizons == sorted(horizons) and horizons[0] < horizons[-1]


def test_data_sources_are_recorded_without_this_machines_folders(results_dir):
    from pathlib import Path

    from edgelearn.core.results import Recorder, portable, repo_root

    beside = repo_root().parent / "shared" / "datasets" / "mnist"
    assert portable(f"read from {beside}; cache {Path.home()}/x") == "read from ../shared/datasets/mnist; cache ~/x"
    rec = Recorder("exp3", "smoke", seeds=0, data_source=f"files in {repo_root()}/data")
    rec.set_data_source(f"test set; read from {beside}")
    assert rec.base["data_source"] == "test set; read from ../shared/datasets/mnist"


def test_large_tables_are_stored_compressed_and_read_back_alike(tmp_path, monkeypatch):
    big = pd.DataFrame({"run": range(2000), "regret": [i / 7 for i in range(2000)]})
    prov = {"code": {}, "scale": "smoke"}
    plain = results.write_table(tmp_path / "plain.csv", big, prov)
    assert plain == tmp_path / "plain.csv" and plain.is_file()  # under COMPRESS_OVER: a plain CSV
    monkeypatch.setattr(results, "COMPRESS_OVER", 1000)
    path = results.write_table(tmp_path / "t.csv", big, prov)
    xz = tmp_path / "t.csv.xz"
    assert path == tmp_path / "t.csv" and xz.is_file() and not path.exists() and results.table_file(path) == xz
    first = xz.read_bytes()
    results.write_table(tmp_path / "t.csv", big, prov)
    assert xz.read_bytes() == first  # reproducible bytes
    df, meta = results.read_table(path)
    pd.testing.assert_frame_equal(df, big)
    assert (
        meta["table"] == "t.csv.xz"
        and meta["table_sha256"] == json.loads(results.meta_path(plain).read_text())["table_sha256"]
    )  # the checksum is of the CSV text, however it is stored
    # written again small, it becomes a plain CSV and the compressed file goes
    results.write_table(path, frame(), prov)
    assert path.is_file() and not xz.exists() and len(results.read_table(path)[0]) == 3
    # a table stored gzip-compressed by an earlier version is read alike, and replaced on the next write
    import gzip
    import lzma

    gz = tmp_path / "t.csv.gz"
    results.write_table(path, big, prov, compress=True)
    gz.write_bytes(gzip.compress(lzma.decompress(xz.read_bytes()), mtime=0))
    xz.unlink()
    assert results.table_file(path) == gz
    pd.testing.assert_frame_equal(results.read_table(path)[0], big)
    results.write_table(path, big, prov)
    assert xz.is_file() and not gz.exists()
    # an edited compressed table is detected like a plain one
    xz.write_bytes(lzma.compress(lzma.decompress(xz.read_bytes()).replace(b"0.5", b"0.6")))
    with pytest.raises(results.StaleResultError, match="half-written or edited"):
        results.read_table(path)
