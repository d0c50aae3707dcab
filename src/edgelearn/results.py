"""Tidy result tables with provenance, written atomically under ``data/results``.

Layout: ``data/results/<paper>/<scale>/<name>.csv`` holds one tidy table (one row per
run x step x metric) and ``<name>.json`` beside it holds its provenance: git commit,
a hash of the library source, package versions, scale, seeds, data source, wall time,
device and the experiment's configuration. The JSON also stores the SHA-256 of the CSV,
so a table that was half-written or edited by hand is detected on load, and the source
hash, so a table made by older code is refused where freshness matters (the book).

Both files are written to temporary names in the same folder and moved into place with
:func:`os.replace`, the CSV first and the JSON last: a reader never sees a half-written
file, and a CSV without a matching JSON is rejected.

The root folder is ``$EDGELEARN_RESULTS_DIR`` when set (the tests use this), else
``data/results`` in the repository.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from edgelearn.scales import check_scale

RESULTS_ENV = "EDGELEARN_RESULTS_DIR"
PACKAGES = ("edgelearn", "numpy", "scipy", "pandas", "matplotlib", "seaborn", "torch", "torchvision")


class StaleResultError(RuntimeError):
    """A result table is missing its provenance, was altered, or was made by other code."""


def repo_root() -> Path:
    """The repository holding this package (the folder with ``pyproject.toml``)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return Path.cwd()


def results_root() -> Path:
    """Where result tables live: ``$EDGELEARN_RESULTS_DIR`` or ``<repo>/data/results``."""
    env = os.environ.get(RESULTS_ENV)
    return Path(env) if env else repo_root() / "data" / "results"


def source_hash() -> str:
    """SHA-256 (12 hex digits) over the library's ``.py`` files: changes with any edit to src."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=repo_root(), capture_output=True, text=True, timeout=10, check=True
        )
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
    return f"cpu: {cpu} ({os.cpu_count()} logical cores)"


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages results depend on (without importing them)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def table_path(paper: str, scale: str, name: str) -> Path:
    """Path of the CSV for result ``name`` of ``paper`` at ``scale``."""
    check_scale(scale)
    for label, value in (("paper", paper), ("name", name)):
        if not value or "/" in value or value.startswith("."):
            raise ValueError(f"'{label}' must be a plain, non-empty file name, got {value!r}")
    return results_root() / paper / scale / f"{name}.csv"


def save_table(df: pd.DataFrame, paper: str, scale: str, name: str, provenance: dict[str, Any]) -> Path:
    """Write ``df`` and its provenance atomically; return the CSV path."""
    if not isinstance(df, pd.DataFrame) or df.empty:
        raise ValueError(f"result '{name}' must be a non-empty pandas DataFrame")
    csv = table_path(paper, scale, name)
    csv.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    df.to_csv(buffer, index=False)
    data = buffer.getvalue().encode()
    record = {**_jsonable(provenance), "table": csv.name, "rows": len(df),
              "columns": list(map(str, df.columns)), "table_sha256": hashlib.sha256(data).hexdigest()}
    _write_atomic(csv, data)
    _write_atomic(csv.with_suffix(".json"), json.dumps(record, indent=2, sort_keys=True).encode())
    return csv


def load_table(paper: str, scale: str, name: str, *, require_current: bool = False) -> tuple[pd.DataFrame, dict]:
    """Read a result table and its provenance, checking that they belong together.

    With ``require_current=True`` the table must also have been made by the library
    source as it is now (same :func:`source_hash`); the book's pages load this way, so a
    change in ``src/`` can never leave an old number on a page.
    """
    csv = table_path(paper, scale, name)
    meta_path = csv.with_suffix(".json")
    if not csv.is_file() or not meta_path.is_file():
        raise FileNotFoundError(
            f"no result '{name}' for paper '{paper}' at scale '{scale}' under {csv.parent}: "
            f"run its notebook first (make book SCALE={scale})"
        )
    data = csv.read_bytes()
    meta = json.loads(meta_path.read_text())
    if meta.get("table_sha256") != hashlib.sha256(data).hexdigest():
        raise StaleResultError(f"{csv} does not match its provenance {meta_path.name}: half-written or edited")
    if require_current and meta.get("source_hash") != source_hash():
        raise StaleResultError(
            f"{csv} was made by other library code (source {meta.get('source_hash')}, now {source_hash()}): "
            "re-run its notebook"
        )
    return pd.read_csv(io.BytesIO(data)), meta


class Recorder:
    """Collects the provenance of one notebook run and saves its tables.

    >>> rec = Recorder("exp3", "smoke", seeds=[0], data_source="synthetic losses", config=cfg)
    >>> rec.save("regret", df)      # wall time = time since the previous save (or creation)

    ``data_source`` says where the data came from (a data set, its split and folder, or
    that the experiment is synthetic), as the book's standards ask.
    """

    def __init__(self, paper: str, scale: str, *, seeds: Any, data_source: str, config: Any = None) -> None:
        self.paper, self.scale = paper, check_scale(scale)
        self.base = {
            "paper": paper,
            "scale": scale,
            "seeds": _jsonable(seeds),
            "data_source": data_source,
            "config": _jsonable(config),
            "git_commit": _git("rev-parse", "HEAD") or "unknown",
            "git_dirty": bool(_git("status", "--porcelain", "--", "src", "notebooks", "data/paper")),
            "source_hash": source_hash(),
            "packages": package_versions(),
            "device": _device(),
            "host": platform.node(),
        }
        self._last = time.perf_counter()
        self.saved: dict[str, Path] = {}

    def set_data_source(self, data_source: str) -> None:
        """Record the data source once it is known (for tables saved from now on)."""
        self.base["data_source"] = data_source

    def provenance(self, name: str, wall_time_s: float) -> dict[str, Any]:
        """The provenance record for table ``name``."""
        return {**self.base, "name": name, "wall_time_s": round(wall_time_s, 3),
                "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    def save(self, name: str, df: pd.DataFrame, **extra: Any) -> Path:
        """Save ``df`` as result ``name``; ``extra`` fields are added to its provenance."""
        now = time.perf_counter()
        record = {**self.provenance(name, now - self._last), **extra}
        path = save_table(df, self.paper, self.scale, name, record)
        self._last = time.perf_counter()
        self.saved[name] = path
        return path

    def load(self, name: str) -> pd.DataFrame:
        """Read back a table this run saved, checked against the current source."""
        return load_table(self.paper, self.scale, name, require_current=True)[0]
