"""The MEC scheduling environment: invariants, a hand-worked trace, the training slot, the checker."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from edgelearn.ats.mec import MECConfig, MECEnv


def test_gymnasium_env_checker_passes():
    check_env(MECEnv(MECConfig(horizon=20)), skip_render_check=True)


def test_never_more_than_c_resources_and_jobs_leave():
    env = MECEnv(MECConfig(load=0.9, n_users=10, horizon=300))
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    truncated = False
    while not truncated:
        _, _, _, truncated, _ = env.step(int(rng.integers(0, env.config.buffer_size + 1)))
        assert 0 <= env.free_resources <= env.config.n_resources
        assert len(env.buffer) <= env.config.buffer_size
        assert all(job[0] > 0 for job in env.running)  # completed jobs have left
        assert all(env.t + job[0] <= job[3] for job in env.buffer)  # hopeless jobs have left
    s = env.stats
    assert s["completed"] > 0 and s["dropped"] + s["rejected"] > 0


def test_reward_bookkeeping_matches_a_hand_worked_trace():
    env = MECEnv(MECConfig(load=0.0, horizon=10, n_resources=4, max_demand=4))
    env.reset(seed=0)
    # three jobs: [exec, demand, arrival, deadline]
    env.buffer = [[2, 3, 0, 2], [1, 2, 0, 1], [3, 1, 0, 5]]
    _, r, *_ = env.step(0)  # start job A (exec 2, demand 3): free 1
    assert r == 0 and env.free_resources == 1
    _, r, *_ = env.step(0)  # job B (demand 2) does not fit: the clock advances to t=1
    # at t=1: A has 1 slot left; B (needs 1 slot, deadline 1) can no longer finish -> dropped (-1)
    assert env.t == 1 and r == -1 and env.stats["dropped"] == 1
    _, r, *_ = env.step(0)  # start job C (exec 3, demand 1) at t=1: finishes at 4 <= 5
    _, r, *_ = env.step(env.config.buffer_size)  # wait: t=2, A completes on time (+1)
    assert r == 1 and env.stats["completed"] == 1
    for _ in range(2):
        _, r, *_ = env.step(env.config.buffer_size)
    assert env.t == 4 and r == 1 and env.stats["completed"] == 2 and not env.running


def test_a_training_slot_blocks_user_jobs_for_exactly_one_slot():
    env = MECEnv(MECConfig(load=0.0, horizon=10))
    env.reset(seed=0)
    env.buffer = [[2, 3, 0, 9]]
    env.step(0)  # the job starts: 2 slots to go
    r = env.train_slot()  # slot 1 spent training: no progress
    assert env.t == 1 and env.running[0][0] == 2 and r == 0
    env.step(env.config.buffer_size)  # slot 2: progress resumes
    assert env.running[0][0] == 1
    _, r, *_ = env.step(env.config.buffer_size)  # slot 3: completes, on time (deadline 9)
    assert r == 1 and env.stats["training_slots"] == 1


def test_load_sets_the_arrival_rate():
    config = MECConfig(load=0.3)
    env = MECEnv(config)
    env.reset(seed=1)
    arrivals = 0
    for _ in range(4000):
        env.buffer.clear()
        env._advance(training=False)
        arrivals += len(env.buffer)
    expected = 4000 * config.n_users * config.arrival_probability
    assert arrivals == pytest.approx(expected, rel=0.05)
    env.set_load(0.1)
    assert env.config.arrival_probability == pytest.approx(config.arrival_probability / 3)
    assert config.utilisation == pytest.approx(5 * 0.3 * 3 * 2.5 / 10)  # U rho E[e] E[r] / C


def test_same_seed_same_episode():
    def episode(seed):
        env = MECEnv(MECConfig(horizon=50))
        obs, _ = env.reset(seed=seed)
        rewards = []
        for t in range(200):
            obs, r, _, truncated, _ = env.step(t % (env.config.buffer_size + 1))
            rewards.append(r)
            if truncated:
                break
        return rewards, obs

    a, b, c = episode(3), episode(3), episode(4)
    assert a[0] == b[0] and np.array_equal(a[1], b[1]) and a[0] != c[0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"load": 1.5}, "rho"),
        ({"load": -0.1}, "rho"),
        ({"n_resources": 0}, "n_resources"),
        ({"max_demand": 20}, "max_demand"),
        ({"n_users": 0}, "n_users"),
    ],
)
def test_bad_configuration_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MECConfig(**kwargs)


def test_bad_action_raises():
    env = MECEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(99)
