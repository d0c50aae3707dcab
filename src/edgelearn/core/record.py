"""Recorded runs: one chapter's experiments at a larger scale, kept in git beside the laptop runs.

    python -m edgelearn.core.record ats deciding [--seed 0] [--workers 2] [--backend process|ray]

(``make record PAPER=ats``.) A chapter takes part when its ``edgelearn.<paper>.experiments`` module
provides ``recorder(scale, seed)`` (a :class:`~edgelearn.core.results.Recorder` with the run's seeds,
data source and configuration) and ``run(scale, seed, recorder, **options)``; its claims module's
``judge`` then turns the tables into the ``claims`` table of that scale. Options ``run`` accepts are
passed on: ``workers``, ``backend`` and ``checkpoints`` (a folder for a resumable run, under
``data/checkpoints/``, not in git: a kill loses at most the units of work in flight).

The tidy tables and their provenance (commit, code fingerprint of the modules used, package
versions, machine, wall time, seeds) land in ``data/recorded/<paper>/<scale>/``, with
``RECORD.json`` summarising the run. Unlike the build's results, a recorded result is never
refused for being made by older code: :func:`load_recorded` returns it with the modules that have
changed since, and the book marks it so.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from edgelearn.core.scales import SCALE_NAMES, check_scale
from edgelearn.core.store import RESULTS_ENV, changed_modules, repo_root, write_atomic

PAPERS: tuple[str, ...] = ("exp3", "slicing", "ma2ml", "trl_hpo", "od3", "ats")

RECORDED_SCALES: tuple[str, ...] = ("deciding",)
"""Scales run by ``make record`` and kept in git under ``data/recorded/``: ``deciding`` is, per
chapter, the largest configuration that fits about 2 hours on 2 CPU cores, chosen so that it can
decide the claims the laptop scale leaves open. A chapter defines it in its ``SCALES`` after the
three every experiment has (:data:`~edgelearn.core.scales.SCALE_NAMES`)."""

ALL_SCALES: tuple[str, ...] = SCALE_NAMES + RECORDED_SCALES


def recorded_root() -> Path:
    """``<repo>/data/recorded``: the recorded runs, in git."""
    return repo_root() / "data" / "recorded"


def checkpoints_root() -> Path:
    """``<repo>/data/checkpoints``: what a recorded run keeps to resume (not in git)."""
    return repo_root() / "data" / "checkpoints"


@contextmanager
def results_in(folder: Path) -> Iterator[None]:
    """Send every result saved inside the block to ``folder`` (``$EDGELEARN_RESULTS_DIR``)."""
    before = os.environ.get(RESULTS_ENV)
    os.environ[RESULTS_ENV] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(RESULTS_ENV, None)
        else:
            os.environ[RESULTS_ENV] = before


def _chapter(paper: str, scale: str) -> tuple[Any, Any]:
    if paper not in PAPERS:
        raise ValueError(f"'paper' must be one of {', '.join(PAPERS)}, got {paper!r}")
    experiments = importlib.import_module(f"edgelearn.{paper}.experiments")
    scales = getattr(importlib.import_module(f"edgelearn.{paper}"), "SCALES", None)
    if scales is not None and scale not in tuple(scales):
        raise ValueError(f"{paper} defines no {scale!r} scale yet (its scales: {', '.join(scales)})")
    claims = importlib.import_module(f"edgelearn.{paper}.claims")
    for name in ("recorder", "run"):
        if not callable(getattr(experiments, name, None)):
            raise ValueError(f"edgelearn.{paper}.experiments has no {name}(): it cannot be recorded yet")
    return experiments, claims


def record(
    paper: str,
    scale: str = "deciding",
    seed: int = 0,
    *,
    workers: int | None = None,
    backend: str = "process",
    root: Path | None = None,
) -> dict[str, Any]:
    """Run ``paper``'s experiments at ``scale`` into ``root`` (default :func:`recorded_root`), judge its
    claims, and write ``RECORD.json``; return that summary."""
    check_scale(scale, ALL_SCALES)
    experiments, claims = _chapter(paper, scale)
    root = root or recorded_root()
    options = {"workers": workers, "backend": backend, "checkpoints": checkpoints_root() / paper / scale}
    accepted = inspect.signature(experiments.run).parameters
    start = time.perf_counter()
    with results_in(root):
        rec = experiments.recorder(scale, seed)
        tables = experiments.run(scale, seed, rec, **{k: v for k, v in options.items() if k in accepted})
        rec.save("claims", claims.judge(tables, scale))
    summary = {
        "paper": paper,
        "scale": scale,
        "seed": seed,
        "command": f"make record PAPER={paper} RECORD_SCALE={scale}",
        "tables": sorted(rec.saved),
        "wall_time_s": round(time.perf_counter() - start, 1),
        "workers": workers,
        "backend": backend,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "git_commit": rec.base.get("git_commit"),
        "code": rec.base.get("code"),
    }
    write_atomic(root / paper / scale / "RECORD.json", json.dumps(summary, indent=2).encode())
    return summary


@dataclass(frozen=True)
class Recorded:
    """A recorded run as the book shows it: its tables, its ``RECORD.json``, and the modules whose
    source has changed since it was made (empty when it is current)."""

    paper: str
    scale: str
    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    changed: list[str]

    @property
    def current(self) -> bool:
        return not self.changed


def load_recorded(paper: str, scale: str = "deciding", root: Path | None = None) -> Recorded | None:
    """The recorded run of ``paper`` at ``scale``, or ``None`` when there is none. Never refused for
    stale code: ``changed`` names the modules edited since (a table whose CSV does not match its
    checksum still fails, as every stored result does)."""
    from edgelearn.core.results import read_table

    folder = (root or recorded_root()) / paper / scale
    if not (folder / "RECORD.json").is_file():
        return None
    summary = json.loads((folder / "RECORD.json").read_text())
    tables = {csv.stem: read_table(csv)[0] for csv in sorted(folder.glob("*.csv"))}
    return Recorded(paper, scale, tables, summary, changed_modules(summary.get("code")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Record one chapter's experiments at a larger scale.")
    parser.add_argument("paper", choices=PAPERS)
    parser.add_argument("scale", nargs="?", default="deciding", choices=ALL_SCALES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--backend", default="process", choices=("serial", "process", "ray"))
    args = parser.parse_args(argv)
    summary = record(args.paper, args.scale, args.seed, workers=args.workers, backend=args.backend)
    where = recorded_root() / args.paper / args.scale
    print(f"recorded {args.paper} at {args.scale} in {summary['wall_time_s']:.0f} s: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
