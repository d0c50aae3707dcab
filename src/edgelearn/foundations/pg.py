r"""REINFORCE with and without a baseline on a finite MDP, and the exact policy gradient (book/foundations/rl.md).

The policy is a tabular softmax, :math:`\pi_\theta(a \mid s) = e^{\theta_{s,a}} / \sum_b e^{\theta_{s,b}}`, and the
objective the discounted return from the start distribution, :math:`J(\theta) = \mathbb E[\sum_t \gamma^t r_t]`.

* :func:`exact_gradient` — the policy gradient theorem (thm-rl-pg) for this policy:
  :math:`\partial J / \partial \theta_{s,a} = d^\pi(s)\, \pi(a \mid s)\, A^\pi(s, a)`, with the discounted
  occupancy :math:`d^\pi(s) = \sum_t \gamma^t \Pr(s_t = s)` and the advantage :math:`A^\pi = Q^\pi - V^\pi`;
* :func:`reinforce_estimates` — one REINFORCE estimate per episode,
  :math:`\hat g = \sum_t \gamma^t \nabla_\theta \log \pi_\theta(a_t \mid s_t)\,(G_t - b(s_t))` (eq-rl-reinforce),
  with no baseline (:math:`b = 0`) or a state-value baseline :math:`b = V^\pi` (exact, or any array);
* :func:`reinforce_learning` — gradient ascent with those estimates, the returns it reaches.

For the tabular softmax, :math:`\nabla_{\theta_{s,\cdot}} \log \pi(a \mid s) = e_a - \pi(\cdot \mid s)`.
"""

from __future__ import annotations

import numpy as np

from edgelearn.core.seeding import numpy_generator
from edgelearn.foundations.mdp import FiniteMDP, policy_evaluation, q_values


def softmax_policy(theta: np.ndarray) -> np.ndarray:
    r""":math:`\pi(a \mid s)` of logits ``theta[s, a]`` (rows shifted by their maximum for stability)."""
    z = np.exp(theta - theta.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def occupancy(mdp: FiniteMDP, policy: np.ndarray) -> np.ndarray:
    r"""Discounted occupancy :math:`d^\pi = \mu_0^\top (I - \gamma P^\pi)^{-1}` (not normalised)."""
    P_pi = np.einsum("sa,sat->st", policy, mdp.P)
    return np.linalg.solve((np.eye(mdp.n_states) - mdp.gamma * P_pi).T, mdp.start)


def objective(mdp: FiniteMDP, theta: np.ndarray) -> float:
    r""":math:`J(\theta) = \mu_0^\top V^{\pi_\theta}`."""
    return float(mdp.start @ policy_evaluation(mdp, softmax_policy(theta)))


def exact_gradient(mdp: FiniteMDP, theta: np.ndarray) -> np.ndarray:
    r""":math:`\nabla_\theta J` by the policy gradient theorem: ``d[s] * pi[s, a] * A[s, a]``."""
    pi = softmax_policy(theta)
    V = policy_evaluation(mdp, pi)
    advantage = q_values(mdp, V) - V[:, None]
    return occupancy(mdp, pi)[:, None] * pi * advantage


def _check_theta(mdp: FiniteMDP, theta: np.ndarray) -> np.ndarray:
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"'theta' must have shape {(mdp.n_states, mdp.n_actions)}, got {theta.shape}")
    return theta


def rollouts(
    mdp: FiniteMDP, policy: np.ndarray, episodes: int, max_steps: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``episodes`` episodes at once, each stopped at a terminal state or after ``max_steps`` steps.

    Returns ``states``, ``actions`` (episodes, max_steps) integer arrays, ``rewards`` (episodes, max_steps)
    sampled as the expected reward :math:`r(s, a)`, and ``alive`` (episodes, max_steps), False once the
    episode has ended."""
    n = episodes
    states = np.zeros((n, max_steps), int)
    actions = np.zeros((n, max_steps), int)
    rewards = np.zeros((n, max_steps))
    alive = np.zeros((n, max_steps), bool)
    s = rng.choice(mdp.n_states, size=n, p=mdp.start)
    live = ~mdp.terminal[s]
    cum_pi = policy.cumsum(axis=1)
    cum_P = mdp.P.cumsum(axis=2)
    for t in range(max_steps):
        a = np.minimum((rng.random(n)[:, None] > cum_pi[s]).sum(axis=1), mdp.n_actions - 1)
        states[:, t], actions[:, t], alive[:, t] = s, a, live
        rewards[:, t] = np.where(live, mdp.R[s, a], 0.0)
        s = np.minimum((rng.random(n)[:, None] > cum_P[s, a]).sum(axis=1), mdp.n_states - 1)
        live = live & ~mdp.terminal[s]
        if not live.any():
            break
    return states, actions, rewards, alive


def reinforce_estimates(
    mdp: FiniteMDP,
    theta: np.ndarray,
    episodes: int,
    seed: int,
    baseline: str | np.ndarray | None = None,
    max_steps: int = 200,
) -> np.ndarray:
    r"""One REINFORCE gradient estimate per episode, an (episodes, S, A) array (eq-rl-reinforce).

    ``baseline``: ``None`` (:math:`b = 0`), ``"value"`` (the exact :math:`V^\pi`), or an array of one value
    per state. Any baseline that depends on the state only leaves the mean unchanged (prop-rl-baseline)."""
    theta = _check_theta(mdp, theta)
    if episodes < 1 or max_steps < 1:
        raise ValueError(f"need episodes >= 1 and max_steps >= 1, got {episodes}, {max_steps}")
    pi = softmax_policy(theta)
    if baseline is None:
        b = np.zeros(mdp.n_states)
    elif isinstance(baseline, str):
        if baseline != "value":
            raise ValueError(f"'baseline' must be None, 'value' or an array of shape ({mdp.n_states},)")
        b = policy_evaluation(mdp, pi)
    else:
        b = np.asarray(baseline, dtype=float)
        if b.shape != (mdp.n_states,):
            raise ValueError(f"'baseline' must be None, 'value' or an array of shape ({mdp.n_states},)")
    rng = numpy_generator(seed)
    states, actions, rewards, alive = rollouts(mdp, pi, episodes, max_steps, rng)
    discount = mdp.gamma ** np.arange(max_steps)
    # G_t = sum_{k >= t} gamma^(k - t) r_k, by a backward pass
    returns = np.zeros_like(rewards)
    running = np.zeros(episodes)
    for t in range(max_steps - 1, -1, -1):
        running = rewards[:, t] + mdp.gamma * running
        returns[:, t] = running
    weight = np.where(alive, discount * (returns - b[states]), 0.0)  # (episodes, T)
    grad = np.zeros((episodes, mdp.n_states, mdp.n_actions))
    rows = np.arange(episodes)
    for t in range(max_steps):
        w = weight[:, t]
        if not alive[:, t].any():
            break
        s, a = states[:, t], actions[:, t]
        grad[rows, s, :] -= w[:, None] * pi[s]  # grad log pi(a|s) = e_a - pi(.|s) in row s
        grad[rows, s, a] += w
    return grad


def reinforce_learning(
    mdp: FiniteMDP,
    iterations: int,
    episodes: int,
    lr: float,
    seed: int,
    baseline: str | None = None,
    max_steps: int = 200,
) -> np.ndarray:
    r""":math:`J(\theta_k)` along gradient ascent :math:`\theta_{k+1} = \theta_k + \eta\,\bar g_k` from
    :math:`\theta_0 = 0`, with :math:`\bar g_k` the mean of ``episodes`` REINFORCE estimates;
    ``iterations + 1`` values."""
    if iterations < 1 or not lr > 0:
        raise ValueError(f"need iterations >= 1 and lr > 0, got {iterations}, {lr}")
    theta = np.zeros((mdp.n_states, mdp.n_actions))
    values = [objective(mdp, theta)]
    for k in range(iterations):
        g = reinforce_estimates(mdp, theta, episodes, seed * 100_003 + k, baseline, max_steps).mean(axis=0)
        theta = theta + lr * g
        values.append(objective(mdp, theta))
    return np.array(values)
