r"""Tabular Q-learning and Double Q-learning on the maximisation-bias example (book/foundations/rl.md).

The example of Sutton & Barto (2018, Example 6.7): from state A, *right* ends the episode with reward 0
and *left* leads, with reward 0, to state B, from which each of ``n_b_actions`` actions ends the episode
with a reward drawn from :math:`\mathcal N(\mu, 1)`, :math:`\mu = -0.1 < 0`. Left is the worse action
(its value is :math:`\mu`), yet Q-learning's target :math:`\max_b Q(B, b)` over noisy estimates is biased
upwards (prop-rl-overestimation), and early on Q-learning goes left far more often than an
:math:`\varepsilon`-greedy learner with correct values would. Double Q-learning (van Hasselt 2010) keeps
two tables, selects with one and evaluates with the other (eq-rl-double-q), and the bias goes away.

:func:`maximization_bias` runs many independent learners at once (one row of the tables per run).
"""

from __future__ import annotations

import numpy as np

from edgelearn.core.seeding import numpy_generator

LEFT, RIGHT = 0, 1


def _eps_greedy(q: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Row-wise epsilon-greedy actions with ties broken at random."""
    n, k = q.shape
    noisy = q + rng.random((n, k)) * 1e-9  # random tie-breaking
    greedy = noisy.argmax(axis=1)
    explore = rng.random(n) < epsilon
    return np.where(explore, rng.integers(k, size=n), greedy)


def maximization_bias(
    episodes: int,
    runs: int,
    double: bool,
    seed: int = 0,
    n_b_actions: int = 10,
    mean: float = -0.1,
    alpha: float = 0.1,
    epsilon: float = 0.1,
    gamma: float = 1.0,
) -> np.ndarray:
    r"""Whether each of ``runs`` learners took *left* in A, per episode: a boolean (runs, episodes) array.

    Q-learning updates :math:`Q(A, \text{left}) \mathrel{+}= \alpha\,[\gamma \max_b Q(B, b) - Q(A, \text{left})]`;
    Double Q-learning flips a fair coin per episode (and run), and the chosen table :math:`Q^1` moves towards
    :math:`\gamma\, Q^2(B, \arg\max_b Q^1(B, b))` (eq-rl-double-q); it acts on :math:`Q^1 + Q^2`."""
    if episodes < 1 or runs < 1 or n_b_actions < 1:
        raise ValueError(f"need episodes, runs, n_b_actions >= 1, got {episodes}, {runs}, {n_b_actions}")
    if not 0 < alpha <= 1 or not 0 <= epsilon <= 1 or not 0 <= gamma <= 1:
        raise ValueError(f"need 0 < alpha <= 1, 0 <= epsilon <= 1, 0 <= gamma <= 1; got {alpha}, {epsilon}, {gamma}")
    rng = numpy_generator(seed)
    rows = np.arange(runs)
    qa = np.zeros((2, runs, 2))  # two tables for state A (Q-learning uses the first only)
    qb = np.zeros((2, runs, n_b_actions))
    went_left = np.zeros((runs, episodes), bool)
    for ep in range(episodes):
        a = _eps_greedy(qa[0] + qa[1] if double else qa[0], epsilon, rng)
        left = a == LEFT
        went_left[:, ep] = left
        b = _eps_greedy(qb[0] + qb[1] if double else qb[0], epsilon, rng)
        reward = rng.normal(mean, 1.0, size=runs)
        if double:
            first = rng.random(runs) < 0.5  # which table learns in this episode, per run
            sel, ev = np.where(first, 0, 1), np.where(first, 1, 0)
            best = qb[sel, rows].argmax(axis=1)
            target_a = np.where(left, gamma * qb[ev, rows, best], 0.0)
            qa[sel, rows, a] += alpha * (target_a - qa[sel, rows, a])
            r = rows[left]
            qb[sel[r], r, b[r]] += alpha * (reward[r] - qb[sel[r], r, b[r]])
        else:
            target_a = np.where(left, gamma * qb[0].max(axis=1), 0.0)
            qa[0, rows, a] += alpha * (target_a - qa[0, rows, a])
            r = rows[left]
            qb[0, r, b[r]] += alpha * (reward[r] - qb[0, r, b[r]])
    return went_left


def optimal_left_share(epsilon: float = 0.1) -> float:
    """The share of *left* in A of an epsilon-greedy learner that knows the true values (right is
    greedy): ``epsilon / 2``."""
    return epsilon / 2
