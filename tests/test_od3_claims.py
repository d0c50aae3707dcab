"""The OD3 verdict rules on small synthetic tables (every verdict each rule can give), their
coverage of data/paper/od3.yaml, and a tiny run of the experiments that makes the tables they read."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from edgelearn import od3
from edgelearn.core.scorecard import NOT_REPRODUCED, NOT_TESTABLE, PARTLY, REPRODUCED, paper_values
from edgelearn.od3 import claims
from edgelearn.od3.experiments import PAPER_LAYOUT

SEEDS = (0, 1, 2)


# --- synthetic tables with the columns the experiments write ------------------------------------


def networks(large: int = claims.PAPER_LARGENET, small: int = claims.PAPER_SMALLNET, nature_small: int = 111_798):
    rows = [
        ("atari", "largenet", 1_687_206),
        ("atari", "smallnet", nature_small),
        (PAPER_LAYOUT, "largenet", large),
        (PAPER_LAYOUT, "smallnet", small),
    ]
    return pd.DataFrame(rows, columns=["layout", "network", "parameters"])


def table3(steps=None, wall=None, run_mean=None, budget=10_000, env="cartpole", size_pct=6.8, teacher_eval=200.0):
    """One row per method x seed; ``steps``/``wall``/``run_mean``: method -> per-seed values (NaN:
    never converged). Defaults: EDGE-OD3 fast, EDGE and CLOUD slow."""
    steps = {"CLOUD": [6000, 6500, 7000], "EDGE": [9000, 9500, 8500], "EDGE-OD3": [2000, 2500, 2200]} | (steps or {})
    wall = {"CLOUD": [2.0, 2.2, 2.4], "EDGE": [3.0, 3.3, 2.9], "EDGE-OD3": [1.0, 1.1, 0.9]} | (wall or {})
    run_mean = {"CLOUD": [180, 190, 170], "EDGE": [100, 110, 90], "EDGE-OD3": [185, 180, 190]} | (run_mean or {})
    rows = []
    for method in ("CLOUD", "EDGE", "EDGE-OD3"):
        for i, seed in enumerate(SEEDS[: len(steps[method])]):
            s, w = steps[method][i], wall[method][i]
            rows.append(
                {"method": method, "seed": seed, "parameters": 100 if method == "CLOUD" else 7,
                 "size_pct": 100.0 if method == "CLOUD" else size_pct, "steps_to_converge": s,
                 "wall_s_to_converge": w, "cpu_s_to_converge": w, "converged": not math.isnan(s),
                 "final_reward": 190.0, "run_mean": run_mean[method][i], "total_steps": float(budget),
                 "total_wall_s": 5.0, "total_cpu_s": 5.0, "threshold": 160.0, "teacher_eval": teacher_eval, "env": env}
            )  # fmt: skip
    return pd.DataFrame(rows)


def final_eval(od3_return: float, n_seeds: int = 3):
    rows = [{"method": m, "seed": s, "eval_return": v} for s in range(n_seeds) for m, v in
            (("CLOUD", 200.0), ("EDGE", 120.0), ("EDGE-OD3", od3_return))]  # fmt: skip
    return pd.DataFrame(rows)


def sweeps(batch_wall=None, batch_mean=None, update_wall=None, update_mean=None, seeds=SEEDS):
    """Case-2 curves, two checkpoints per run, whose run mean and final wall time are as given
    (setting -> per-seed values); the defaults reproduce every Case-2 claim."""
    batch_wall = {32: [3.0, 3.1, 2.9], 16: [2.5] * 3, 8: [2.0] * 3, 4: [1.0, 1.2, 1.1]} | (batch_wall or {})
    batch_mean = {32: [160, 165, 170], 16: [162] * 3, 8: [158] * 3, 4: [161, 163, 166]} | (batch_mean or {})
    update_wall = {4: [3.0, 3.1, 2.9], 8: [2.0] * 3, 16: [1.5] * 3, 32: [1.0, 1.1, 0.9]} | (update_wall or {})
    update_mean = {4: [160, 165, 170], 8: [150] * 3, 16: [140] * 3, 32: [120, 130, 125]} | (update_mean or {})
    rows = []
    for kind, walls, means in (("batch", batch_wall, batch_mean), ("update", update_wall, update_mean)):
        prefix = "BS" if kind == "batch" else "LF"
        for value in walls:
            for i, seed in enumerate(seeds):
                m, w = means[value][i], walls[value][i]
                for step, reward, wall_s in ((500, m - 10, w / 2), (1000, m + 10, w)):
                    rows.append(
                        {"step": step, "wall_s": wall_s, "cpu_s": wall_s, "reward": reward, "episodes": 5,
                         "updates": 100, "loss": 0.1, "epsilon": 0.1, "run": "", "seed": seed, "final_eval": m,
                         "sweep": kind, "value": value, "method": f"EDGE-OD3-{prefix}{value}"}
                    )  # fmt: skip
    return pd.DataFrame(rows)


def sharpening(greedy_at_001: float):
    return pd.DataFrame(
        {"tau": [1.0, 0.1, 0.01], "states": 100, "greedy_prob": [0.5, 0.6, greedy_at_001], "entropy": [0.69, 0.6, 0.1],
         "median_gap": 0.1, "uniform_entropy": math.log(2)}
    )  # fmt: skip


def verdict(claim_id: str, **tables) -> str:
    return claims.rules.judge_one(claim_id, tables, "laptop").verdict


# --- Table 3 -------------------------------------------------------------------------------------


def test_param_counts_every_verdict():
    assert verdict("param_counts", networks=networks()) == REPRODUCED
    assert verdict("param_counts", networks=networks(large=6_716_749)) == PARTLY  # Nature ratio 6.6 %
    assert verdict("param_counts", networks=networks(large=1, nature_small=400_000)) == NOT_REPRODUCED
    assert verdict("param_counts") == NOT_TESTABLE


# --- Case 1: rewards -----------------------------------------------------------------------------


def test_compact_student_near_teacher_every_verdict():
    t3 = table3()
    assert verdict("compact_student_near_teacher", final_eval=final_eval(190.0), table3_runs=t3) == REPRODUCED
    assert verdict("compact_student_near_teacher", final_eval=final_eval(150.0), table3_runs=t3) == PARTLY
    assert verdict("compact_student_near_teacher", final_eval=final_eval(100.0), table3_runs=t3) == NOT_REPRODUCED
    big = table3(size_pct=30.0)  # near the teacher, but not compact
    assert verdict("compact_student_near_teacher", final_eval=final_eval(190.0), table3_runs=big) == PARTLY
    negative = table3(teacher_eval=-5.0)
    assert verdict("compact_student_near_teacher", final_eval=final_eval(1.0), table3_runs=negative) == NOT_TESTABLE
    assert verdict("compact_student_near_teacher", table3_runs=t3) == NOT_TESTABLE
    no_episodes = final_eval(190.0).query("method != 'EDGE-OD3'")
    assert verdict("compact_student_near_teacher", final_eval=no_episodes, table3_runs=t3) == NOT_TESTABLE


def test_od3_beats_edge_reward_every_verdict():
    assert verdict("od3_beats_edge_reward", table3_runs=table3()) == REPRODUCED
    noisy = table3(run_mean={"EDGE-OD3": [150, 60, 120], "EDGE": [100, 110, 90]})  # ahead on average only
    assert verdict("od3_beats_edge_reward", table3_runs=noisy) == PARTLY
    worse = table3(run_mean={"EDGE-OD3": [80, 90, 70]})
    assert verdict("od3_beats_edge_reward", table3_runs=worse) == NOT_REPRODUCED
    one_seed = table3(steps={m: [1000] for m in ("CLOUD", "EDGE", "EDGE-OD3")})
    assert verdict("od3_beats_edge_reward", table3_runs=one_seed) == NOT_TESTABLE
    no_episodes = table3(run_mean={"EDGE": [100, math.nan, math.nan]})  # one seed with a finished episode
    assert verdict("od3_beats_edge_reward", table3_runs=no_episodes) == NOT_TESTABLE


def test_pong_reward_levels_is_judged_only_on_pong():
    assert verdict("pong_reward_levels", table3_runs=table3()) == NOT_TESTABLE
    assert verdict("pong_reward_levels", table3_runs=table3(env="pong")) == REPRODUCED
    some = table3(env="pong", steps={"EDGE-OD3": [2000, math.nan, math.nan]})
    assert verdict("pong_reward_levels", table3_runs=some) == PARTLY
    none = table3(env="pong", steps={"CLOUD": [math.nan] * 3})
    assert verdict("pong_reward_levels", table3_runs=none) == NOT_REPRODUCED


# --- Case 1: timesteps and time ------------------------------------------------------------------


def test_od3_fewer_timesteps_compares_with_edge_and_with_cloud():
    assert verdict("od3_fewer_timesteps", table3_runs=table3()) == REPRODUCED
    # fewer than EDGE, but not than CLOUD: the old rule (EDGE only) would have said reproduced
    as_cloud = table3(steps={"CLOUD": [2000, 2500, 2200]})
    assert verdict("od3_fewer_timesteps", table3_runs=as_cloud) == NOT_REPRODUCED
    noisy = table3(steps={"CLOUD": [1500, 6500, 5000]})  # ahead of CLOUD on average only
    assert verdict("od3_fewer_timesteps", table3_runs=noisy) == PARTLY
    unconverged = table3(steps={"EDGE-OD3": [2000, 2500, math.nan]})  # counts as 10,000: a lower bound
    assert verdict("od3_fewer_timesteps", table3_runs=unconverged) != REPRODUCED
    one_seed = table3(steps={m: [1000] for m in ("CLOUD", "EDGE", "EDGE-OD3")})
    assert verdict("od3_fewer_timesteps", table3_runs=one_seed) == NOT_TESTABLE


def test_od3_fewer_timesteps_caps_at_partly_while_an_od3_run_has_not_converged():
    runs = table3(steps={"EDGE-OD3": [2000, 2500, math.nan]}, budget=3000)
    runs.loc[runs.method != "EDGE-OD3", "total_steps"] = 20_000
    runs.loc[runs.method == "EDGE", "steps_to_converge"] = [19_000, 19_500, 18_500]
    runs.loc[runs.method == "CLOUD", "steps_to_converge"] = [16_000, 16_500, 17_000]
    assert verdict("od3_fewer_timesteps", table3_runs=runs) == PARTLY


def test_od3_third_of_cloud_steps_every_verdict():
    assert verdict("od3_third_of_cloud_steps", table3_runs=table3()) == REPRODUCED  # about 65 % fewer
    assert verdict("od3_third_of_cloud_steps", table3_runs=table3(steps={"EDGE-OD3": [4000] * 3})) == PARTLY
    assert verdict("od3_third_of_cloud_steps", table3_runs=table3(steps={"EDGE-OD3": [6000] * 3})) == NOT_REPRODUCED
    never = table3(steps={"EDGE-OD3": [math.nan] * 3}, budget=1000)
    assert verdict("od3_third_of_cloud_steps", table3_runs=never) == NOT_REPRODUCED
    some = table3(steps={"EDGE-OD3": [2000, 2000, math.nan]}, budget=2000)
    assert verdict("od3_third_of_cloud_steps", table3_runs=some) == PARTLY
    assert verdict("od3_third_of_cloud_steps") == NOT_TESTABLE


def test_edge_not_converged_every_verdict():
    assert verdict("edge_not_converged", table3_runs=table3(steps={"EDGE": [math.nan] * 3})) == REPRODUCED
    assert verdict("edge_not_converged", table3_runs=table3(steps={"EDGE": [9000, math.nan, math.nan]})) == PARTLY
    assert verdict("edge_not_converged", table3_runs=table3()) == NOT_REPRODUCED
    assert verdict("edge_not_converged") == NOT_TESTABLE


def test_od3_less_time_than_edge_every_verdict():
    assert verdict("od3_less_time_than_edge", table3_runs=table3()) == REPRODUCED
    noisy = table3(wall={"EDGE-OD3": [0.5, 4.0, 2.0]})
    assert verdict("od3_less_time_than_edge", table3_runs=noisy) == PARTLY
    slower = table3(wall={"EDGE-OD3": [4.0, 4.1, 3.9]})
    assert verdict("od3_less_time_than_edge", table3_runs=slower) == NOT_REPRODUCED
    unconverged = table3(steps={"EDGE-OD3": [2000, 2000, math.nan]}, wall={"EDGE": [9.0, 9.1, 9.2]})
    assert verdict("od3_less_time_than_edge", table3_runs=unconverged) == PARTLY  # its 5 s is a lower bound
    one_seed = table3(steps={m: [1000] for m in ("CLOUD", "EDGE", "EDGE-OD3")})
    assert verdict("od3_less_time_than_edge", table3_runs=one_seed) == NOT_TESTABLE


def test_od3_time_vs_cloud_every_verdict():
    assert verdict("od3_time_vs_cloud", table3_runs=table3()) == REPRODUCED  # 45 % of CLOUD's
    assert verdict("od3_time_vs_cloud", table3_runs=table3(wall={"EDGE-OD3": [2.9, 3.0, 3.1]})) == PARTLY  # 136 %
    assert verdict("od3_time_vs_cloud", table3_runs=table3(wall={"EDGE-OD3": [4.0, 4.1, 4.2]})) == NOT_REPRODUCED
    assert verdict("od3_time_vs_cloud") == NOT_TESTABLE


# --- the sharpened target ------------------------------------------------------------------------


def test_sharpened_target_every_verdict():
    assert verdict("sharpened_target", sharpening=sharpening(0.97)) == REPRODUCED
    assert verdict("sharpened_target", sharpening=sharpening(0.7)) == PARTLY
    assert verdict("sharpened_target", sharpening=sharpening(0.55)) == NOT_REPRODUCED
    assert verdict("sharpened_target") == NOT_TESTABLE


# --- Case 2 --------------------------------------------------------------------------------------


def test_small_batch_faster_every_verdict():
    assert verdict("small_batch_faster", sweeps=sweeps()) == REPRODUCED
    assert verdict("small_batch_faster", sweeps=sweeps(batch_wall={4: [2.7, 2.9, 2.5]})) == PARTLY  # saves < 25 %
    assert verdict("small_batch_faster", sweeps=sweeps(batch_wall={4: [1.0, 4.5, 2.5]})) == PARTLY  # interval holds 0
    assert verdict("small_batch_faster", sweeps=sweeps(batch_wall={4: [3.5, 3.6, 3.4]})) == NOT_REPRODUCED
    one = sweeps(batch_wall={v: [1.0] for v in (32, 16, 8, 4)}, batch_mean={v: [100] for v in (32, 16, 8, 4)},
                 update_wall={v: [1.0] for v in (4, 8, 16, 32)}, update_mean={v: [100] for v in (4, 8, 16, 32)},
                 seeds=(0,))  # fmt: skip
    assert verdict("small_batch_faster", sweeps=one) == NOT_TESTABLE
    assert verdict("small_batch_faster") == NOT_TESTABLE


def test_batch_size_keeps_reward_every_verdict():
    assert verdict("batch_size_keeps_reward", sweeps=sweeps()) == REPRODUCED
    assert verdict("batch_size_keeps_reward", sweeps=sweeps(batch_mean={8: [135] * 3})) == PARTLY  # 18 % off
    assert verdict("batch_size_keeps_reward", sweeps=sweeps(batch_mean={4: [90] * 3})) == NOT_REPRODUCED
    one = sweeps(batch_wall={v: [1.0] for v in (32, 16, 8, 4)}, batch_mean={v: [100] for v in (32, 16, 8, 4)},
                 update_wall={v: [1.0] for v in (4, 8, 16, 32)}, update_mean={v: [100] for v in (4, 8, 16, 32)},
                 seeds=(0,))  # fmt: skip
    assert verdict("batch_size_keeps_reward", sweeps=one) == NOT_TESTABLE


def test_update_freq_lowers_reward_every_verdict():
    assert verdict("update_freq_lowers_reward", sweeps=sweeps()) == REPRODUCED
    slight = sweeps(update_mean={32: [155, 160, 166]})  # significant but < 10 %
    assert verdict("update_freq_lowers_reward", sweeps=slight) == PARTLY
    noisy = sweeps(update_mean={32: [100, 180, 160]})  # ahead on average only
    assert verdict("update_freq_lowers_reward", sweeps=noisy) == PARTLY
    higher = sweeps(update_mean={32: [170, 175, 180]})
    assert verdict("update_freq_lowers_reward", sweeps=higher) == NOT_REPRODUCED
    one = sweeps(batch_wall={v: [1.0] for v in (32, 16, 8, 4)}, batch_mean={v: [100] for v in (32, 16, 8, 4)},
                 update_wall={v: [1.0] for v in (4, 8, 16, 32)}, update_mean={v: [100] for v in (4, 8, 16, 32)},
                 seeds=(0,))  # fmt: skip
    assert verdict("update_freq_lowers_reward", sweeps=one) == NOT_TESTABLE


def test_update_freq_finishes_sooner_every_verdict():
    assert verdict("update_freq_finishes_sooner", sweeps=sweeps()) == REPRODUCED
    noisy = sweeps(update_wall={32: [0.5, 4.0, 3.0]})
    assert verdict("update_freq_finishes_sooner", sweeps=noisy) == PARTLY
    slower = sweeps(update_wall={32: [3.5, 3.6, 3.4]})
    assert verdict("update_freq_finishes_sooner", sweeps=slower) == NOT_REPRODUCED
    assert verdict("update_freq_finishes_sooner") == NOT_TESTABLE


# --- coverage and the experiments ----------------------------------------------------------------


def test_judge_covers_the_yaml_and_marks_the_untestable():
    tables = {"networks": networks(), "table3_runs": table3(), "final_eval": final_eval(190.0),
              "sweeps": sweeps(), "sharpening": sharpening(0.97)}  # fmt: skip
    spec = paper_values("od3")["claims"]
    table = claims.judge(tables, "laptop")
    assert list(table.id) == [c["id"] for c in spec]
    untestable = {c["id"] for c in spec if c.get("testable", True) is False}
    assert untestable == {"jetson_v100_hours", "temperature_choice"}
    assert set(table[table.id.isin(untestable)].verdict) == {NOT_TESTABLE}
    assert (table.why != "").all()
    assert len(spec) >= 2 * 4  # the four claims of before, at least twice over


def test_a_tiny_run_makes_every_table_the_rules_read(results_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(od3.CACHE_ENV, str(tmp_path / "teachers"))
    smoke = od3.SCALES["smoke"]
    tiny = dataclasses.replace(
        smoke,
        teacher=dataclasses.replace(smoke.teacher, steps=400, learning_starts=100, log_every=100, eval_episodes=1),
        student=dataclasses.replace(smoke.student, steps=300, learning_starts=100, log_every=100, eval_episodes=1),
        sweep_steps=200,
        sweep_seeds=(0, 1),
    )
    tables = od3.run("smoke", 0, config=tiny)
    assert {"networks", "curves", "final_eval", "table3_runs", "sweeps", "ablation", "sharpening"} <= set(tables)
    assert {"run_mean", "total_steps", "total_wall_s", "threshold", "teacher_eval", "env"} <= set(tables["table3_runs"])
    assert set(tables["table3_runs"].method) == {"CLOUD", "EDGE", "EDGE-OD3"}
    assert set(tables["sweeps"].sweep) == {"batch", "update"} and tables["sweeps"].seed.nunique() == 2
    assert np.isclose(tables["sharpening"].set_index("tau").greedy_prob.loc[1.0], 0.5, atol=0.5)
    verdicts = od3.judge(tables, "smoke")
    assert len(verdicts) == len(paper_values("od3")["claims"])
    judged = verdicts.set_index("id").verdict
    # with two seeds every comparison has an interval; only the untestable rows and Pong say "not testable"
    assert set(judged[judged == NOT_TESTABLE].index) == {
        "jetson_v100_hours",
        "temperature_choice",
        "pong_reward_levels",
    }
    assert (results_dir / "od3" / "smoke" / "table3_runs.csv").is_file()
