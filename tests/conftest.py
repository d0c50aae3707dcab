"""Shared fixtures: results go to a temporary folder, never into data/results."""

from __future__ import annotations

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
