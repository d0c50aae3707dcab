"""Shared fixtures: results go to a temporary folder, never into data/results."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point edgelearn.core.results at an empty temporary folder."""
    folder = tmp_path / "results"
    monkeypatch.setenv("EDGELEARN_RESULTS_DIR", str(folder))
    return folder


@pytest.fixture
def isolated_data_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a test away from the user's download cache and any EDGELEARN_DATA_DIR."""
    monkeypatch.setenv("EDGELEARN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("EDGELEARN_DATA_DIR", raising=False)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every notebook executed at smoke scale and the book built, in a temporary copy of the book tree
    (one build per test session: the tests that use it share the xdist group "book")."""
    root = tmp_path_factory.mktemp("book-smoke")
    book = root / "book"
    shutil.copytree(REPO / "book", book, ignore=shutil.ignore_patterns("_build", "notebooks", "_mathjax"))
    if (REPO / "book" / "_mathjax").is_dir():
        (book / "_mathjax").symlink_to(REPO / "book" / "_mathjax")
    env = {**os.environ, "EDGELEARN_RESULTS_DIR": str(root / "results")}
    proc = subprocess.run(
        ["make", "book", "SCALE=smoke", f"BOOK={book}", f"INPUTS={root / 'inputs'}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    return root
