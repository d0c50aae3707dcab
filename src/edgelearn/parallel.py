"""Independent runs spread over processes: one function, many argument tuples, results in order.

A thin layer over :class:`concurrent.futures.ProcessPoolExecutor` (the default, for a laptop)
and Ray (``backend="ray"``, for a cluster: ``ray.init(address=...)`` before calling, or a local
instance is started with ``workers`` CPUs). Each worker process uses one torch thread, so
``workers`` processes share the machine's cores without oversubscription. With ``workers=1``
everything runs in this process, which keeps tracebacks plain and results bit-identical to a
serial loop.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

BACKENDS: tuple[str, ...] = ("process", "ray")


def _one_thread() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def _call(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    return fn(*args)


def default_workers() -> int:
    """The CPUs this process may use (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def parallel_map(fn: Callable[..., Any], tasks: Iterable[Sequence[Any]], workers: int | None = None,
                 backend: str = "process", progress: Callable[[Any], None] | None = None) -> list[Any]:
    """``[fn(*task) for task in tasks]``, computed by ``workers`` processes (or Ray tasks).

    ``fn`` must be importable (a module-level function) and its arguments picklable. ``progress``
    is called with each result as it arrives (e.g. a tqdm bar's update).
    """
    tasks = [tuple(t) for t in tasks]
    workers = default_workers() if workers is None else workers
    if int(workers) != workers or workers < 1:
        raise ValueError(f"'workers' must be an integer >= 1, got {workers!r}")
    if backend not in BACKENDS:
        raise ValueError(f"'backend' must be one of {BACKENDS}, got {backend!r}")
    workers = min(int(workers), max(1, len(tasks)))
    if backend == "ray":
        return _ray_map(fn, tasks, workers, progress)
    if workers == 1:
        results = []
        for task in tasks:
            results.append(fn(*task))
            if progress:
                progress(results[-1])
        return results
    context = multiprocessing.get_context("spawn")  # no fork after torch has started threads
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread) as pool:
        futures = [pool.submit(_call, fn, task) for task in tasks]
        if progress:
            for future in concurrent.futures.as_completed(futures):
                progress(future.result())
        return [f.result() for f in futures]


def _ray_map(fn: Callable[..., Any], tasks: list[tuple], workers: int,
             progress: Callable[[Any], None] | None) -> list[Any]:
    try:
        import ray
    except ImportError as err:  # pragma: no cover - ray is in requirements.txt
        raise ImportError("backend='ray' needs Ray: pip install ray") from err
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(_call)
        refs = [remote.remote(fn, task) for task in tasks]
        if progress:
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                progress(ray.get(done[0]))
        return ray.get(refs)
    finally:
        if started:
            ray.shutdown()
