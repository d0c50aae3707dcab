r"""The MA2ML joint table: every AUG x NAS x HPO pipeline trained for real, several seeds each.

ImageNet is out of reach here, so the MA2ML chapter trains **every** pipeline of a small joint
space (:mod:`edgelearn.ma2ml.pipelines`) on a small image data set (Fashion-MNIST by default)
and stores validation accuracy, forward FLOPs and parameter counts in a table that the searchers
query in microseconds (:class:`edgelearn.ma2ml.TabularBenchmark`), like NAS-Bench-201.

* :func:`build_table` runs every (pipeline, seed) once, in this process or on a
  :class:`edgelearn.core.pool.Pool` of processes or Ray tasks whose setup loads the data once
  per worker. Each finished row goes to a :class:`edgelearn.core.store.RowLog`
  (``<table>.partial.csv``), so an interrupted build resumes where it stopped. The table and its
  provenance are written by :func:`edgelearn.core.results.write_table`.
* The table is current while the code of :mod:`edgelearn.ma2ml.pipelines` (and the core modules
  it imports) is unchanged: its provenance records that code fingerprint, and
  :func:`load_joint_table` refuses a table made by other code, naming the changed modules. The
  fingerprint leaves out the ``Scales`` tables (:data:`TABLE_METHOD`): a table keeps the
  configuration and the space it was built with, and :func:`load_joint_table` with a ``scale``
  compares them by value with today's :data:`~edgelearn.ma2ml.pipelines.TABLE_SCALES` and
  :data:`~edgelearn.ma2ml.pipelines.TABLE_SPACES`, so that adding or tuning one scale's table
  leaves the others current.
* Command line: ``python -m edgelearn.ma2ml.table --scale laptop --workers 2 [--backend ray]``
  (``make table``; ``TABLE_SCALE=deciding`` for the recorded run's table).

Every run uses one torch thread, so a table built with one worker and one built with several
are identical except for ``train_seconds``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from edgelearn.core.fit import torch_threads
from edgelearn.core.pool import BACKENDS, Pool, context
from edgelearn.core.results import StaleResultError, provenance_base, read_table, repo_root, write_table
from edgelearn.core.store import RowLog, changed_modules, code_fingerprint, jsonable, key_hash, write_atomic
from edgelearn.ma2ml.pipelines import (
    MODULES,
    TABLE_SCALES,
    TABLE_SPACES,
    JointSpace,
    TableConfig,
    evaluate_pipeline,
    load_table_data,
)

PIPELINES = "edgelearn.ma2ml.pipelines"
"""The module whose code (with everything it imports) determines the table's numbers."""

TABLE_METHOD = "code-without-scales"
"""How a table fingerprints the code of :data:`PIPELINES` (:data:`edgelearn.core.store.FINGERPRINT_METHODS`):
without its ``Scales`` tables (:data:`~edgelearn.ma2ml.pipelines.TABLE_SCALES`,
:data:`~edgelearn.ma2ml.pipelines.TABLE_SPACES`), because a table records its configuration and space
and :func:`load_joint_table` compares them by value: adding the ``deciding`` scale leaves the laptop
table current, editing the laptop configuration does not."""

REBUILD_HINT = "rebuild it with `make table`"


def rebuild_hint(scale: str | None = None) -> str:
    """How to rebuild the table of ``scale``: ``make table TABLE_SCALE=<scale> WORKERS=2``."""
    return REBUILD_HINT if scale in (None, "laptop") else f"rebuild it with `make table TABLE_SCALE={scale} WORKERS=2`"


def table_fingerprint() -> dict[str, Any]:
    """The code fingerprint a table records: :data:`PIPELINES` hashed by :data:`TABLE_METHOD` (``as_dict`` form)."""
    return code_fingerprint(PIPELINES, TABLE_METHOD).as_dict()


COLUMNS: tuple[str, ...] = (
    "aug",
    "arch",
    "hpo",
    "aug_idx",
    "arch_idx",
    "hpo_idx",
    "seed",
    "val_accuracy",
    "train_accuracy",
    "flops",
    "params",
    "train_seconds",
)
"""Columns of the table, one row per (pipeline, seed)."""
KEY: tuple[str, ...] = ("aug_idx", "arch_idx", "hpo_idx", "seed")


def run_key(space: JointSpace, config: TableConfig, code_hash: str | None = None) -> str:
    """What the rows of a partial table belong to: a hash of the space, the config and the code
    fingerprint of :mod:`edgelearn.ma2ml.pipelines` (``code_hash``, by default as it is now)."""
    code_hash = code_fingerprint(PIPELINES, TABLE_METHOD).hash if code_hash is None else code_hash
    return key_hash({"space": space.describe(), "config": config, "code": code_hash})


def _train_one(space: JointSpace, config: TableConfig, a: int, n: int, h: int, seed: int) -> dict[str, Any]:
    """A pool task: train one (pipeline, seed) on the data the worker's setup loaded."""
    return evaluate_pipeline(space, a, n, h, seed, config, context())


def _check_complete(df: pd.DataFrame, space: JointSpace, config: TableConfig) -> None:
    expected = {(a, n, h, s) for a, n, h in space.pipelines() for s in config.seeds}
    found = list(df[list(KEY)].itertuples(index=False, name=None))
    if len(found) != len(set(found)) or set(found) != expected:
        missing = sorted(expected - set(found))[:5]
        raise RuntimeError(
            f"table incomplete or with duplicates: {len(found)} rows for {len(expected)} "
            f"(pipeline, seed) pairs; first missing: {missing}"
        )


def build_table(
    space: JointSpace,
    config: TableConfig,
    out: str | Path,
    workers: int = 1,
    backend: str = "process",
    progress: bool = True,
    *,
    data_dir: str | Path | None = None,
    download: bool | None = None,
) -> pd.DataFrame:
    """Train every (pipeline, seed) of ``space`` x ``config.seeds`` once and save the table at ``out``.

    **Resumable.** Each finished row is appended to the :class:`~edgelearn.core.store.RowLog`
    ``out.with_suffix(".partial.csv")``, whose run key is a hash of the space, the config and the
    code fingerprint of :mod:`edgelearn.ma2ml.pipelines`; a new call with the same three skips the
    rows already there, so a build killed at any moment loses at most the runs in flight. A log
    of another space, config or code is discarded, never mixed in.

    **Parallel.** A :class:`~edgelearn.core.pool.Pool` of ``workers`` on ``backend`` ("process":
    with one worker the runs happen in this process; "ray": one Ray task per run), whose setup
    loads the data once per worker; every run uses one torch thread.

    At the end the table (sorted by :data:`KEY`, columns :data:`COLUMNS`) and its provenance
    (:func:`edgelearn.core.results.provenance_base` of the pipelines module: code fingerprint, git
    commit, packages; config, dims, space, seeds, data source, wall time) are written with
    :func:`edgelearn.core.results.write_table`, and the row log is removed. Returns the table as
    :func:`load_joint_table` reads it.
    """
    if not isinstance(space, JointSpace):
        raise TypeError(f"'space' must be a JointSpace; got {type(space).__name__}")
    if not isinstance(config, TableConfig):
        raise TypeError(f"'config' must be a TableConfig; got {type(config).__name__}")
    out = Path(out)
    if out.suffix != ".csv":
        raise ValueError(f"'out' must be a .csv path; got {out}")
    started_utc = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = time.perf_counter()
    # the code as it is now, not as it may be when the build ends
    provenance = provenance_base(
        PIPELINES,
        builder="edgelearn.ma2ml.table.build_table",
        config=config,
        dims=list(space.dims),
        space=space.describe(),
        seeds=list(config.seeds),
        backend=backend,
        workers=workers,
        torch_threads_per_run=1,
    )
    provenance["code"] = table_fingerprint()  # without the Scales tables: config and space are kept by value
    data_dir = None if data_dir is None else str(data_dir)
    setup_args = (config, data_dir, download)

    with torch_threads(1), Pool(workers, backend, setup=load_table_data, setup_args=setup_args) as pool:
        data = context() if pool.backend == "serial" else load_table_data(*setup_args)
        provenance["data_source"] = data.source
        partial = out.with_suffix(".partial.csv")
        with RowLog(partial, run_key(space, config, provenance["code"]["hash"]), COLUMNS) as log:
            done = log.done.drop_duplicates(subset=list(KEY), keep="first")
            finished = set(done[list(KEY)].itertuples(index=False, name=None))
            todo = [
                (space, config, a, n, h, s)
                for a, n, h in space.pipelines()
                for s in config.seeds
                if (a, n, h, s) not in finished
            ]
            bar = tqdm(
                total=space.n_pipelines * len(config.seeds),
                initial=len(finished),
                disable=not progress,
                desc=f"{out.name} ({pool.backend}, {workers} worker{'s' * (workers > 1)})",
                unit="run",
            )
            rows: list[dict[str, Any]] = []
            with bar:
                for row in pool.as_completed(_train_one, todo):
                    log.append(row)
                    rows.append(row)
                    bar.update(1)

            parts = [part for part in (done, pd.DataFrame(rows, columns=list(COLUMNS))) if len(part)]
            table = pd.concat(parts, ignore_index=True)
            table = table.astype({c: "int64" for c in (*KEY, "flops", "params")})
            table = table.sort_values(list(KEY), ignore_index=True)[list(COLUMNS)]
            _check_complete(table, space, config)
            provenance.update(
                rows_resumed=len(done),
                wall_time_s=round(time.perf_counter() - clock, 3),
                train_seconds_total=round(float(table["train_seconds"].sum()), 3),
                started_utc=started_utc,
                finished_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            )
            write_table(out, table, provenance)
            log.remove()
    return read_table(out)[0]  # exactly what load_joint_table will read


def load_joint_table(path: str | Path, scale: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a table written by :func:`build_table` and its provenance, checking both.

    Raises :class:`FileNotFoundError` when either file is missing, and
    :class:`~edgelearn.core.store.StaleResultError` when the CSV does not match the SHA-256
    recorded, when the code of :mod:`edgelearn.ma2ml.pipelines` (or of a module it imports)
    differs from the fingerprint recorded (naming the changed modules), or when the columns or
    rows are not those of a joint table. With ``scale``, also when the table's configuration or
    space is not today's ``TABLE_SCALES[scale]`` / ``TABLE_SPACES[scale]`` (compared by value: the
    fingerprint leaves those tables out, :data:`TABLE_METHOD`); the messages name the command
    that rebuilds it.
    """
    hint = rebuild_hint(scale)
    df, meta = read_table(path, require_current=True, hint=hint)
    if tuple(df.columns) != COLUMNS or len(df) != meta.get("rows"):
        raise StaleResultError(f"{path} has unexpected columns or rows; {hint}")
    if scale is not None:
        for what, now in (("config", jsonable(TABLE_SCALES[scale])), ("space", TABLE_SPACES[scale].describe())):
            if meta.get(what) != now:
                raise StaleResultError(
                    f"{path} was built with another {what} than today's {scale} scale "
                    f"({meta.get(what)} instead of {now}); {hint}"
                )
    return df, meta


def table_is_current(path: str | Path, space: JointSpace, config: TableConfig) -> bool:
    """True iff :func:`load_joint_table` accepts ``path`` and it holds exactly ``space`` x ``config``."""
    try:
        _, meta = load_joint_table(path)
    except (FileNotFoundError, StaleResultError, ValueError):
        return False
    return meta.get("config") == jsonable(config) and meta.get("space") == space.describe()


def reexpress_fingerprint(path: str | Path, method: str = TABLE_METHOD) -> dict[str, Any]:
    """Rewrite the code fingerprint of the table at ``path`` in ``method``, once its recorded one is checked.

    A one-off for tables built before :data:`TABLE_METHOD` (their fingerprint hashes
    :mod:`edgelearn.ma2ml.pipelines` with its ``Scales`` tables, method ``code``): only when that
    fingerprint matches the code as it is now (no module changed) is it replaced by the fingerprint
    of the same code in ``method``; the CSV and every other field are left as they are (its
    SHA-256 covers the CSV only). Raises :class:`~edgelearn.core.store.StaleResultError` naming the
    changed modules otherwise. Returns the new fingerprint.
    """
    path = Path(path)
    _, meta = read_table(path)  # the CSV matches its provenance
    changed = changed_modules(meta.get("code"))
    if changed:
        raise StaleResultError(f"{path} was made by other code (changed since: {', '.join(changed)}): not re-expressed")
    meta["code"] = code_fingerprint(meta["code"]["modules"], method).as_dict()
    write_atomic(path.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True).encode() + b"\n")
    return meta["code"]


def default_table_path(scale: str) -> Path:
    """``data/tables/ma2ml_fashion.csv`` for the laptop scale, ``ma2ml_<dataset>_<scale>.csv`` otherwise."""
    config = TABLE_SCALES[scale]
    short = "fashion" if config.dataset == "fashion-mnist" else config.dataset
    name = f"ma2ml_{short}.csv" if scale == "laptop" else f"ma2ml_{short}_{scale}.csv"
    return repo_root() / "data" / "tables" / name


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m edgelearn.ma2ml.table --scale laptop --workers 2 [--backend ray] [--out ...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m edgelearn.ma2ml.table",
        description=(
            "Train every AUG x NAS x HPO pipeline of the MA2ML joint space for real and save the table. "
            "An interrupted build resumes from <out>.partial.csv; an up-to-date table is left alone."
        ),
    )
    parser.add_argument("--scale", choices=list(TABLE_SCALES), default="laptop")
    parser.add_argument(
        "--out", type=Path, default=None, help="output CSV (default data/tables/ma2ml_fashion.csv for laptop)"
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backend", choices=list(BACKENDS), default="process")
    for module in MODULES:
        parser.add_argument(
            f"--{module}",
            default=None,
            metavar="CHOICES",
            help=f"restrict module {module!r} to these comma-separated names or indices",
        )
    parser.add_argument("--force", action="store_true", help="rebuild even when the table is up to date")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    picks = {
        m: [int(v) if v.strip().isdigit() else v.strip() for v in getattr(args, m).split(",")]
        for m in MODULES
        if getattr(args, m) is not None
    }
    space, config = TABLE_SPACES[args.scale].subspace(**picks), TABLE_SCALES[args.scale]
    out = args.out if args.out is not None else default_table_path(args.scale)
    if not args.force and table_is_current(out, space, config):
        print(f"{out} is up to date (built by this code for scale {args.scale}); --force rebuilds it")
        return 0
    total = space.n_pipelines * len(config.seeds)
    print(
        f"building {out}: {space.n_pipelines} pipelines {space.dims} x {len(config.seeds)} seeds = {total} runs "
        f"at scale {args.scale} ({config}); backend {args.backend}, {args.workers} worker(s)",
        flush=True,
    )
    table = build_table(space, config, out, workers=args.workers, backend=args.backend, progress=not args.no_progress)
    mean = table.groupby(["aug", "arch", "hpo"])["val_accuracy"].mean()
    print(
        f"wrote {out} ({len(table)} rows) and {out.with_suffix('.json').name}; best mean validation "
        f"accuracy {mean.max():.4f} for {'/'.join(mean.idxmax())}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
