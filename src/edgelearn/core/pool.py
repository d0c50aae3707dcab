"""Independent runs spread over processes: the one pool every chapter uses.

:class:`Pool` runs a module-level function over many argument tuples, on one of three backends:

``"serial"``
    in this process, one after the other, on one torch thread like a worker: plain tracebacks,
    and the reference the others match bit for bit;
``"process"``
    a :class:`concurrent.futures.ProcessPoolExecutor` of ``workers`` *spawned* processes (no fork
    of a process whose OpenMP threads run; CUDA initialises only inside the workers);
``"ray"``
    Ray tasks of one CPU each: on the cluster named by ``$RAY_ADDRESS`` when it is set (or one
    the caller attached with ``ray.init``), else on a local Ray started with ``workers`` CPUs.

Every worker uses one torch thread, so ``workers`` processes share the cores without
oversubscription. A pool may carry a **setup** function, run once per worker process before its
first task (e.g. loading a data set); its return value is what :func:`context` gives the task
functions in that process. With the serial backend the setup runs once in this process. A pool
kept open across many ``map`` calls keeps its workers warm and their data loaded (a whole
TRL-HPO search uses one).

:func:`parallel_map` is the one-call form: ``parallel_map(fn, tasks, workers=2)``.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from edgelearn.core.fit import torch_threads
from edgelearn.core.store import DiskCache

BACKENDS: tuple[str, ...] = ("serial", "process", "ray")

# what this process's setup returned, keyed by the token of the pool that ran it
_CONTEXT: dict[str, Any] = {}


def context() -> Any:
    """The value the current pool's setup returned in this process (``None`` without a setup)."""
    if "token" not in _CONTEXT:
        raise RuntimeError("no pool context in this process: call context() from a task of a Pool with a setup")
    return _CONTEXT["value"]


def _ensure_setup(token: str, setup: Callable[..., Any] | None, setup_args: Sequence[Any]) -> None:
    if _CONTEXT.get("token") != token:
        _CONTEXT.clear()  # free the previous pool's data first
        _CONTEXT.update(token=token, value=setup(*setup_args) if setup is not None else None)


def _worker_start(token: str, setup: Callable[..., Any] | None, setup_args: Sequence[Any]) -> None:
    """Process initializer: one torch thread, then the pool's setup."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    _ensure_setup(token, setup, setup_args)


def _call(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    return fn(*args)


def _ray_call(
    token: str, setup: Callable[..., Any] | None, boxed_args: list[Any], fn: Callable[..., Any], args: Sequence[Any]
) -> Any:
    """A Ray task: runs the setup once per Ray worker process (its arguments come boxed in a list so
    that Ray hands over the object reference, fetched here only when the setup has to run)."""
    if _CONTEXT.get("token") != token:
        import ray
        import torch

        torch.set_num_threads(1)
        setup_args = ray.get(boxed_args[0]) if boxed_args else ()
        _ensure_setup(token, setup, setup_args)
    return fn(*args)


def default_workers() -> int:
    """The CPUs this process may use (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as err:  # pragma: no cover - ray is in requirements.txt
        raise ImportError(
            "backend='ray' needs Ray, which is not installed: pip install ray (or use backend='process')"
        ) from err
    return ray


class Pool:
    """``workers`` processes (or Ray tasks) running independent tasks; use as a context manager.

    >>> with Pool(workers=2, setup=load_data, setup_args=(cfg,)) as pool:
    ...     results = pool.map(train_one, [(0,), (1,), (2,)])   # in task order
    ...     for r in pool.as_completed(train_one, more_tasks):   # as they finish
    ...         sink(r)

    ``backend="process"`` with ``workers=1`` runs serially in this process (the same results).
    """

    def __init__(
        self,
        workers: int | None = None,
        backend: str = "process",
        *,
        setup: Callable[..., Any] | None = None,
        setup_args: Sequence[Any] = (),
    ) -> None:
        workers = default_workers() if workers is None else workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"'workers' must be an integer >= 1; got {workers!r}")
        if backend not in BACKENDS:
            raise ValueError(f"'backend' must be one of {list(BACKENDS)}; got {backend!r}")
        self.workers, self.setup, self.setup_args = workers, setup, tuple(setup_args)
        self.backend = "serial" if backend == "process" and workers == 1 else backend
        self.token = uuid.uuid4().hex
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._ray: Any = None
        self._ray_started = False
        if self.backend == "serial":
            self._saved_context = dict(_CONTEXT)
            _ensure_setup(self.token, setup, self.setup_args)
        elif self.backend == "process":
            self._executor = concurrent.futures.ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_start,
                initargs=(self.token, setup, self.setup_args),
            )
        else:
            self._start_ray()

    def _start_ray(self) -> None:
        ray = self._ray = _import_ray()
        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS")
            if address:  # an existing cluster: its resources, not ours
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
            self._ray_started = True
        self._remote = ray.remote(num_cpus=1)(_ray_call)
        self._boxed = [ray.put(self.setup_args)] if self.setup_args else []

    def warm_up(self) -> None:
        """Start every worker now (and run its setup), e.g. before a timed search."""
        if self._executor is not None:
            list(self._executor.map(_call, [_noop] * self.workers, [()] * self.workers))

    def _submit_ray(self, fn: Callable[..., Any], tasks: list[tuple], options: dict[str, Any] | None) -> list[Any]:
        remote = self._remote.options(**options) if options else self._remote
        return [remote.remote(self.token, self.setup, self._boxed, fn, task) for task in tasks]

    def as_completed(
        self, fn: Callable[..., Any], tasks: Iterable[Sequence[Any]], ray_options: dict[str, Any] | None = None
    ) -> Iterator[Any]:
        """Yield ``fn(*task)`` for every task as it finishes (in task order on the serial backend).

        On an exception the tasks not yet started are cancelled. ``ray_options``: resources of
        each Ray task (e.g. ``{"num_gpus": 0.5}``), ignored by the other backends.
        """
        tasks = [tuple(t) for t in tasks]
        if self.backend == "serial":
            for task in tasks:
                with torch_threads(1):
                    result = fn(*task)
                yield result
        elif self.backend == "process":
            assert self._executor is not None
            futures = [self._executor.submit(_call, fn, task) for task in tasks]
            try:
                for future in concurrent.futures.as_completed(futures):
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()
        else:
            pending = self._submit_ray(fn, tasks, ray_options)
            try:
                while pending:
                    done, pending = self._ray.wait(pending, num_returns=1)
                    yield self._ray.get(done[0])
            finally:
                for ref in pending:
                    self._ray.cancel(ref, force=True)

    def map(
        self,
        fn: Callable[..., Any],
        tasks: Iterable[Sequence[Any]],
        progress: Callable[[Any], None] | None = None,
        ray_options: dict[str, Any] | None = None,
    ) -> list[Any]:
        """``[fn(*task) for task in tasks]``, in task order; ``progress`` is called with each result
        as it arrives (e.g. a tqdm bar's update)."""
        tasks = [tuple(t) for t in tasks]
        if self.backend == "serial":
            results = []
            with torch_threads(1):  # as a worker: bit-identical to the other backends
                for task in tasks:
                    results.append(fn(*task))
                    if progress:
                        progress(results[-1])
            return results
        if self.backend == "process":
            assert self._executor is not None
            futures = [self._executor.submit(_call, fn, task) for task in tasks]
            try:
                if progress:
                    for future in concurrent.futures.as_completed(futures):
                        progress(future.result())
                return [f.result() for f in futures]
            finally:
                for future in futures:
                    future.cancel()
        refs = self._submit_ray(fn, tasks, ray_options)
        if progress:
            pending = list(refs)
            while pending:
                done, pending = self._ray.wait(pending, num_returns=1)
                progress(self._ray.get(done[0]))
        return self._ray.get(refs)

    def close(self) -> None:
        """Stop the workers (a Ray instance only if this pool started it)."""
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None
        if self._ray_started and self._ray is not None and self._ray.is_initialized():
            self._ray.shutdown()
            self._ray_started = False
        if self.backend == "serial" and _CONTEXT.get("token") == self.token:
            _CONTEXT.clear()
            _CONTEXT.update(self._saved_context)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _noop() -> None:
    return None


def parallel_map(
    fn: Callable[..., Any],
    tasks: Iterable[Sequence[Any]],
    workers: int | None = None,
    backend: str = "process",
    progress: Callable[[Any], None] | None = None,
    *,
    setup: Callable[..., Any] | None = None,
    setup_args: Sequence[Any] = (),
) -> list[Any]:
    """``[fn(*task) for task in tasks]`` on a :class:`Pool` of ``workers`` (no more than there are
    tasks), closed afterwards. ``fn`` must be importable (a module-level function) and its
    arguments picklable."""
    tasks = [tuple(t) for t in tasks]
    workers = default_workers() if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"'workers' must be an integer >= 1; got {workers!r}")
    with Pool(min(workers, max(1, len(tasks))), backend, setup=setup, setup_args=setup_args) as pool:
        return pool.map(fn, tasks, progress)


def _indexed(fn: Callable[..., Any], index: int, task: Sequence[Any]) -> tuple[int, Any]:
    return index, fn(*task)


def resumable_map(
    fn: Callable[..., Any],
    tasks: Iterable[Sequence[Any]],
    cache: DiskCache | None,
    workers: int | None = None,
    backend: str = "process",
    progress: Callable[[Any], None] | None = None,
    *,
    spec: Callable[[tuple], Any] = lambda task: task,
) -> list[Any]:
    """:func:`parallel_map` that keeps each task's result in ``cache`` as soon as it finishes.

    A rerun after an interruption computes only the tasks whose results are not cached yet, so a
    kill loses at most the tasks in flight. ``spec(task)`` describes a task for the cache key (the
    task itself by default; it must be JSON-serialisable); the cache's code fingerprint makes
    results of other code miss. ``cache=None`` is plain :func:`parallel_map`. ``progress`` is
    called once per task, cached ones included.
    """
    tasks = [tuple(t) for t in tasks]
    if cache is None:
        return parallel_map(fn, tasks, workers, backend, progress)
    missing = object()
    results = [cache.get(spec(task), missing) for task in tasks]
    todo = [i for i, value in enumerate(results) if value is missing]
    for value in results:
        if value is not missing and progress is not None:
            progress(value)
    if todo:
        workers = default_workers() if workers is None else workers
        with Pool(min(workers, len(todo)), backend) as pool:
            for i, value in pool.as_completed(_indexed, [(fn, i, tasks[i]) for i in todo]):
                cache.put(spec(tasks[i]), value)
                results[i] = value
                if progress is not None:
                    progress(value)
    return results


__all__ = ["BACKENDS", "Pool", "context", "default_workers", "parallel_map", "resumable_map"]
