"""Tests of OD3's recorded run: the units of work, a resumed run, the deciding scale (MinAtar Breakout)."""

from __future__ import annotations

import dataclasses
import inspect

import pandas as pd
import pytest
import torch

from edgelearn import od3
from edgelearn.core import record, rl
from edgelearn.od3 import experiments
from edgelearn.od3.envs import env_spaces

TIMES = {"wall_s", "cpu_s", "wall_s_to_converge", "cpu_s_to_converge", "total_wall_s", "total_cpu_s"}
"""Measured times: the only columns that differ between two runs of the same seed."""

SMOKE = od3.SCALES["smoke"]
TINY = dataclasses.replace(
    SMOKE,
    teacher=dataclasses.replace(SMOKE.teacher, steps=300, learning_starts=100, log_every=100, eval_episodes=1),
    student=dataclasses.replace(SMOKE.student, steps=200, learning_starts=100, log_every=100, eval_episodes=1),
    seeds=(0, 1),
    sweep_steps=200,  # the students' length: BS32 (= LF4) is the EDGE-OD3 run of its seed
    sweep_seeds=(0, 1),
    batch_sizes=(32, 8),
    update_freqs=(4, 16),
)


def _same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        drop = sorted(TIMES & set(a[name].columns))
        pd.testing.assert_frame_equal(a[name].drop(columns=drop), b[name].drop(columns=drop), obj=name)


def test_units_are_the_training_runs_in_two_phases():
    first, second = experiments.units(TINY, [0, 1], [0, 1])
    assert [u["method"] for u in first] == ["CLOUD", "CLOUD", "EDGE", "EDGE"]
    assert {u["method"] for u in second} == {"EDGE-OD3"}
    assert all(u["teacher"] == {"config": dataclasses.asdict(TINY.teacher), "seed": 0} for u in second)
    # EDGE-OD3 x 2 seeds, BS8 / LF16 x 2 seeds (BS32 = LF4 = the EDGE-OD3 run), ablation x 2 seeds
    assert len(second) == 2 + 2 * 2 + 2
    assert sum(u["actor"] == "teacher" for u in second) == 2
    keys = [experiments._key(u) for u in first + second]
    assert len(set(keys)) == len(keys)
    with pytest.raises(ValueError, match="'method' must be one of"):
        experiments.unit_spec("TEACHER", TINY.teacher, 0)
    with pytest.raises(ValueError, match="'teacher'"):
        experiments.unit_spec("EDGE-OD3", TINY.student, 0)
    with pytest.raises(ValueError, match="'teacher_state'"):
        experiments.run_unit(second[0])


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_the_teacher_trains_first_with_the_longest_other_runs_beside_it(monkeypatch, workers):
    first, second = experiments.units(TINY, [0, 1], [0, 1])
    teacher, phases = first[0], []

    def fake_map(fn, tasks, cache, workers, backend, progress, spec):
        phases.append(tasks)
        return [{"state_dict": {"w": torch.ones(1)}} if task[0]["method"] == "CLOUD" else {} for task in tasks]

    monkeypatch.setattr(experiments, "resumable_map", fake_map)
    done = experiments.run_units(first, second, teacher, workers, "serial")
    assert len(done) == len(first) + len(second) and len(phases) == 2
    # phase 1: the teacher and, beside it, one run per other worker, the longest (the other CLOUD run) first
    beside = [task[0] for task in phases[0] if task[0] != teacher]
    assert teacher in [task[0] for task in phases[0]] and len(beside) == workers - 1
    assert [spec["method"] for spec in beside] == ["CLOUD", "EDGE"][: workers - 1]
    assert all(weights is None for _, weights in phases[0])
    # phase 2: everything else; the distilled runs get the teacher's weights, the others none
    assert {experiments._key(t[0]) for t in phases[0] + phases[1]} == {experiments._key(s) for s in first + second}
    for spec, weights in phases[1]:
        assert (weights is not None) == (spec["teacher"] is not None)
    costs = [experiments.unit_cost(task[0]) for task in phases[1]]
    assert costs == sorted(costs, reverse=True)  # longest first


def test_a_resumed_run_gives_the_tables_of_an_uninterrupted_one(tmp_path, results_dir, monkeypatch):
    monkeypatch.setenv(od3.CACHE_ENV, str(tmp_path / "teachers"))
    whole = experiments.run("smoke", 0, config=TINY)  # here, one run after the other, no checkpoints
    kept = tmp_path / "checkpoints"
    first = experiments.run("smoke", 0, config=TINY, workers=1, backend="serial", checkpoints=kept)
    n_units = sum(map(len, experiments.units(TINY, [0, 1], [0, 1])))
    files = sorted(kept.glob("*.pkl"))
    assert len(files) == n_units
    for path in files[::2]:  # a kill: about half of the runs never finished
        path.unlink()
    calls = []
    real = experiments.run_unit
    monkeypatch.setattr(experiments, "run_unit", lambda *task: calls.append(task[0]) or real(*task))
    resumed = experiments.run("smoke", 0, config=TINY, workers=1, backend="serial", checkpoints=kept)
    assert len(calls) == len(files[::2])  # only the lost runs ran again
    assert len(list(kept.glob("*.pkl"))) == n_units
    _same_tables(first, whole)
    _same_tables(resumed, whole)
    # the runs of the same settings: Case 2's BS32 is the EDGE-OD3 run of its seed, relabelled
    sweeps, curves = whole["sweeps"], whole["curves"]
    bs32 = sweeps[(sweeps.method == "EDGE-OD3-BS32") & (sweeps.seed == 1)].reset_index(drop=True)
    od3_run = curves[(curves.method == "EDGE-OD3") & (curves.seed == 1)].reset_index(drop=True)
    pd.testing.assert_frame_equal(bs32[["step", "reward", "loss"]], od3_run[["step", "reward", "loss"]])


def test_the_deciding_scale_runs_the_conv_nets_on_minatar_breakout():
    cfg = od3.SCALES["deciding"]
    assert tuple(od3.SCALES)[:4] == ("smoke", "laptop", "paper", "deciding")
    for run in (cfg.teacher, cfg.student):
        assert run.env == "minatar:breakout" and run.device == "cpu"
        assert od3.layout_for(run.env) == "minatar"
        assert run.eps_fraction * run.steps == 100_000  # MinAtar's annealing period, in steps
        assert (run.buffer, run.learning_starts, run.target_every) == (100_000, 5_000, 1_000)
        assert (run.batch_size, run.update_every, run.lr_start, run.lr_end) == (32, 4, 2.5e-4, 5e-5)  # Table 2
    assert env_spaces(cfg.teacher.env) == ((4, 10, 10), 3)
    teacher, student = od3.build_net(cfg.teacher.env, "largenet"), od3.build_net(cfg.student.env, "smallnet")
    assert teacher.layout == student.layout == "minatar"
    assert (teacher.widths, student.widths) == (od3.LARGENET["minatar"], od3.SMALLNET["minatar"])
    assert cfg.teacher.steps > cfg.student.steps == cfg.sweep_steps
    assert len(cfg.seeds) >= 3 and set(cfg.sweep_seeds) <= set(cfg.seeds) and cfg.ablation
    first, second = experiments.units(cfg, list(cfg.seeds), list(cfg.sweep_seeds))
    assert (len(first), len(second)) == (6, 3 + 6 * 3 + 3)
    rec = experiments.recorder("deciding", 0)
    assert rec.scale == "deciding" and rec.base["seeds"] == {"runs": [0, 1, 2], "sweeps": [0, 1, 2]}
    chapter, _ = record._chapter("od3", "deciding")
    assert {"workers", "backend", "checkpoints"} <= set(inspect.signature(chapter.run).parameters)


def test_minatar_maps_are_stored_as_uint8(monkeypatch):
    seen = {}
    real = rl.ReplayBuffer

    def spy(*args, **kwargs):
        seen["buffer"] = real(*args, **kwargs)
        return seen["buffer"]

    monkeypatch.setattr(rl, "ReplayBuffer", spy)
    cfg = dataclasses.replace(
        od3.SCALES["deciding"].student, steps=60, learning_starts=20, log_every=30, eval_episodes=0, buffer=100
    )
    od3.train(od3.build_net(cfg.env, "smallnet"), cfg, seed=0)
    memory = seen["buffer"]
    assert memory.obs.dtype == torch.uint8  # 0/1 maps, exact in a quarter of float32's memory
    assert set(memory.obs[: len(memory)].unique().tolist()) == {0, 1}
