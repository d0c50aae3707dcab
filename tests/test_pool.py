"""The one pool: serial, process and Ray backends give the same results; a setup runs once per worker."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


ATTACHED = """
import ray
from edgelearn.core.pool import Pool
with Pool(2, "ray") as p:
    squares = p.map(pow, [(k, 2) for k in range(4)])
    print(squares, ray.get_runtime_context().gcs_address)
"""


def test_the_ray_backend_attaches_to_the_cluster_named_by_ray_address(tmp_path):
    """A reader's cluster, here one started with ``ray start --head``: the pool attaches to it
    through $RAY_ADDRESS instead of starting its own Ray, and leaves it running."""
    ray_cli = str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    address = f"127.0.0.1:{port}"
    temp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # Ray's socket paths must stay short
    # A throwaway local cluster: no token authentication (a reader's cluster sets RAY_AUTH_TOKEN).
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    # --block keeps the head in this process's hands: terminating it stops this cluster only
    # (`ray stop` would stop every Ray on the machine, including other tests' local ones).
    head = subprocess.Popen(
        [
            ray_cli,
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={temp}",
            "--disable-usage-stats",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while subprocess.run([ray_cli, "status", f"--address={address}"], env=env, capture_output=True).returncode:
            assert head.poll() is None, f"ray start --head failed: {head.stderr.read()[-3000:]}"
            assert time.monotonic() < deadline, "the Ray head did not come up within 120 s"
            time.sleep(1)
        run = subprocess.run(
            [sys.executable, "-c", ATTACHED],
            env={**env, "RAY_ADDRESS": address},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        squares, gcs = run.stdout.strip().splitlines()[-1].rsplit(" ", 1)
        assert squares == "[0, 1, 4, 9]"
        assert gcs.endswith(f":{port}")  # the tasks ran on the cluster we started, not on a new local Ray
        status = subprocess.run([ray_cli, "status", f"--address={address}"], env=env, capture_output=True)
        assert status.returncode == 0, "the pool must leave the reader's cluster running"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
