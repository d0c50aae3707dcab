"""Tidy result tables with provenance, written atomically under ``data/results``.

Layout: ``data/results/<paper>/<scale>/<name>.csv`` holds one tidy table (one row per
run x step x metric; a table larger than :data:`COMPRESS_OVER` is stored xz-compressed as
``<name>.csv.xz``) and ``<name>.json`` beside it holds its provenance: git commit, the
code fingerprint of the modules the result depends on (:mod:`edgelearn.core.store`), package
versions, scale, seeds, data source, wall time, device and the experiment's configuration.
The JSON also stores the SHA-256 of the CSV, so a table that was half-written or edited by
hand is detected on load, and the fingerprint, so a table made by other code is refused where
freshness matters (the book), with the modules that changed named in the error.

:func:`write_table` / :func:`read_table` do this for a table at any path (the MA2ML joint table
under ``data/tables`` uses them too); :func:`save_result` / :func:`load_result` place a
notebook's results under the results root, which is ``$EDGELEARN_RESULTS_DIR`` when set (the
tests use this), else ``data/results`` in the repository.
"""

from __future__ import annotations

import gzip
import io
import json
import lzma
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from edgelearn.core.record import ALL_SCALES
from edgelearn.core.scales import check_scale
from edgelearn.core.store import (
    StaleResultError,
    check_current,
    code_fingerprint,
    jsonable,
    repo_root,
    results_root,
    sha256,
    write_atomic,
)

__all__ = [
    "Recorder",
    "StaleResultError",
    "load_result",
    "meta_path",
    "provenance_base",
    "read_table",
    "repo_root",
    "results_root",
    "save_result",
    "table_file",
    "write_table",
]

COMPRESS_OVER = 1 << 20
"""A table whose CSV is larger than this many bytes (1 MiB) is stored xz-compressed (LZMA, the
same bytes for the same table), as ``<name>.csv.xz``, so that recorded runs stay small in git;
smaller ones stay plain CSV, readable on any forge. Tables stored gzip-compressed
(``<name>.csv.gz``) by earlier versions are still read."""

COMPRESSED = {".xz": lzma.decompress, ".gz": gzip.decompress}
"""The compressed forms of a table that :func:`read_table` reads, by suffix; :func:`write_table`
writes the first."""

PACKAGES = ("edgelearn", "numpy", "scipy", "pandas", "matplotlib", "seaborn", "torch", "torchvision")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=repo_root(), capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _device() -> str:
    torch = sys.modules.get("torch")  # report the GPU only if the experiment imported torch
    if torch is not None and torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {cpu} ({os.cpu_count()} logical cores{_numpy_simd()})"


def _numpy_simd() -> str:
    """NumPy's SIMD targets in use on this CPU (e.g. ``X86_V3`` for AVX2, ``X86_V4`` for AVX-512).

    Its vectorised ``exp`` and reductions can differ in the last bit between targets, and a long
    run that samples from such numbers (EXP3 over millions of rounds) then follows another path: the
    same seed gives the same numbers on the same kind of CPU, the same statistics on any."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # a NumPy without this (private) table
        return ""
    found = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]
    return f", NumPy SIMD {' '.join(found)}" if found else ""


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages results depend on (without importing them)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance_base(modules: str | Sequence[str], **fields: Any) -> dict[str, Any]:
    """The provenance every stored result carries: ``fields`` (scale, seeds, data source, config...),
    the code fingerprint of ``modules``, git commit, package versions, device and host."""
    return {
        **jsonable(fields),
        "code": code_fingerprint(modules).as_dict(),
        "git_commit": _git("rev-parse", "HEAD") or "unknown",
        "git_dirty": bool(_git("status", "--porcelain", "--", "src", "notebooks", "data/paper")),
        "packages": package_versions(),
        "device": _device(),
        "host": platform.node(),
    }


def meta_path(csv: str | os.PathLike) -> Path:
    """The provenance JSON of the table named ``csv`` (``<name>.json`` beside ``<name>.csv``)."""
    return Path(csv).with_suffix(".json")


def table_file(csv: str | os.PathLike) -> Path:
    """The file that holds the table named ``csv``: ``csv`` itself, or ``csv`` + ``.xz`` (or an
    older ``.gz``) when it was stored compressed (:data:`COMPRESS_OVER`)."""
    csv = Path(csv)
    if csv.is_file():
        return csv
    return next((f for suffix in COMPRESSED if (f := csv.with_name(csv.name + suffix)).is_file()), csv)


def write_table(
    csv: str | os.PathLike, df: pd.DataFrame, provenance: dict[str, Any], *, compress: bool | None = None
) -> Path:
    """Write ``df`` as the table named ``csv`` and its provenance to the ``.json`` beside it, both
    atomically; return ``csv``.

    The table goes first and the JSON last, with the CSV's SHA-256, row count and columns, so a table
    without its matching JSON is never taken for a finished result. ``provenance`` must hold the
    ``code`` fingerprint (:func:`provenance_base`). ``compress``: store the CSV xz-compressed as
    ``<csv>.xz`` (reproducibly: the same table gives the same bytes); by default when it is larger
    than :data:`COMPRESS_OVER`. The other forms, left by an earlier write, are removed.
    """
    if not isinstance(df, pd.DataFrame) or df.empty:
        raise ValueError(f"the table for {csv} must be a non-empty pandas DataFrame")
    if "code" not in provenance:
        raise ValueError("'provenance' must hold the code fingerprint ('code'): build it with provenance_base")
    csv = Path(csv)
    data = df.to_csv(index=False).encode()
    compress = len(data) > COMPRESS_OVER if compress is None else compress
    forms = [csv.with_name(csv.name + suffix) for suffix in COMPRESSED]
    target = forms[0] if compress else csv
    record = {
        **jsonable(provenance),
        "table": target.name,
        "rows": len(df),
        "columns": list(map(str, df.columns)),
        "table_sha256": sha256(data),  # of the CSV text, compressed or not
    }
    write_atomic(target, lzma.compress(data, preset=9) if compress else data)
    write_atomic(meta_path(csv), json.dumps(record, indent=2, sort_keys=True).encode())
    for other in {csv, *forms} - {target}:
        other.unlink(missing_ok=True)
    return csv


def read_table(
    csv: str | os.PathLike, *, require_current: bool = False, hint: str = "re-run what made it"
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read the table named ``csv`` written by :func:`write_table` (plain or compressed) and its
    provenance, checking that they belong together; with ``require_current`` also that the code it
    depends on is unchanged (:func:`edgelearn.core.store.check_current`). ``hint`` ends the error
    messages."""
    csv = Path(csv)
    path, meta_file = table_file(csv), meta_path(csv)
    if not path.is_file() or not meta_file.is_file():
        raise FileNotFoundError(f"no table at {csv} (with {meta_file.name}): {hint}")
    data = path.read_bytes()
    if path.suffix in COMPRESSED:
        data = COMPRESSED[path.suffix](data)
    meta = json.loads(meta_file.read_text())
    if meta.get("table_sha256") != sha256(data):
        raise StaleResultError(f"{path} does not match its provenance {meta_file.name}: half-written or edited; {hint}")
    if require_current:
        check_current(meta.get("code"), str(csv), hint)
    return pd.read_csv(io.BytesIO(data)), meta


def result_path(paper: str, scale: str, name: str) -> Path:
    """Path of the CSV for result ``name`` of ``paper`` at ``scale``."""
    check_scale(scale, ALL_SCALES)
    for label, value in (("paper", paper), ("name", name)):
        if not value or "/" in value or value.startswith("."):
            raise ValueError(f"'{label}' must be a plain, non-empty file name, got {value!r}")
    return results_root() / paper / scale / f"{name}.csv"


def save_result(df: pd.DataFrame, paper: str, scale: str, name: str, provenance: dict[str, Any]) -> Path:
    """Write result ``name`` of ``paper`` at ``scale`` and its provenance atomically; return the CSV path."""
    return write_table(result_path(paper, scale, name), df, provenance)


def load_result(paper: str, scale: str, name: str, *, require_current: bool = False) -> tuple[pd.DataFrame, dict]:
    """Read a result and its provenance, checking that they belong together.

    With ``require_current=True`` the result must also have been made by the code it depends on as
    it is now; the book's pages load this way, so a change in ``src/`` can never leave an old
    number on a page, while an edit to another chapter's package leaves it valid.
    """
    return read_table(
        result_path(paper, scale, name),
        require_current=require_current,
        hint=f"run its notebook (make book SCALE={scale})",
    )


def portable(text: str) -> str:
    """``text`` with this machine's folders written as a reader could follow them anywhere: the
    repository as ``.``, folders beside it as ``../<name>``, the home folder as ``~``."""
    root = repo_root()
    for folder, short in ((root, "."), (root.parent, ".."), (Path.home(), "~")):
        text = re.sub(re.escape(str(folder)) + r"(?=/|\b|$)", short, text)
    return text


class Recorder:
    """Collects the provenance of one notebook run and saves its tables.

    >>> rec = Recorder("exp3", "smoke", seeds=[0], data_source="synthetic losses", config=cfg)
    >>> rec.save("regret", df)      # wall time = time since the previous save (or creation)

    ``modules``: what the results depend on (default: the package named like ``paper``, e.g.
    ``edgelearn.exp3``, and so everything it imports). ``data_source`` says where the data came
    from (a data set, its split and folder, or that the experiment is synthetic).
    """

    def __init__(
        self,
        paper: str,
        scale: str,
        *,
        seeds: Any,
        data_source: str,
        config: Any = None,
        modules: str | Sequence[str] | None = None,
    ) -> None:
        self.paper, self.scale = paper, check_scale(scale, ALL_SCALES)
        self.modules = modules if modules is not None else f"edgelearn.{paper}"
        self.base = provenance_base(
            self.modules, paper=paper, scale=scale, seeds=seeds, data_source=portable(data_source), config=config
        )
        self._last = time.perf_counter()
        self.saved: dict[str, Path] = {}

    def set_data_source(self, data_source: str) -> None:
        """Record the data source once it is known (for tables saved from now on); paths on this
        machine are written relative to the repository (:func:`portable`)."""
        self.base["data_source"] = portable(data_source)

    def provenance(self, name: str, wall_time_s: float) -> dict[str, Any]:
        """The provenance record for table ``name``."""
        return {
            **self.base,
            "name": name,
            "wall_time_s": round(wall_time_s, 3),
            "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def save(self, name: str, df: pd.DataFrame, **extra: Any) -> Path:
        """Save ``df`` as result ``name``; ``extra`` fields are added to its provenance."""
        now = time.perf_counter()
        record = {**self.provenance(name, now - self._last), **extra}
        path = save_result(df, self.paper, self.scale, name, record)
        self._last = time.perf_counter()
        self.saved[name] = path
        return path

    def summary(self, **extra: Any) -> dict[str, Any]:
        """The run's provenance in brief, for a notebook's last cell: scale, seeds, data source,
        commit, code fingerprint, packages, device, and the wall time of every table saved so far;
        ``extra`` fields are added."""
        wall = sum(json.loads(meta_path(path).read_text())["wall_time_s"] for path in self.saved.values())
        keep = ("scale", "seeds", "data_source", "git_commit", "packages", "device")
        brief = {key: self.base[key] for key in keep if key in self.base}
        return (
            brief
            | {"code fingerprint": self.base["code"]["hash"], "wall time of the tables (s)": round(wall, 1)}
            | extra
        )

    def load(self, name: str) -> pd.DataFrame:
        """Read back a table this run saved, checked against the current source."""
        return load_result(self.paper, self.scale, name, require_current=True)[0]
