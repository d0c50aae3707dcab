"""The store: atomic writes, the one staleness rule, the disk cache, checkpoints and row logs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from edgelearn.core import store

REPO = Path(__file__).resolve().parents[1]

# What each kind of stored result depends on, as the library records it.
RESULTS = {
    "exp3 results": "edgelearn.exp3",
    "slicing results": "edgelearn.slicing",
    "ma2ml results": "edgelearn.ma2ml",
    "ma2ml joint table": "edgelearn.ma2ml.pipelines",
    "trl_hpo results and checkpoints": "edgelearn.trl_hpo",
    "trl_hpo candidate cache": "edgelearn.trl_hpo.candidates",
    "od3 results": "edgelearn.od3",
    "od3 teacher cache": "edgelearn.od3.od3",
    "ats results": "edgelearn.ats",
}


# --------------------------------------------------------------------------------------------
# The staleness rule, end to end: edit a module of a copy of the library, see which results go stale
# --------------------------------------------------------------------------------------------

_SCRIPT = """
import json, sys
from edgelearn.core import store
assert store.__file__.startswith(sys.argv[1]), store.__file__
spec = json.loads(sys.argv[2])
if sys.argv[3] == "record":
    print(json.dumps({k: store.code_fingerprint(m).as_dict() for k, m in spec.items()}))
else:
    print(json.dumps(sorted(k for k, rec in spec.items() if store.changed_modules(rec))))
"""


def _run(copy: Path, spec: dict, mode: str) -> object:
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(copy / "src"), json.dumps(spec), mode],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def library_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    copy = tmp_path_factory.mktemp("lib")
    shutil.copytree(
        REPO / "src" / "edgelearn", copy / "src" / "edgelearn", ignore=shutil.ignore_patterns("__pycache__")
    )
    return copy, _run(copy, RESULTS, "record")


# edited module -> the results that must go stale (every other one must stay current)
EDITS = {
    "od3/od3.py": {"od3 results", "od3 teacher cache"},
    "trl_hpo/candidates.py": {"trl_hpo candidate cache", "trl_hpo results and checkpoints"},
    "trl_hpo/analysis.py": {"trl_hpo results and checkpoints"},
    "ma2ml/ma2ml.py": {"ma2ml results"},
    "exp3/exp3.py": {"exp3 results", "slicing results"},  # EXP3 is the learner of Slicing for AI
    "ats/mec.py": {"ats results"},
}


@pytest.mark.parametrize("module", sorted(EDITS))
def test_an_edit_makes_exactly_the_dependent_results_stale(library_copy, module):
    copy, recorded = library_copy
    assert _run(copy, recorded, "check") == []  # all current before the edit
    path = copy / "src" / "edgelearn" / module
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n_AN_EDIT = 1\n")
        assert set(_run(copy, recorded, "check")) == EDITS[module]
    finally:
        path.write_bytes(original)
    assert _run(copy, recorded, "check") == []  # the same source is current again


def test_documentation_edits_keep_results_current_and_byte_records_still_compare(library_copy):
    copy, recorded = library_copy
    path = copy / "src" / "edgelearn" / "ats" / "mec.py"
    original = path.read_bytes()
    try:
        text = original.decode()
        first = text.index('"""') + 3
        path.write_text(text[:first] + "A corrected sentence. " + text[first:] + "\n# a comment\n\n")
        assert _run(copy, recorded, "check") == []  # docstrings, comments, blank lines: still current
        # a record without a method (made before it existed) hashed its files as bytes: any edit shows
        legacy = {"ats results": {**_bytes_record(copy, RESULTS["ats results"], original, path)}}
        assert _run(copy, legacy, "check") == ["ats results"]
    finally:
        path.write_bytes(original)


def _bytes_record(copy: Path, module: str, original: bytes, path: Path) -> dict:
    edited = path.read_bytes()
    path.write_bytes(original)
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import json,sys; from edgelearn.core import store; "
                "print(json.dumps(store.code_fingerprint(sys.argv[1], 'bytes').as_dict()))",
                module,
            ],
            env={**os.environ, "PYTHONPATH": str(copy / "src")},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        path.write_bytes(edited)
    record = json.loads(out.stdout)
    del record["method"]
    return record


def test_code_text_drops_comments_docstrings_and_blank_lines_only():
    source = (
        'r"""Módule."""\n\nX = 1  # ünits\n"""X\'s docstring."""\n\n'
        'def f(a):\n    """Doc\n    more."""\n    return a + "#"\n'
    )
    assert store.code_text(source) == 'X = 1\ndef f(a):\n    return a + "#"'
    assert store.code_text(source.replace("a + ", "a * ")) != store.code_text(source)
    with pytest.raises(ValueError, match="'method'"):
        store.code_fingerprint("edgelearn.core.scales", "words")


def test_code_text_without_scales_drops_only_the_scales_tables():
    source = (
        "from edgelearn.core.scales import Scales\n"
        "BASE = dict(n=3)\n"
        "SCALES: Scales[int] = Scales(\n    smoke=1,\n    laptop=2,  # minutes\n    paper=3,\n)\n"
        "TABLE = Scales(smoke=1, laptop=2, paper=3); Y = 2\n"
        "def f():\n    local = Scales(smoke=0, laptop=0, paper=0)\n    return local\n"
    )
    apart = store.code_text(source, without_scales=True)
    assert "laptop=2" not in apart and "BASE = dict(n=3)" in apart and "local = Scales" in apart
    assert "Y = 2" in apart  # a statement sharing the table's line stays
    tuned = source.replace("laptop=2,", "laptop=20,")
    assert store.code_text(tuned, without_scales=True) == apart  # another scale tuned: same code
    assert store.code_text(tuned) != store.code_text(source)  # the build's own fingerprint still sees it
    assert store.code_text(source.replace("n=3", "n=4"), without_scales=True) != apart
    assert store.code_fingerprint("edgelearn.ats", "code-without-scales").method == "code-without-scales"


def test_an_edit_to_the_data_loader_reaches_every_result_trained_on_images(library_copy):
    copy, recorded = library_copy
    path = copy / "src" / "edgelearn" / "core" / "data.py"
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n_NORMALISATION_CHANGED = True\n")
        stale = set(_run(copy, recorded, "check"))
    finally:
        path.write_bytes(original)
    assert {"ma2ml joint table", "trl_hpo candidate cache", "slicing results"} <= stale
    assert not stale & {"exp3 results", "ats results", "od3 results"}


def test_fingerprints_follow_imports_transitively_and_only_them():
    deps = store.dependencies(["edgelearn.core.results"])
    assert deps == ["edgelearn.core.record", "edgelearn.core.results", "edgelearn.core.scales", "edgelearn.core.store"]
    fingerprint = store.code_fingerprint("edgelearn.core.results")
    assert set(fingerprint.files) == set(deps) and len(fingerprint.hash) == 12
    assert store.changed_modules(fingerprint.as_dict()) == []
    with pytest.raises(ValueError, match="'modules'"):
        store.code_fingerprint("edgelearn.no_such_module")
    with pytest.raises(ValueError, match="at least one"):
        store.code_fingerprint([])


def test_the_makefile_query_imports_nothing_heavy_and_lists_each_notebooks_sources():
    """``store deps`` answers for every notebook in one call that imports no paper, torch or numpy's
    dependants: the Makefile runs it at every parse (it once took 3 s a notebook)."""
    root = Path(__file__).resolve().parents[1]
    notebooks = sorted(str(p.relative_to(root)) for p in (root / "notebooks").glob("*.md"))
    probe = (
        "import sys; from edgelearn.core import store; out = store.source_files(sys.argv[1:]); "
        "print(sorted(m for m in ('torch', 'edgelearn.ats', 'edgelearn.exp3', 'scipy') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *notebooks], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    words = subprocess.run(
        [sys.executable, "-m", "edgelearn.core.store", "deps", *notebooks],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for nb in notebooks:
        name = Path(nb).stem
        listed = [w.split("@", 1)[1] for w in words if w.startswith(name + "@")]
        assert listed == store.source_files([nb]) and "src/edgelearn/core/store.py" in listed
    assert "src/edgelearn/ats/ats.py" in store.source_files(["notebooks/ats.md"])
    assert not any("/ats/" in f for f in store.source_files(["notebooks/exp3.md"]))  # a chapter's own package only
    assert store._module_file("numpy") is None and store._module_file("edgelearn.ats.ATSScale") is None


def test_a_missing_or_vanished_fingerprint_counts_as_stale():
    assert store.changed_modules(None) == ["(no code fingerprint recorded)"]
    record = store.code_fingerprint("edgelearn.core.scales").as_dict()
    record["modules"] = ["edgelearn.core.gone"]
    assert store.changed_modules(record) == ["edgelearn.core.gone"]
    with pytest.raises(store.StaleResultError, match="made by other code.*rebuild"):
        store.check_current(None, "a table", "rebuild it")


# --------------------------------------------------------------------------------------------
# Atomic writes, the disk cache, checkpoints
# --------------------------------------------------------------------------------------------


def test_write_atomic_replaces_whole_files_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "file.bin"
    store.write_atomic(target, b"old")
    store.write_atomic(target, b"new")
    assert target.read_bytes() == b"new"

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        store.write_atomic(target, b"half")
    assert target.read_bytes() == b"new" and sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]


def test_disk_cache_hits_misses_and_code_changes(tmp_path, monkeypatch):
    cache = store.DiskCache(tmp_path, "edgelearn.core.scales")
    spec = {"arch": "C8k3s1", "seed": 0}
    assert cache.get(spec) is None and spec not in cache
    cache.put(spec, {"accuracy": 0.9})
    again = store.DiskCache(tmp_path, "edgelearn.core.scales")  # e.g. another process, later
    assert again.get(spec) == {"accuracy": 0.9} and (again.hits, again.misses) == (1, 0)
    assert again.get({"arch": "C8k3s1", "seed": 1}) is None and again.misses == 1
    other_code = store.DiskCache(tmp_path, "edgelearn.core.scales")
    monkeypatch.setattr(other_code, "fingerprint", store.Fingerprint(("edgelearn.core.scales",), {"x": "1"}))
    assert other_code.get(spec) is None  # the same description under other code is a miss
    assert len(again) == 1 and again.prune() == 1 and len(again) == 0


def test_checkpoints_refuse_other_runs_and_other_code(tmp_path):
    path = tmp_path / "ckpt.pkl"
    assert store.load_checkpoint(path, "run-a") is None
    store.save_checkpoint(path, "run-a", "edgelearn.core.scales", {"episode": 3})
    assert store.load_checkpoint(path, "run-a") == {"episode": 3}
    with pytest.raises(store.StaleResultError, match="belongs to another run"):
        store.load_checkpoint(path, "run-b")
    saved = store.pickle.loads(path.read_bytes())
    saved["code"]["files"]["edgelearn.core.scales"] = "000000000000"
    store.write_pickle(path, saved)
    with pytest.raises(store.StaleResultError, match=r"changed since: edgelearn\.core\.scales"):
        store.load_checkpoint(path, "run-a")


# --------------------------------------------------------------------------------------------
# Resumable row logs
# --------------------------------------------------------------------------------------------


def test_row_log_resumes_drops_a_torn_row_and_discards_other_runs(tmp_path):
    path = tmp_path / "t.partial.csv"
    with store.RowLog(path, "key-1", ["seed", "acc"]) as log:
        assert log.done.empty
        log.append({"seed": 0, "acc": 0.5})
        log.append({"seed": 1, "acc": 0.25})
    with open(path, "a") as handle:
        handle.write("2,0.1")  # a kill in the middle of a row: no newline, the row is torn
    with store.RowLog(path, "key-1", ["seed", "acc"]) as log:
        pd.testing.assert_frame_equal(log.done, pd.DataFrame({"seed": [0, 1], "acc": [0.5, 0.25]}))
        log.append({"seed": 2, "acc": 0.75})
    with store.RowLog(path, "key-1", ["seed", "acc"]) as log:
        assert log.done["seed"].tolist() == [0, 1, 2]
    with store.RowLog(path, "key-2", ["seed", "acc"]) as log:  # another run: its rows are not mixed in
        assert log.done.empty
        with pytest.raises(ValueError, match="lacks columns"):
            log.append({"seed": 3})
        with pytest.raises(ValueError, match="plain CSV field"):
            log.append({"seed": 3, "acc": "a,b"})
        log.remove()
    assert not path.exists()


def test_key_hash_is_order_free_and_json_friendly():
    assert store.key_hash({"a": 1, "b": (2, 3)}) == store.key_hash({"b": [2, 3], "a": 1})
    assert store.key_hash({"a": 1}) != store.key_hash({"a": 2})
    assert len(store.key_hash({"a": 1}, 8)) == 8
