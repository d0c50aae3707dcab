"""ATS / PTS: the training rules, the scheduler's learning, the cost of learning, determinism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from edgelearn import ats
from edgelearn.ats import MECConfig, MECEnv
from edgelearn.core.fit import torch_threads
from edgelearn.core.pool import parallel_map

SMOKE = ats.SCALES["smoke"]


def test_pts_trains_every_period_slots():
    rule = ats.TrainingRule("PTS", ats.TrainingRuleConfig(period=4), episodes=1)
    decisions = [rule.decide(0) for _ in range(20)]
    assert [i for i, d in enumerate(decisions) if d] == [3, 7, 11, 15, 19]


def test_ats_falls_back_to_pts_while_the_td_error_is_high():
    config = ats.TrainingRuleConfig(period=5, window=20, min_history=10, td_tolerance=0.1, percentile=90)
    periodic = ats.TrainingRule("PTS", config, episodes=1)
    adaptive = ats.TrainingRule("ATS", config, episodes=1)
    rng = np.random.default_rng(0)
    for _ in range(50):  # history long enough, but the Q-estimates are not trusted: exactly PTS
        assert adaptive.decide(0, float(rng.normal()), relative_td=0.5) == periodic.decide(0)
        assert adaptive.fallback
    # trusted: the percentile rule decides, and it trains exactly when psi beats the recent 90th percentile
    for _ in range(200):
        history = np.array(adaptive.psi)
        psi = float(rng.normal())
        assert adaptive.decide(0, psi, relative_td=0.05) == (psi > np.percentile(history, 90))
        assert not adaptive.fallback


def test_ats_falls_back_until_it_has_enough_psi_values():
    rule = ats.TrainingRule("ATS", ats.TrainingRuleConfig(period=3, window=50, min_history=40), episodes=1)
    decisions = [rule.decide(0, 10.0 + i, relative_td=0.0) for i in range(30)]  # rising psi: would always train
    assert rule.fallback and sum(decisions) == 10  # every third slot, as PTS


def test_fixed_stops_training_after_its_phase_and_sjf_never_trains():
    rule = ats.TrainingRule("Fixed", ats.TrainingRuleConfig(period=2, fixed_fraction=0.5), episodes=4)
    assert any(rule.decide(0) for _ in range(10)) and any(rule.decide(1) for _ in range(10))
    assert not any(rule.decide(e) for e in (2, 3) for _ in range(10))
    sjf = ats.TrainingRule("SJF", ats.TrainingRuleConfig(period=1), episodes=1)
    assert not any(sjf.decide(0) for _ in range(10))


def test_sjf_starts_the_shortest_job_that_fits():
    env = MECEnv(MECConfig(load=0.0, n_resources=4, max_demand=4))
    env.reset(seed=0)
    env.buffer = [[3, 1, 0, 9], [1, 4, 0, 9], [2, 2, 0, 9]]  # [exec, demand, arrival, deadline]
    assert ats.sjf_action(env) == 1  # shortest, and 4 units are free
    env.running = [[5, 3, 20, 5]]  # only 1 unit free now
    assert ats.sjf_action(env) == 0
    env.running = [[5, 4, 20, 5]]
    assert ats.sjf_action(env) == env.config.buffer_size  # nothing fits: wait


def test_valid_actions_mark_fitting_jobs_and_wait():
    env = MECEnv(MECConfig(load=0.0, n_resources=4, max_demand=4))
    env.reset(seed=0)
    env.buffer = [[3, 1, 0, 9], [1, 4, 0, 9]]
    env.running = [[2, 2, 9, 2]]
    mask = env.valid_actions()
    assert mask.tolist() == [True, False] + [False] * (env.config.buffer_size - 2) + [True]


def test_the_state_after_training_is_what_a_training_slot_leaves_behind():
    env = MECEnv(MECConfig(load=0.0))  # no arrivals: the training slot is deterministic
    env.reset(seed=0)
    env.buffer = [[2, 1, 0, 9], [3, 2, 0, 3], [1, 1, 0, 4]]
    env.running = [[2, 3, 9, 2]]
    before = env.observation()
    predicted = env.observation_after_training()
    assert np.array_equal(env.observation(), before)  # nothing in the environment changed
    env.train_slot()
    assert np.array_equal(env.observation(), predicted)  # the job with deadline 3 was dropped


def test_ideal_trains_for_free_and_pts_pays_a_slot_per_training_job():
    ideal = ats.run("Ideal", "stationary", SMOKE, seed=0)["episodes"]
    pts = ats.run("PTS", "stationary", SMOKE, seed=0)["episodes"]
    assert ideal.training_slots.sum() == 0 and ideal.updates.iloc[-1] > 0
    slots = SMOKE.episodes * SMOKE.horizon
    assert pts.training_slots.sum() == slots // SMOKE.training.period
    assert pts.updates.iloc[-1] > 0


def test_a_training_job_changes_the_q_network_and_scores_fresh_experience():
    agent = ats.DoubleDQNAgent(obs_dim=6, n_actions=3, config=ats.AgentConfig(batch_size=8, updates_per_job=4), seed=0)
    rng = np.random.default_rng(0)
    for _ in range(32):
        agent.remember(
            rng.random(6, dtype=np.float32),
            int(rng.integers(3)),
            float(rng.normal()),
            rng.random(6, dtype=np.float32),
            False,
        )
    before = [p.detach().clone() for p in agent.q.parameters()]
    assert np.isinf(agent.relative_td)
    agent.train_job()
    assert np.isfinite(agent.relative_td) and agent.updates == 4 and len(agent.memory) == 32 and not agent.pending
    assert any(not np.allclose(a.numpy(), b.detach().numpy()) for a, b in zip(before, agent.q.parameters()))


def test_the_q_network_computes_exactly_what_its_layers_compute():
    # QNetwork skips nn.Module's per-layer dispatch: outputs and gradients must stay bit-identical
    net = ats.q_network(7, 3, (16, 16))
    plain = torch.nn.Sequential(*net)  # the same layers (and parameters), called module by module
    x = torch.rand(5, 7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(net(x[0]), plain(x[0])) and torch.equal(net(x), plain(x))
    net(x).square().sum().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    plain(x).square().sum().backward()
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, plain.parameters()))


def test_psi_is_recorded_and_ats_trains_rarely_once_trusted():
    cfg = replace(SMOKE, episodes=6, training=replace(SMOKE.training, td_tolerance=10.0))
    out = ats.run("ATS", "stationary", cfg, seed=1, record_psi=True)
    psi = out["psi"]
    assert len(psi) == cfg.episodes * cfg.horizon  # one decision at the start of every slot
    trusted = psi[~psi.fallback]
    assert len(trusted) > 0 and trusted.train.mean() < 0.2


def test_same_seed_same_run():
    a = ats.run("ATS", "dynamic", SMOKE, seed=3, record_psi=True)
    b = ats.run("ATS", "dynamic", SMOKE, seed=3, record_psi=True)
    pd.testing.assert_frame_equal(a["episodes"].drop(columns="seconds"), b["episodes"].drop(columns="seconds"))
    pd.testing.assert_frame_equal(a["psi"], b["psi"])


def test_load_schedules():
    assert np.allclose(ats.load_schedule("stationary", SMOKE), 0.3)
    dynamic = ats.load_schedule("dynamic", SMOKE)
    assert dynamic[0] == pytest.approx(0.1) and dynamic[-1] == pytest.approx(0.3) and np.all(np.diff(dynamic) > 0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ats.TrainingRuleConfig(percentile=100), "percentile"),
        (lambda: ats.TrainingRuleConfig(period=0), "period"),
        (lambda: ats.TrainingRuleConfig(min_history=20, window=10), "min_history"),
        (lambda: ats.AgentConfig(gamma=1.0), "gamma"),
        (lambda: ats.load_schedule("bursty", SMOKE), "scenario"),
        (lambda: ats.TrainingRule("EDF", ats.TrainingRuleConfig(), 1), "scheduler"),
        (lambda: ats.SCALES["huge"], "smoke"),
        (lambda: MECConfig(load=1.5), "rho"),
        (lambda: MECConfig(n_resources=0), "n_resources"),
    ],
)
def test_bad_configuration_raises(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_agent_is_seeded_without_touching_the_global_torch_generator():
    torch.manual_seed(7)
    state = torch.get_rng_state()
    a = ats.DoubleDQNAgent(obs_dim=6, n_actions=3, seed=4)
    b = ats.DoubleDQNAgent(obs_dim=6, n_actions=3, seed=4)
    c = ats.DoubleDQNAgent(obs_dim=6, n_actions=3, seed=5)
    ats.run("ATS", "stationary", replace(SMOKE, episodes=1), seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.q.parameters(), b.q.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.q.parameters(), c.q.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(a.q.parameters(), a.target.parameters()))


def test_runs_over_a_process_pool_match_serial_runs():
    tasks = [
        (s, "dynamic", replace(SMOKE, episodes=2), 1, None, s == "ATS", {"sweep": "main"})
        for s in ("ATS", "PTS", "SJF")
    ]
    with torch_threads(1):  # as in every pool worker: float sums depend on the number of threads
        serial = [ats.run_task(*task) for task in tasks]
    pooled = parallel_map(ats.run_task, tasks, workers=2, backend="process")
    for a, b in zip(serial, pooled):
        pd.testing.assert_frame_equal(a["episodes"].drop(columns="seconds"), b["episodes"].drop(columns="seconds"))
        pd.testing.assert_frame_equal(a["psi"], b["psi"])
        assert (a["episodes"].sweep == "main").all()


def test_training_slots_record_their_cost_and_who_chose_them():
    cfg = replace(SMOKE, episodes=6, training=replace(SMOKE.training, td_tolerance=10.0))
    ats_run = ats.run("ATS", "stationary", cfg, seed=1)["episodes"]
    pts_run = ats.run("PTS", "stationary", cfg, seed=1)["episodes"]
    assert (
        ats_run.adaptive_training_slots <= ats_run.training_slots
    ).all() and ats_run.adaptive_training_slots.sum() > 0
    assert (pts_run.adaptive_training_slots == 0).all() and (pts_run.adaptive_training_displaced == 0).all()
    for run in (ats_run, pts_run):
        assert (run.training_reward <= 0).all()  # nothing completes while every resource trains
        assert (run.training_displaced >= 0).all() and (run.adaptive_training_displaced <= run.training_displaced).all()
        assert (run.slots == cfg.horizon).all() and (run.period == cfg.training.period).all()


def test_expected_core_seconds_recovers_the_runs_it_was_measured_on_and_scales_with_slots():
    from edgelearn.ats import experiments

    cfg = replace(SMOKE, episodes=2, horizon=20, seeds=1, sweep_seeds=1, periods=(20,), percentiles=(90.0,))
    task_list = experiments.tasks(cfg, *experiments.seeds_of(cfg))
    episodes = pd.concat([ats.run_task(*task)["episodes"] for task in task_list], ignore_index=True)
    assert experiments.expected_core_seconds(episodes, cfg) == pytest.approx(episodes.seconds.sum())
    longer = replace(cfg, episodes=6, horizon=40)  # six times the slots of every run
    assert experiments.expected_core_seconds(episodes, longer) == pytest.approx(6 * episodes.seconds.sum())


def test_reward_over_run_finds_a_scheduler_that_forgets():
    from edgelearn.ats import plots

    rows = []
    for scheduler, late in (("ATS", 0.8), ("Ideal", 0.3)):
        for seed in (0, 1):
            for episode in range(20):
                rows.append(
                    {
                        "sweep": "main",
                        "scenario": "stationary",
                        "scheduler": scheduler,
                        "seed": seed,
                        "episode": episode,
                        "reward_per_slot": 0.8 if episode < 10 else late,
                        "updates": 10 * (episode + 1) * (4 if scheduler == "Ideal" else 1),
                    }
                )
    out = plots.reward_over_run(pd.DataFrame(rows), parts=4)
    assert list(out.index) == [("stationary", "ATS"), ("stationary", "Ideal")]
    assert out.loc[("stationary", "Ideal"), "drop"] == pytest.approx(0.5)
    assert out.loc[("stationary", "ATS"), "drop"] == pytest.approx(0.0)
    assert out.loc[("stationary", "Ideal"), "updates"] == 800 and out.loc[("stationary", "ATS"), "updates"] == 200
