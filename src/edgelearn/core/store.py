r"""Where results live on disk, and the one rule that decides when a stored result is stale.

Everything the library keeps between runs goes through this module: result tables
(:mod:`edgelearn.core.results`), tabular benchmarks, caches of trained models, checkpoints of
searches and the partial rows of a resumable build. They share three things:

1. **Atomic writes.** :func:`write_atomic` writes to a temporary file in the target folder,
   forces it to disk and renames it into place: a reader sees the old file or the new one,
   never half of one, and an interrupted write leaves nothing behind.
2. **One staleness rule.** A stored result is *current* when the code of the modules it depends
   on is unchanged: their source without comments, docstrings and blank lines
   (:func:`code_text`), so that a corrected docstring does not throw away a two-hour run.
   :func:`code_fingerprint` names those modules (a package stands for every module it imports)
   and follows their ``edgelearn`` imports transitively, so the fingerprint of ``edgelearn.od3``
   covers the OD3 package and the parts of the core it uses, and nothing of MA2ML.
   Every kind of stored result records a fingerprint and is checked with :func:`check_current`,
   which names the files that changed.
3. **A disk cache** (:class:`DiskCache`) keyed by a description of the computation *and* its
   fingerprint: editing the code that produced an entry makes it a miss, never a silent reuse.

Checkpoints (:func:`save_checkpoint`, :func:`load_checkpoint`) carry a run key and a
fingerprint; a checkpoint of another run, or of other code, is refused. :class:`RowLog` appends
finished rows to a CSV one complete, fsynced line at a time, so that a killed build loses at
most the work in flight and resumes where it stopped.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import json
import os
import pickle
import re
import sys
import tempfile
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pandas as pd

PACKAGE = "edgelearn"
RESULTS_ENV = "EDGELEARN_RESULTS_DIR"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class StaleResultError(RuntimeError):
    """A stored result is missing its provenance, was altered, or was made by other code."""


def repo_root() -> Path:
    """The repository holding this package (the folder with ``pyproject.toml``), else the cwd."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return Path.cwd()


def results_root() -> Path:
    """Where results, caches and checkpoints live: ``$EDGELEARN_RESULTS_DIR`` (the tests set it), else
    ``<repo>/data/results``."""
    env = os.environ.get(RESULTS_ENV)
    return Path(env) if env else repo_root() / "data" / "results"


# --------------------------------------------------------------------------------------------
# 1. Atomic writes and content hashes
# --------------------------------------------------------------------------------------------


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and :func:`os.replace` (creates the folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a result is as readable as any file
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def sha256(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def key_hash(spec: Any, digits: int = 16) -> str:
    """A short hash of a JSON-serialisable description (keys sorted): names a cache entry or a run."""
    return sha256(json.dumps(jsonable(spec), sort_keys=True).encode())[:digits]


def jsonable(value: Any) -> Any:
    """``value`` as JSON-friendly data: dataclasses as dicts, tuples as lists, numpy scalars as numbers."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    return repr(value)


# --------------------------------------------------------------------------------------------
# 2. The staleness rule: fingerprints of the source a result depends on
# --------------------------------------------------------------------------------------------


def _module_file(name: str) -> Path | None:
    """The source file of ``edgelearn`` module (or package) ``name``, or ``None``, found without
    importing anything: ``find_spec`` once the parent package is imported (it then reads the package's
    ``__path__``), else the parent's folder (``find_spec`` would import the parent packages, and with
    them torch: seconds for every notebook the Makefile asks about)."""
    parts = name.split(".") if isinstance(name, str) else []
    if not parts or parts[0] != PACKAGE or not all(part.isidentifier() for part in parts):
        return None
    parent = name.rpartition(".")[0]
    if not parent or parent in sys.modules:
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            return None
        origin = spec.origin if spec is not None else None
        return Path(origin) if origin is not None and origin.endswith(".py") else None
    parent_file = _module_file(parent)
    if parent_file is None or not _is_package(parent_file):
        return None
    folder = parent_file.parent / parts[-1]
    for path in (folder / "__init__.py", folder.with_name(parts[-1] + ".py")):
        if path.is_file():
            return path
    return None


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _edgelearn_imports(source: str | bytes, package: str, filename: str = "<source>") -> set[str]:
    """The ``edgelearn`` modules imported by ``source`` (absolute and relative imports), where
    ``package`` is the package relative imports start from."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names]  # `from pkg import module`
    return {m for m in found if (m == PACKAGE or m.startswith(PACKAGE + ".")) and _module_file(m) is not None}


@functools.cache
def _imports(name: str, mtime_ns: int) -> tuple[str, ...]:
    """The ``edgelearn`` modules that module ``name`` imports (cached per file version)."""
    path = _module_file(name)
    assert path is not None
    package = name if _is_package(path) else name.rpartition(".")[0]
    return tuple(sorted(_edgelearn_imports(path.read_bytes(), package, str(path))))


def dependencies(modules: Iterable[str]) -> list[str]:
    """``modules`` and every ``edgelearn`` module they import, transitively, sorted.

    The package ``edgelearn`` itself (its ``__init__``) is left out unless named: it holds only
    the version and a docstring. Unknown module names raise ``ValueError``.
    """
    todo = list(modules)
    for name in todo:
        if not isinstance(name, str) or _module_file(name) is None:
            raise ValueError(f"'modules' must name edgelearn modules with a source file; got {name!r}")
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        todo += [m for m in _imports(name, path.stat().st_mtime_ns) if m != PACKAGE and m not in seen]
    return sorted(seen)


def _is_scales_table(node: ast.stmt) -> bool:
    """Whether a module-level statement is ``NAME = Scales(...)`` (or annotated): the per-scale
    configurations of an experiment (:class:`edgelearn.core.scales.Scales`)."""
    value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "Scales"


def code_text(source: str | bytes, without_scales: bool = False) -> str:
    """The code of a Python source file: without comments, docstrings (any statement that is
    only a string, as after a module-level constant), blank lines and trailing spaces; with
    ``without_scales``, also without its module-level ``Scales(...)`` tables.

    Two files with the same code text behave the same, so a fingerprint over it ignores edits to
    documentation. Positions come from :mod:`ast` and :mod:`tokenize`, whose output for one file
    does not depend on the Python version, so a result recorded under one version is current
    under another. A recorded run keeps the configuration it ran with, and compares it by value
    (:mod:`edgelearn.core.record`): its fingerprint leaves out the ``Scales`` tables, so that
    tuning another scale (a faster laptop scale, say) does not make a two-hour recording stale.
    """
    text = source.decode("utf-8") if isinstance(source, bytes) else source
    lines = text.splitlines()
    spans: list[tuple[int, int, int, int]] = []  # (line, column, end line, end column), 1-based lines
    tree = ast.parse(text)
    if without_scales:
        for node in tree.body:
            if _is_scales_table(node):
                end = len(lines[node.end_lineno - 1].encode()[: node.end_col_offset].decode())
                spans.append((node.lineno, 0, node.end_lineno, end))
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            # ast columns count UTF-8 bytes; convert them to characters of the line
            start = len(lines[node.lineno - 1].encode()[: node.col_offset].decode())
            end = len(lines[node.end_lineno - 1].encode()[: node.end_col_offset].decode())
            spans.append((node.lineno, start, node.end_lineno, end))
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            spans.append((*token.start, *token.end))
    for line, column, end_line, end_column in sorted(spans, reverse=True):  # later spans first
        head, tail = lines[line - 1][:column], lines[end_line - 1][end_column:]
        lines[line - 1 : end_line] = [head + tail]
    return "\n".join(stripped for line in lines if (stripped := line.rstrip()))


FINGERPRINT_METHODS: tuple[str, ...] = ("code", "code-without-scales", "bytes")
"""How a file is hashed: ``code`` hashes its :func:`code_text` (the default); ``code-without-scales``
its code text without the ``Scales(...)`` tables (recorded runs, which compare their configuration
by value); ``bytes`` hashes the file as it is, which is how results recorded before the ``method``
field existed were made."""


@functools.cache
def _file_hash(path: Path, mtime_ns: int, method: str) -> str:
    data = path.read_bytes()
    if method == "bytes":
        return sha256(data)[:12]
    return sha256(code_text(data, without_scales=method == "code-without-scales").encode())[:12]


@dataclass(frozen=True)
class Fingerprint:
    """The source a result depends on: the modules named, and a hash of each file they reach."""

    modules: tuple[str, ...]
    files: dict[str, str]  # module name -> SHA-256 (12 hex digits) of its code (see ``method``)
    method: str = "code"  # one of FINGERPRINT_METHODS

    @property
    def hash(self) -> str:
        """One hash over all the files (12 hex digits)."""
        return key_hash(self.files, 12)

    def as_dict(self) -> dict[str, Any]:
        return {"modules": list(self.modules), "files": dict(self.files), "hash": self.hash, "method": self.method}


def code_fingerprint(modules: str | Sequence[str], method: str = "code") -> Fingerprint:
    """The :class:`Fingerprint` of ``modules`` (a name or several) and everything they import;
    ``method`` says how each file is hashed (:data:`FINGERPRINT_METHODS`)."""
    if method not in FINGERPRINT_METHODS:
        raise ValueError(f"'method' must be one of {', '.join(FINGERPRINT_METHODS)}, got {method!r}")
    names = (modules,) if isinstance(modules, str) else tuple(modules)
    if not names:
        raise ValueError("'modules' must name at least one edgelearn module")
    files = {}
    for name in dependencies(names):
        path = _module_file(name)
        files[name] = _file_hash(path, path.stat().st_mtime_ns, method)
    return Fingerprint(tuple(sorted(names)), files, method)


def changed_modules(recorded: dict[str, Any] | None) -> list[str]:
    """The modules whose source differs from a recorded fingerprint (``as_dict`` form); all
    modules recorded or now depended on count, so an added or removed import shows too.
    An empty list means the result is current. A missing record counts as everything changed.
    The files are hashed as the record's were (its ``method``; ``bytes`` when it names none)."""
    if not recorded or "modules" not in recorded or "files" not in recorded:
        return ["(no code fingerprint recorded)"]
    try:
        now = code_fingerprint(recorded["modules"], recorded.get("method", "bytes")).files
    except ValueError:
        return sorted(recorded["modules"])  # a module it depended on no longer exists
    before = recorded["files"]
    return sorted(m for m in set(now) | set(before) if now.get(m) != before.get(m))


def check_current(recorded: dict[str, Any] | None, what: str, hint: str) -> None:
    """Raise :class:`StaleResultError` naming the changed modules unless ``recorded`` is current."""
    changed = changed_modules(recorded)
    if changed:
        raise StaleResultError(f"{what} was made by other code (changed since: {', '.join(changed)}); {hint}")


# --------------------------------------------------------------------------------------------
# 3. Disk cache and checkpoints
# --------------------------------------------------------------------------------------------


def write_pickle(path: str | os.PathLike, obj: Any) -> Path:
    """Pickle ``obj`` to ``path`` atomically (tensors should be on the CPU)."""
    return write_atomic(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


class DiskCache:
    """Pickled results in ``folder``, one file per entry, named by a hash of the entry's description
    and of the code fingerprint of ``modules``.

    Entries are written atomically, so several processes may share a cache: two that compute the
    same entry write the same bytes, and a reader never sees half a file. An edit to any module
    the cached computation depends on changes every key: old entries are simply never hit again
    (:meth:`prune` deletes them).
    """

    def __init__(self, folder: str | os.PathLike, modules: str | Sequence[str]) -> None:
        self.folder = Path(folder)
        self.fingerprint = code_fingerprint(modules)
        self.hits = self.misses = 0

    def key(self, spec: Any) -> str:
        """The file stem of the entry described by ``spec`` (JSON-serialisable) under this code."""
        return key_hash({"spec": spec, "code": self.fingerprint.hash}, 20)

    def path(self, spec: Any) -> Path:
        return self.folder / f"{self.key(spec)}.pkl"

    def get(self, spec: Any, default: Any = None) -> Any:
        """The cached value of ``spec``, or ``default`` (counted as a hit or a miss)."""
        path = self.path(spec)
        if path.is_file():
            self.hits += 1
            return pickle.loads(path.read_bytes())
        self.misses += 1
        return default

    def __contains__(self, spec: Any) -> bool:
        return self.path(spec).is_file()

    def put(self, spec: Any, value: Any) -> None:
        write_pickle(self.path(spec), value)

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*.pkl")) if self.folder.is_dir() else 0

    def prune(self, keep: Iterable[Any] = ()) -> int:
        """Delete every entry but those of ``keep``; return how many were deleted."""
        kept = {self.path(spec).name for spec in keep}
        removed = 0
        for path in self.folder.glob("*.pkl") if self.folder.is_dir() else ():
            if path.name not in kept:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def save_checkpoint(path: str | os.PathLike, run_key: str, modules: str | Sequence[str], state: Any) -> Path:
    """Save ``state`` of run ``run_key`` with the fingerprint of ``modules``, atomically."""
    fingerprint = code_fingerprint(modules).as_dict()
    return write_pickle(path, {"run_key": run_key, "code": fingerprint, "state": state})


def load_checkpoint(path: str | os.PathLike, run_key: str) -> Any | None:
    """The state saved at ``path`` for run ``run_key``; ``None`` when there is no file.

    Raises :class:`StaleResultError` when the file belongs to another run or was written by other
    code (naming the modules that changed): resuming it would mix two computations.
    """
    path = Path(path)
    if not path.is_file():
        return None
    saved = pickle.loads(path.read_bytes())
    if not isinstance(saved, dict) or saved.get("run_key") != run_key:
        other = saved.get("run_key") if isinstance(saved, dict) else "unknown"
        raise StaleResultError(
            f"checkpoint {path} belongs to another run ({other}); expected {run_key}: "
            "delete it or choose another checkpoint path"
        )
    check_current(saved.get("code"), f"checkpoint {path}", "delete it to start the run afresh")
    return saved["state"]


# --------------------------------------------------------------------------------------------
# 4. Resumable row logs
# --------------------------------------------------------------------------------------------

_ROWLOG_TAG = "# edgelearn row log; run key "


def _csv_field(value: Any) -> str:
    text = repr(float(value)) if isinstance(value, float) else str(value)
    if any(ch in text for ch in ',"\n\r'):
        raise ValueError(f"value {text!r} cannot be written as a plain CSV field")
    return text


class RowLog:
    """Finished rows of a long computation, appended to a CSV as they arrive.

    The first line records ``run_key`` (what the rows belong to: configuration and code
    fingerprint); a log with another key is discarded on open, so rows of different runs never
    mix. Each row is one complete line, flushed and fsynced: a kill loses at most the rows in
    flight. A torn last line (a kill mid-write) is dropped on open. Use as a context manager.
    """

    def __init__(self, path: str | os.PathLike, run_key: str, columns: Sequence[str]) -> None:
        self.path, self.run_key, self.columns = Path(path), run_key, tuple(columns)
        header = ",".join(self.columns)
        self.done = pd.DataFrame(columns=list(self.columns))
        lines = self.path.read_text(encoding="utf-8").split("\n") if self.path.is_file() else []
        if len(lines) >= 2 and lines[0] == f"{_ROWLOG_TAG}{run_key}" and lines[1] == header:
            # lines[-1] is "" after a complete last row, else a row torn by a kill: dropped either way
            complete = [line for line in lines[2:-1] if line.count(",") == len(self.columns) - 1]
            write_atomic(self.path, "\n".join([lines[0], header, *complete, ""]).encode())
            if complete:
                self.done = pd.read_csv(io.StringIO("\n".join([header, *complete]) + "\n"))
        else:
            write_atomic(self.path, f"{_ROWLOG_TAG}{run_key}\n{header}\n".encode())
        self._handle = open(self.path, "a", encoding="utf-8")

    def append(self, row: dict[str, Any]) -> None:
        """Append one row (a dict with every column) as one line, forced to disk."""
        missing = [c for c in self.columns if c not in row]
        if missing:
            raise ValueError(f"row lacks columns {missing}")
        self._handle.write(",".join(_csv_field(row[c]) for c in self.columns) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def remove(self) -> None:
        """Close and delete the log (once its rows are saved elsewhere)."""
        self.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> RowLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self._handle.closed:
            self.close()


# --------------------------------------------------------------------------------------------
# 5. The same rule for notebooks (the Makefile re-executes a notebook when its sources change)
# --------------------------------------------------------------------------------------------

_CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


def notebook_modules(path: str | os.PathLike) -> list[str]:
    """The ``edgelearn`` modules a MyST notebook imports, and everything they import."""
    text = Path(path).read_text(encoding="utf-8")
    names: set[str] = set()
    for cell in _CODE_CELL.findall(text):
        code = "\n".join(line for line in cell.splitlines() if not line.lstrip().startswith(("%", "!", ":")))
        names |= _edgelearn_imports(code, PACKAGE, str(path))
    return dependencies(sorted(names - {PACKAGE})) if names - {PACKAGE} else []


def source_files(targets: Iterable[str]) -> list[str]:
    """The source files (relative to the repository where inside it) whose edit makes the results of
    ``targets`` stale: MyST notebooks (``.md``) or module names."""
    modules: set[str] = set()
    for target in targets:
        modules |= set(notebook_modules(target) if target.endswith(".md") else dependencies([target]))
    root = repo_root()
    paths = (_module_file(name) for name in sorted(modules))
    return [os.path.relpath(path, root) if path.is_relative_to(root) else str(path) for path in paths if path]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m edgelearn.core.store files NOTEBOOK.md|MODULE ...``: the source files (relative to the
    repository) whose edit makes the results of those notebooks or modules stale, one per line.

    ``python -m edgelearn.core.store deps NOTEBOOK.md ...``: the same for each notebook, on one line
    as words ``NAME@FILE`` (NAME: the notebook's file name without ``.md``), for the Makefile to
    read in one call."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] not in ("files", "deps"):
        print(main.__doc__, file=sys.stderr)
        return 2
    if args[0] == "files":
        print("\n".join(source_files(args[1:])))
    else:
        print(" ".join(f"{Path(nb).stem}@{path}" for nb in args[1:] for path in source_files([nb])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
