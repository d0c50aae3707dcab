"""Shared fixtures: results go to a temporary folder, never into data/results."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point edgelearn.results at an empty temporary folder."""
    folder = tmp_path / "results"
    monkeypatch.setenv("EDGELEARN_RESULTS_DIR", str(folder))
    return folder
