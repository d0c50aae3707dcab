"""Shared RL machinery: replay memories, PER probabilities and weights, (Double) DQN targets, schedules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from edgelearn.core import rl


class TableQ(nn.Module):
    """Q(s, .) read from a fixed table: observations are one-hot states."""

    def __init__(self, table):
        super().__init__()
        self.table = nn.Parameter(torch.tensor(table, dtype=torch.float32))

    def forward(self, obs):
        return obs @ self.table


def test_replay_buffer_is_circular_and_samples_shapes():
    buf = rl.ReplayBuffer(5, (3,), seed=0)
    for i in range(7):
        buf.add(torch.full((3,), float(i)), i % 2, float(i), torch.full((3,), i + 1.0), i == 6)
    assert len(buf) == 5
    assert sorted(buf.reward.tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]  # the two oldest were overwritten
    batch = buf.sample(16)
    assert batch["obs"].shape == (16, 3) and batch["action"].dtype == torch.long
    assert torch.equal(batch["obs"][:, 0], batch["reward"])  # the fields stay aligned
    buf.add(np.zeros((4, 3)), np.zeros(4), np.zeros(4), np.zeros((4, 3)), np.zeros(4))  # a batch of four
    assert len(buf) == 5


def test_replay_sampling_is_deterministic_for_a_seed():
    def sampled(seed):
        buf = rl.ReplayBuffer(50, (2,), seed=seed)
        buf.add(
            torch.randn(50, 2, generator=torch.Generator().manual_seed(1)),
            torch.arange(50) % 3,
            torch.arange(50.0),
            torch.zeros(50, 2),
            torch.zeros(50),
        )
        return buf.sample(8)["index"]

    assert torch.equal(sampled(3), sampled(3)) and not torch.equal(sampled(3), sampled(4))


def test_prioritised_sampling_matches_priorities_and_weights():
    buf = rl.PrioritizedReplayBuffer(4, (1,), alpha=0.5, beta=0.7, eps=0.0, seed=0)
    buf.add(torch.zeros(4, 1), torch.zeros(4), torch.zeros(4), torch.zeros(4, 1), torch.zeros(4))
    buf.update_priorities(torch.arange(4), torch.tensor([1.0, 4.0, 9.0, 16.0]))
    expected = np.array([1, 2, 3, 4]) / 10  # p^alpha = sqrt(|delta|)
    np.testing.assert_allclose(buf.probabilities(), expected)
    batch = buf.sample(200_000)
    freq = np.bincount(batch["index"].numpy(), minlength=4) / 200_000
    np.testing.assert_allclose(freq, expected, atol=0.005)
    w = (4 * expected) ** -0.7
    w /= w.max()
    np.testing.assert_allclose(batch["weight"].numpy(), w[batch["index"].numpy()], rtol=1e-6)


def test_prioritised_draw_is_exactly_the_inverse_cdf_of_the_probabilities():
    # sample() writes P and its running sum into scratch arrays: the same numbers, draw for draw,
    # as the plain formula on fresh arrays (results of seeded runs must not depend on that choice)
    buf = rl.PrioritizedReplayBuffer(50, (2,), alpha=0.6, beta=0.4, seed=7)
    twin = np.random.default_rng(7)  # the buffer's own generator, replayed
    rng = np.random.default_rng(0)
    for n in (30, 30):  # part-full, then wrapped round
        buf.add(rng.random((n, 2)), rng.integers(0, 3, n), rng.random(n), rng.random((n, 2)), np.zeros(n))
        buf.update_priorities(torch.arange(buf.size), torch.as_tensor(rng.random(buf.size)))
        for _ in range(3):
            batch = buf.sample(16)
            probs = buf.probabilities()
            idx = np.minimum(np.searchsorted(np.cumsum(probs), twin.random(16) * probs.sum()), buf.size - 1)
            weight = (buf.size * probs[idx]) ** -0.4
            assert np.array_equal(batch["index"].numpy(), idx)
            assert torch.equal(batch["weight"], torch.as_tensor(weight / weight.max(), dtype=torch.float32))
            assert torch.equal(batch["obs"], buf.obs[torch.as_tensor(idx)])


def test_new_transitions_get_the_maximal_priority():
    buf = rl.PrioritizedReplayBuffer(3, (1,), alpha=1.0, eps=0.0)
    buf.add(torch.zeros(2, 1), torch.zeros(2), torch.zeros(2), torch.zeros(2, 1), torch.zeros(2))
    buf.update_priorities(torch.tensor([0, 1]), torch.tensor([5.0, 0.5]))
    buf.add(torch.zeros(1, 1), torch.zeros(1), torch.zeros(1), torch.zeros(1, 1), torch.zeros(1))
    assert buf.priority[2] == pytest.approx(5.0)


def test_double_dqn_target_on_a_hand_made_batch():
    # two states, two actions; next state is state 1 for both transitions
    online = TableQ([[0.0, 0.0], [1.0, 3.0]])  # online prefers action 1 in state 1
    target = TableQ([[0.0, 0.0], [5.0, 2.0]])  # target's max is action 0 (5.0)
    batch = {
        "obs": torch.eye(2),
        "action": torch.tensor([0, 1]),
        "reward": torch.tensor([1.0, 0.0]),
        "next_obs": torch.tensor([[0.0, 1.0], [0.0, 1.0]]),
        "done": torch.tensor([0.0, 1.0]),
    }
    dqn = rl.td_target(batch, target, gamma=0.9)
    double = rl.td_target(batch, target, gamma=0.9, online_net=online)
    assert dqn.tolist() == pytest.approx([1.0 + 0.9 * 5.0, 0.0])
    assert double.tolist() == pytest.approx([1.0 + 0.9 * 2.0, 0.0])  # target's value of online's argmax


def test_dqn_loss_gradient_reaches_only_the_online_network():
    online, target = TableQ([[1.0, 2.0], [3.0, 4.0]]), TableQ([[0.5, 0.5], [0.5, 0.5]])
    batch = {
        "obs": torch.eye(2),
        "action": torch.tensor([1, 0]),
        "reward": torch.tensor([1.0, 1.0]),
        "next_obs": torch.eye(2),
        "done": torch.zeros(2),
        "weight": torch.tensor([1.0, 0.0]),
    }
    loss, td = rl.dqn_loss(online, target, batch, gamma=1.0, huber=False)
    loss.backward()
    assert target.table.grad is None and online.table.grad is not None
    assert td.tolist() == pytest.approx([1.5 - 2.0, 1.5 - 3.0])
    assert float(loss.detach()) == pytest.approx(0.5 * 0.25)  # the second transition has weight 0


def test_schedules_and_updates():
    lin = rl.linear_schedule(1.0, 0.1, 100)
    assert lin(0) == 1.0 and lin(50) == pytest.approx(0.55) and lin(1000) == pytest.approx(0.1)
    decay = rl.decay_for(1.0, 0.1, 350)
    exp = rl.exponential_schedule(1.0, 0.1, decay)
    assert exp(0) == 1.0 and exp(350) == pytest.approx(0.1 + 0.9 * 0.01)
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    before = a.weight.detach().clone()
    rl.soft_update(a, b, 0.01)
    np.testing.assert_allclose(a.weight.detach(), 0.99 * before + 0.01 * b.weight.detach(), rtol=1e-6)
    rl.hard_update(a, b)
    assert torch.equal(a.weight, b.weight)
    q = torch.tensor([[0.0, 1.0, 0.0]] * 1000)
    g = torch.Generator().manual_seed(0)
    assert (rl.epsilon_greedy(q, 0.0, g) == 1).all()
    share = (rl.epsilon_greedy(q, 0.3, g) != 1).float().mean()
    assert float(share) == pytest.approx(0.3 * 2 / 3, abs=0.05)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="capacity"):
        rl.ReplayBuffer(0, (1,))
    with pytest.raises(ValueError, match="empty"):
        rl.ReplayBuffer(2, (1,)).sample(1)
    with pytest.raises(ValueError, match="obs"):
        rl.ReplayBuffer(2, (3,)).add(torch.zeros(1, 2), 0, 0.0, torch.zeros(1, 2), 0)
    with pytest.raises(ValueError, match="tau"):
        rl.soft_update(nn.Linear(1, 1), nn.Linear(1, 1), 0.0)
    with pytest.raises(ValueError, match="decay"):
        rl.exponential_schedule(1, 0, 1.5)
    with pytest.raises(ValueError, match="alpha"):
        rl.PrioritizedReplayBuffer(2, (1,), alpha=-1)


def test_replay_buffer_stores_continuous_action_vectors():
    buffer = rl.ReplayBuffer(8, (3,), action_shape=(4,), action_dtype=torch.float32, seed=0)
    actions = torch.rand(5, 4)
    slots = buffer.add(torch.rand(5, 3), actions, torch.zeros(5), torch.rand(5, 3), torch.zeros(5))
    assert torch.equal(buffer.action[slots], actions)
    assert buffer.sample(6)["action"].shape == (6, 4)
    with pytest.raises(ValueError, match="action_shape"):
        rl.ReplayBuffer(8, (3,), action_shape=(0,))
