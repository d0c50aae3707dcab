"""The one pool: serial, process and Ray backends give the same results; a setup runs once per worker."""

from __future__ import annotations

import os

import pytest
import torch

from edgelearn.core import pool
from edgelearn.core.pool import Pool, parallel_map


def load(scale: int) -> dict:
    """A stand-in for loading a data set once per worker."""
    return {"data": torch.arange(5) * scale, "pid": os.getpid()}


def task(i: int) -> tuple[int, int, int]:
    ctx = pool.context()
    return i, int(ctx["data"][i]), torch.get_num_threads()


def worker_pid(_: int) -> int:
    return pool.context()["pid"]


def fail(i: int) -> int:
    if i == 2:
        raise ArithmeticError("task 2 failed")
    return i


TASKS = [(i,) for i in range(5)]
EXPECTED = [(i, 10 * i) for i in range(5)]


@pytest.mark.parametrize("backend, workers", [("serial", 1), ("process", 1), ("process", 2), ("ray", 2)])
def test_every_backend_gives_the_serial_results_with_the_setup_context(backend, workers, monkeypatch):
    # Ray's workers import this module's functions by name: let them find it (processes inherit sys.path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")]))
    with Pool(workers, backend, setup=load, setup_args=(10,)) as p:
        results = p.map(task, TASKS)
        assert [r[:2] for r in results] == EXPECTED
        assert {r[2] for r in results} == {1}  # one torch thread per task, on every backend
        finished = sorted(r[:2] for r in p.as_completed(task, TASKS))
        assert finished == EXPECTED


def test_the_setup_runs_once_per_worker_process():
    with Pool(2, "process", setup=load, setup_args=(1,)) as p:
        p.warm_up()
        pids = p.map(worker_pid, [(i,) for i in range(12)])
    assert 1 <= len(set(pids)) <= 2 and os.getpid() not in pids


def test_serial_pool_restores_the_outer_context():
    with Pool(1, "serial", setup=load, setup_args=(2,)):
        assert int(pool.context()["data"][1]) == 2
        with Pool(1, "serial", setup=load, setup_args=(3,)):
            assert int(pool.context()["data"][1]) == 3
        assert int(pool.context()["data"][1]) == 2
    with pytest.raises(RuntimeError, match="no pool context"):
        pool.context()


def test_parallel_map_keeps_order_and_reports_progress():
    seen = []
    assert parallel_map(pow, [(2, k) for k in range(6)], workers=2, progress=seen.append) == [2**k for k in range(6)]
    assert sorted(seen) == [2**k for k in range(6)]


@pytest.mark.parametrize("backend", ["serial", "process"])
def test_a_failing_task_raises_in_the_caller(backend):
    with pytest.raises(ArithmeticError, match="task 2 failed"):
        parallel_map(fail, TASKS, workers=2 if backend == "process" else 1, backend=backend)


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="'workers'"):
        parallel_map(pow, [(2, 1)], workers=0)
    with pytest.raises(ValueError, match="'backend'.*serial"):
        Pool(2, "dask")
    with pytest.raises(ValueError, match="'workers'"):
        Pool(True)
