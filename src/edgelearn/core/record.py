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
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from edgelearn.core.scales import SCALE_NAMES, check_scale
from edgelearn.core.store import RESULTS_ENV, changed_modules, code_fingerprint, repo_root, write_atomic

PAPERS: tuple[str, ...] = ("exp3", "slicing", "ma2ml", "trl_hpo", "od3", "ats")

RECORDED_SCALES: tuple[str, ...] = ("deciding",)
"""Scales run by ``make record`` and kept in git under ``data/recorded/``: ``deciding`` is, per
chapter, the largest configuration that fits about 2 hours on 2 CPU cores, chosen so that it can
decide the claims the laptop scale leaves open. A chapter defines it in its ``SCALES`` after the
three every experiment has (:data:`~edgelearn.core.scales.SCALE_NAMES`)."""

ALL_SCALES: tuple[str, ...] = SCALE_NAMES + RECORDED_SCALES


RECORDED_ENV = "EDGELEARN_RECORDED_DIR"
"""Environment variable that moves the recorded runs elsewhere (a test, a reader's own runs)."""

NOT_COMPUTING: tuple[str, ...] = ("edgelearn.core.record", "edgelearn.core.results", "edgelearn.core.store")
"""Modules a recorded run depends on that save, load and describe its tables but compute none of
their numbers (a corrupted table is caught by its checksum instead): editing them does not make a
recorded run stale. Nor does editing the chapter's ``claims`` module or the scorecard: the verdicts
of a recorded run are judged again from its tables whenever it is loaded."""


RECORD_METHOD = "code-without-scales"
"""How a recorded run fingerprints its code (:data:`edgelearn.core.store.FINGERPRINT_METHODS`): without
the chapters' ``Scales`` tables, because ``RECORD.json`` keeps the configuration the run used and
:func:`load_recorded` compares it by value; editing the laptop scale leaves a recording current,
editing its own scale's configuration does not."""


def recorded_root() -> Path:
    """``<repo>/data/recorded`` (the recorded runs, in git), or ``$EDGELEARN_RECORDED_DIR``."""
    override = os.environ.get(RECORDED_ENV)
    return Path(override) if override else repo_root() / "data" / "recorded"


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
    claims, and write ``RECORD.json``; return that summary. The folder ``<root>/<paper>/<scale>`` is
    replaced only once the run is complete (it is staged under ``<root>/.partial``)."""
    check_scale(scale, ALL_SCALES)
    experiments, claims = _chapter(paper, scale)
    root = root or recorded_root()
    options = {"workers": workers, "backend": backend, "checkpoints": checkpoints_root() / paper / scale}
    accepted = inspect.signature(experiments.run).parameters
    start = time.perf_counter()
    # the tables are written to a staging folder and moved into place only when the run is complete:
    # a killed run leaves the last complete recording as it was, and nothing half-written beside it
    staging_root = root / ".partial"
    staging, final = staging_root / paper / scale, root / paper / scale
    shutil.rmtree(staging, ignore_errors=True)
    with results_in(staging_root):
        rec = experiments.recorder(scale, seed)
        tables = experiments.run(scale, seed, rec, **{k: v for k, v in options.items() if k in accepted})
        rec.save("claims", claims.judge(tables, scale))
    summary = {
        "paper": paper,
        "scale": scale,
        "seed": seed,
        "seeds": rec.base.get("seeds"),
        "command": f"make record PAPER={paper} RECORD_SCALE={scale}",
        "tables": sorted(rec.saved),
        "wall_time_s": round(time.perf_counter() - start, 1),
        "workers": workers,
        "backend": backend,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "git_commit": rec.base.get("git_commit"),
        "code": code_fingerprint(rec.modules, RECORD_METHOD).as_dict(),
        "config": rec.base.get("config"),
    }
    from edgelearn.core.results import meta_path

    summary["compute_s"] = round(
        sum(json.loads(meta_path(p).read_text()).get("wall_time_s", 0.0) for p in rec.saved.values()), 1
    )
    write_atomic(staging / "RECORD.json", json.dumps(summary, indent=2).encode())
    final.parent.mkdir(parents=True, exist_ok=True)
    previous = staging_root / paper / f"{scale}.previous"
    shutil.rmtree(previous, ignore_errors=True)
    if final.exists():
        os.replace(final, previous)
    os.replace(staging, final)
    shutil.rmtree(staging_root, ignore_errors=True)
    return summary


@dataclass(frozen=True)
class Recorded:
    """A recorded run as the book shows it: its tables, its ``RECORD.json``, and the modules whose
    code has changed since it was made (empty when it is current)."""

    paper: str
    scale: str
    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    changed: list[str]

    @property
    def current(self) -> bool:
        return not self.changed

    def provenance(self) -> dict[str, Any]:
        """The run's provenance for people (show it with
        :func:`edgelearn.core.plotting.settings_table`): the command, scale, seeds, commit, data
        source, package versions, wall time, machine, code fingerprint and whether the code that
        computes its numbers is unchanged."""
        s = self.summary
        machine = s.get("machine", {})
        hours = s.get("wall_time_s", float("nan")) / 3600
        workers = s.get("workers") or machine.get("cpus")
        compute = s.get("compute_s", float("nan"))
        resumed = compute > 1.1 * (workers or 1) * s.get("wall_time_s", float("inf"))
        return {
            "command": s.get("command", ""),
            "scale": s.get("scale", self.scale),
            "base seed": s.get("seed"),
            **({"seeds": s["seeds"]} if s.get("seeds") else {}),
            "git commit": (s.get("git_commit") or "")[:12]
            + (" with uncommitted changes" if s.get("git_dirty") else ""),
            **({"data source": s["data_source"]} if s.get("data_source") else {}),
            **({"packages": ", ".join(f"{k} {v}" for k, v in s["packages"].items())} if s.get("packages") else {}),
            "wall time": f"{hours:.2f} h, {workers} worker{'s' if workers != 1 else ''} ({s.get('backend', '')})"
            + (" for the last, resuming invocation" if resumed else ""),
            "compute": f"{compute / 3600:.2f} core-hours (every unit of work, one after the other)",
            "machine": f"{machine.get('cpus', '?')} CPUs, {machine.get('platform', '?')}, "
            f"Python {machine.get('python', '?')}",
            "code fingerprint": (s.get("code") or {}).get("hash", ""),
            "code since": "unchanged" if self.current else "changed: " + ", ".join(self.changed),
        }


def _rejudge(paper: str, scale: str, tables: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The claims table of a recorded run judged by today's rules (``None`` if the chapter has none)."""
    try:
        claims = importlib.import_module(f"edgelearn.{paper}.claims")
    except ModuleNotFoundError:
        return None
    return claims.judge({name: df for name, df in tables.items() if name != "claims"}, scale)


def load_recorded(paper: str, scale: str = "deciding", root: Path | None = None) -> Recorded | None:
    """The recorded run of ``paper`` at ``scale``, or ``None`` when there is none.

    Never refused for stale code: ``changed`` names the modules that compute its numbers and have
    been edited since (not those of :data:`NOT_COMPUTING`). Its ``claims`` table is judged again by
    the chapter's current rules, so a corrected rule shows at once. A table whose CSV does not match
    its checksum still fails, as every stored result does."""
    from edgelearn.core.results import read_table

    folder = (root or recorded_root()) / paper / scale
    if not (folder / "RECORD.json").is_file():
        return None
    summary = json.loads((folder / "RECORD.json").read_text())
    names = summary.get("tables") or sorted(p.stem for p in folder.glob("*.json") if p.name != "RECORD.json")
    read = {name: read_table(folder / f"{name}.csv") for name in names}
    tables = {name: df for name, (df, _) in read.items()}
    if "seeds" not in summary and read:  # every table of a run records the same seeds
        summary["seeds"] = next(iter(read.values()))[1].get("seeds")
    if len(tables) > 1 and (judged := _rejudge(paper, scale, tables)) is not None:  # tables beside "claims"
        tables["claims"] = judged
    if "compute_s" not in summary and read:  # each table's wall time: its own units, one after the other
        summary["compute_s"] = round(sum(meta.get("wall_time_s", 0.0) for _, meta in read.values()), 1)
    for key in ("config", "data_source", "packages"):  # as every table of the run records them
        if key not in summary and read:
            summary[key] = next(iter(read.values()))[1].get(key)
    if "git_dirty" not in summary and read:
        summary["git_dirty"] = any(meta.get("git_dirty") for _, meta in read.values())
    ignored = {*NOT_COMPUTING, f"edgelearn.{paper}.claims", "edgelearn.core.scorecard"}
    changed = [m for m in changed_modules(summary.get("code")) if m not in ignored]
    if summary.get("code", {}).get("method") == RECORD_METHOD and not _same_config(paper, scale, summary):
        changed.append(f"the configuration of the {scale} scale (edgelearn.{paper}.SCALES)")
    return Recorded(paper, scale, tables, summary, changed)


def _same_config(paper: str, scale: str, summary: dict[str, Any]) -> bool:
    """Whether the configuration a run recorded is today's configuration of its scale (compared
    as the JSON both are written as); a scale that no longer exists is not the same."""
    try:
        experiments, _ = _chapter(paper, scale)
        now = experiments.recorder(scale, summary.get("seed") or 0).base.get("config")
    except ValueError:
        return False
    return json.loads(json.dumps(now)) == summary.get("config")


def recorded_runs(scale: str = "deciding", root: Path | None = None) -> pd.DataFrame:
    """One row per chapter of :data:`PAPERS` with a recorded run at ``scale``: ``paper``, ``scale``,
    ``wall_time_h`` (of its last invocation: a resumed run's earlier part is not in it), ``compute_h``
    (all its units of work one after the other), ``workers``, ``commit``, the ``claims`` judged and
    whether the code and configuration that compute its numbers are unchanged since (``current``,
    ``changed``)."""
    rows = []
    for paper in PAPERS:
        recorded = load_recorded(paper, scale, root)
        if recorded is None:
            continue
        s = recorded.summary
        rows.append(
            {
                "paper": paper,
                "scale": scale,
                "wall_time_h": s.get("wall_time_s", float("nan")) / 3600,
                "compute_h": s.get("compute_s", float("nan")) / 3600,
                "workers": s.get("workers") or s.get("machine", {}).get("cpus"),
                "commit": (s.get("git_commit") or "")[:12],
                "claims": len(recorded.tables.get("claims", ())),
                "current": recorded.current,
                "changed": ", ".join(recorded.changed),
            }
        )
    columns = ["paper", "scale", "wall_time_h", "compute_h", "workers", "commit", "claims", "current", "changed"]
    return pd.DataFrame(rows, columns=columns)


def recorded_note(paper: str, recorded: Recorded | None, scale: str = "deciding") -> str:
    """A sentence (Markdown) for a chapter page about its recorded run: none yet and how to make
    one, or which modules have changed since it was made, so its numbers are not shown as current."""
    command = f"`make record PAPER={paper}`" + ("" if scale == "deciding" else f" with `RECORD_SCALE={scale}`")
    if recorded is None:
        return f"No run of this chapter at the {scale} scale is recorded yet: {command} makes one."
    if recorded.current:
        return (
            f"Recorded with {command} at commit `{(recorded.summary.get('git_commit') or '')[:12]}`; the code "
            "that computes its numbers and the configuration of its scale are unchanged since, and its verdicts "
            "are judged by today's rules."
        )
    what = ", ".join(m if m.startswith("the configuration") else f"`{m}`" for m in recorded.changed)
    return (
        f"**Made by older code.** Changed since this run was recorded: {what}; so its numbers may not be "
        f"what today's code gives: run {command} again before relying on them."
    )


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
