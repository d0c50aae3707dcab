"""The foundations chapter's library: Bellman operators against closed forms, the contraction, the exact policy
gradient, an unbiased baseline, the maximisation bias, and the deep-RL runs at a few hundred steps."""

from __future__ import annotations

import numpy as np
import pytest

from edgelearn.foundations import (
    FiniteMDP,
    bellman_expectation,
    bellman_optimality,
    chain_mdp,
    exact_gradient,
    gridworld,
    maximization_bias,
    policy_evaluation,
    reinforce_estimates,
    value_iteration,
)
from edgelearn.foundations.pg import objective


def two_state_mdp(gamma: float = 0.9) -> FiniteMDP:
    """State 0: 'stay' pays 1 and stays; 'move' pays 0 and goes to 1. State 1: 'stay' pays 2 and stays,
    'move' pays 0 and goes to 0. V*(1) = 2/(1-g); V*(0) = max(1/(1-g), g * 2/(1-g))."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, 0, 1] = P[1, 1, 0] = 1.0
    R = np.array([[1.0, 0.0], [2.0, 0.0]])
    return FiniteMDP(P, R, gamma)


@pytest.mark.parametrize("gamma", [0.3, 0.9, 0.99])
def test_value_iteration_matches_the_closed_form_on_two_states(gamma):
    mdp = two_state_mdp(gamma)
    v1 = 2 / (1 - gamma)
    v0 = max(1 / (1 - gamma), gamma * v1)
    result = value_iteration(mdp, tol=1e-9)
    assert result.V == pytest.approx([v0, v1], abs=1e-8)
    assert result.policy[1].argmax() == 0  # stay in the better state
    assert result.policy[0].argmax() == (1 if gamma * v1 > 1 / (1 - gamma) else 0)
    # the optimal value is the fixed point of T and the value of the greedy policy
    assert bellman_optimality(mdp, result.V) == pytest.approx(result.V, abs=1e-8)
    assert policy_evaluation(mdp, result.policy) == pytest.approx(result.V, abs=1e-7)


def test_policy_evaluation_solves_the_expectation_equation():
    mdp = gridworld()
    policy = np.full((mdp.n_states, mdp.n_actions), 1 / mdp.n_actions)
    V = policy_evaluation(mdp, policy)
    assert bellman_expectation(mdp, policy, V) == pytest.approx(V, abs=1e-10)
    assert V[[3, 7]] == pytest.approx([0.0, 0.0])  # terminal states


def test_the_optimality_operator_is_a_gamma_contraction():
    rng = np.random.default_rng(0)
    for _ in range(20):
        S, A, gamma = 5, 3, float(rng.uniform(0.1, 0.99))
        P = rng.random((S, A, S))
        mdp = FiniteMDP(P / P.sum(axis=2, keepdims=True), rng.normal(size=(S, A)), gamma)
        U, V = rng.normal(size=S) * 10, rng.normal(size=S) * 10
        lhs = np.abs(bellman_optimality(mdp, U) - bellman_optimality(mdp, V)).max()
        assert lhs <= gamma * np.abs(U - V).max() + 1e-12


def test_value_iteration_error_stays_under_the_contraction_bound():
    mdp = gridworld(gamma=0.9)
    exact = value_iteration(mdp, tol=1e-12).V
    errors = value_iteration(mdp, tol=1e-6).errors(exact)
    assert errors[-1] <= 1e-6
    assert (errors <= errors[0] * 0.9 ** np.arange(len(errors)) + 1e-12).all()


def test_chain_values_increase_towards_the_reward():
    V = value_iteration(chain_mdp(n=6, gamma=0.9, slip=0.1)).V
    assert (np.diff(V[:-1]) > 0).all() and V[-1] == 0.0


def test_exact_gradient_matches_finite_differences():
    mdp = chain_mdp(n=5, gamma=0.9, slip=0.2)
    theta = np.random.default_rng(1).normal(size=(5, 2))
    eps, fd = 1e-6, np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        d = np.zeros_like(theta)
        d[idx] = eps
        fd[idx] = (objective(mdp, theta + d) - objective(mdp, theta - d)) / (2 * eps)
    assert exact_gradient(mdp, theta) == pytest.approx(fd, abs=1e-7)


def test_reinforce_is_unbiased_with_and_without_a_baseline_and_the_baseline_lowers_variance():
    mdp = chain_mdp(n=4, gamma=0.9, slip=0.1)
    theta = np.zeros((4, 2))
    exact = exact_gradient(mdp, theta)
    n = 20_000
    plain = reinforce_estimates(mdp, theta, n, seed=3)
    based = reinforce_estimates(mdp, theta, n, seed=3, baseline="value")
    for est in (plain, based):
        se = est.std(axis=0) / np.sqrt(n)
        assert np.all(np.abs(est.mean(axis=0) - exact) <= 4 * se + 1e-9)
    # a constant baseline is also unbiased: same draws (same seed), the difference has mean ~ 0
    shifted = reinforce_estimates(mdp, theta, n, seed=3, baseline=np.full(4, 5.0))
    se = shifted.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(shifted.mean(axis=0) - exact) <= 4 * se + 1e-9)
    assert based.var(axis=0).sum() < plain.var(axis=0).sum() < shifted.var(axis=0).sum()


def test_reinforce_is_deterministic_given_the_seed():
    mdp = chain_mdp()
    a = reinforce_estimates(mdp, np.zeros((6, 2)), 50, seed=7, baseline="value")
    b = reinforce_estimates(mdp, np.zeros((6, 2)), 50, seed=7, baseline="value")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, reinforce_estimates(mdp, np.zeros((6, 2)), 50, seed=8, baseline="value"))


def test_double_q_learning_removes_the_maximisation_bias():
    q = maximization_bias(100, 500, double=False, seed=0)
    dq = maximization_bias(100, 500, double=True, seed=0)
    assert q[:, :40].mean() > 0.5  # Q-learning prefers the worse action early on
    assert dq[:, :40].mean() < q[:, :40].mean() - 0.2
    assert dq[:, -20:].mean() < 0.15
    assert np.array_equal(q, maximization_bias(100, 500, double=False, seed=0))


@pytest.mark.parametrize(
    "bad",
    [
        lambda: FiniteMDP(np.ones((2, 1, 2)), np.zeros((2, 1)), 0.9),  # rows sum to 2
        lambda: FiniteMDP(np.full((2, 1, 2), 0.5), np.zeros((2, 1)), 1.0),  # gamma = 1
        lambda: FiniteMDP(np.full((2, 1, 2), 0.5), np.zeros((1, 2)), 0.5),  # R of the wrong shape
        lambda: chain_mdp(n=1),
        lambda: reinforce_estimates(chain_mdp(), np.zeros((3, 2)), 10, seed=0),
        lambda: reinforce_estimates(chain_mdp(), np.zeros((6, 2)), 10, seed=0, baseline="mean"),
        lambda: maximization_bias(10, 10, False, alpha=0.0),
        lambda: value_iteration(chain_mdp(), tol=0),
    ],
)
def test_bad_input_is_refused_with_a_message(bad):
    with pytest.raises(ValueError, match=r"must|need"):
        bad()


def test_deep_runs_train_for_a_few_hundred_steps():
    pytest.importorskip("gymnasium")
    from edgelearn.foundations.deep import DDPGConfig, DQNConfig, train_ddpg, train_dqn

    dqn = train_dqn(DQNConfig(steps=300, warmup=50, target_period=20), seed=0, double=True)
    assert {"return", "q_start", "discounted_return", "overestimation"} <= set(dqn.columns)
    assert len(dqn) >= 1 and (dqn["return"] >= 1).all() and dqn.method.iloc[0] == "Double DQN"
    again = train_dqn(DQNConfig(steps=300, warmup=50, target_period=20), seed=0, double=True)
    assert dqn.equals(again)  # deterministic given the seed
    ddpg = train_ddpg(DDPGConfig(steps=450, warmup=100), seed=0)
    assert len(ddpg) == 2 and (ddpg["return"] < 0).all()  # Pendulum: 200-step episodes, costs only
