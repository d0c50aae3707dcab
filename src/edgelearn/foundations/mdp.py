r"""Finite Markov decision processes and the Bellman operators (book/foundations/rl.md).

A :class:`FiniteMDP` holds transition probabilities :math:`P(s' \mid s, a)`, expected rewards
:math:`r(s, a)` and a discount :math:`\gamma \in [0, 1)`. The functions implement the chapter's
equations:

* :func:`bellman_expectation` — :math:`(T^\pi V)(s) = \sum_a \pi(a \mid s)\big[r(s, a) + \gamma \sum_{s'}
  P(s' \mid s, a) V(s')\big]` (eq-rl-bellman-v);
* :func:`bellman_optimality` — :math:`(T V)(s) = \max_a \big[r(s, a) + \gamma \sum_{s'} P(s' \mid s, a)
  V(s')\big]` (eq-rl-bellman-opt), a :math:`\gamma`-contraction in the sup norm (thm-rl-contraction);
* :func:`policy_evaluation` — :math:`V^\pi = (I - \gamma P^\pi)^{-1} r^\pi`, the exact solution of the
  expectation equation;
* :func:`value_iteration` — :math:`V_{k+1} = T V_k` with the distance to the fixed point at every step;
* :func:`q_values`, :func:`greedy` — :math:`Q(s, a)` from :math:`V`, and the greedy policy;
* :func:`chain_mdp`, :func:`gridworld` — the chapter's small examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FiniteMDP:
    """A finite MDP: ``P[s, a, s']`` (rows sum to 1), ``R[s, a]`` expected rewards, ``gamma`` in [0, 1).

    ``terminal[s]`` marks absorbing states (they must loop to themselves with reward 0); an episode
    sampled from the MDP stops there. ``start`` is the initial distribution (default: state 0)."""

    P: np.ndarray
    R: np.ndarray
    gamma: float
    terminal: np.ndarray | None = None
    start: np.ndarray | None = None

    def __post_init__(self) -> None:
        P, R = np.asarray(self.P, dtype=float), np.asarray(self.R, dtype=float)
        if P.ndim != 3 or P.shape[0] != P.shape[2]:
            raise ValueError(f"'P' must have shape (S, A, S), got {P.shape}")
        if R.shape != P.shape[:2]:
            raise ValueError(f"'R' must have shape (S, A) = {P.shape[:2]}, got {R.shape}")
        if (P < 0).any() or not np.allclose(P.sum(axis=2), 1.0):
            raise ValueError("every row P[s, a, :] must be a probability distribution")
        if not 0 <= self.gamma < 1:
            raise ValueError(f"'gamma' must lie in [0, 1), got {self.gamma}")
        n = P.shape[0]
        terminal = np.zeros(n, bool) if self.terminal is None else np.asarray(self.terminal, bool)
        if terminal.shape != (n,):
            raise ValueError(f"'terminal' must have shape ({n},), got {terminal.shape}")
        for s in np.flatnonzero(terminal):
            if not np.allclose(P[s, :, s], 1.0) or not np.allclose(R[s], 0.0):
                raise ValueError(f"terminal state {s} must loop to itself with reward 0")
        start = np.eye(n)[0] if self.start is None else np.asarray(self.start, dtype=float)
        if start.shape != (n,) or (start < 0).any() or not np.isclose(start.sum(), 1.0):
            raise ValueError(f"'start' must be a probability vector of length {n}")
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "terminal", terminal)
        object.__setattr__(self, "start", start)

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]


def _check_policy(mdp: FiniteMDP, policy: np.ndarray) -> np.ndarray:
    policy = np.asarray(policy, dtype=float)
    if policy.shape != (mdp.n_states, mdp.n_actions) or (policy < 0).any() or not np.allclose(policy.sum(1), 1):
        raise ValueError(f"'policy' must have shape {(mdp.n_states, mdp.n_actions)} with rows summing to 1")
    return policy


def q_values(mdp: FiniteMDP, V: np.ndarray) -> np.ndarray:
    r""":math:`Q(s, a) = r(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V(s')` (eq-rl-q-from-v)."""
    V = np.asarray(V, dtype=float)
    if V.shape != (mdp.n_states,):
        raise ValueError(f"'V' must have shape ({mdp.n_states},), got {V.shape}")
    return mdp.R + mdp.gamma * mdp.P @ V


def bellman_expectation(mdp: FiniteMDP, policy: np.ndarray, V: np.ndarray) -> np.ndarray:
    r""":math:`T^\pi V`, the Bellman expectation operator of ``policy`` (``policy[s, a]`` = :math:`\pi(a|s)`)."""
    return (_check_policy(mdp, policy) * q_values(mdp, V)).sum(axis=1)


def bellman_optimality(mdp: FiniteMDP, V: np.ndarray) -> np.ndarray:
    r""":math:`T V = \max_a Q(\cdot, a)`, the Bellman optimality operator (eq-rl-bellman-opt)."""
    return q_values(mdp, V).max(axis=1)


def greedy(mdp: FiniteMDP, V: np.ndarray) -> np.ndarray:
    """The deterministic greedy policy of ``V`` as a one-hot (S, A) array (ties: the first action)."""
    return np.eye(mdp.n_actions)[q_values(mdp, V).argmax(axis=1)]


def policy_evaluation(mdp: FiniteMDP, policy: np.ndarray) -> np.ndarray:
    r""":math:`V^\pi = (I - \gamma P^\pi)^{-1} r^\pi`, the unique solution of :math:`V = T^\pi V`."""
    policy = _check_policy(mdp, policy)
    P_pi = np.einsum("sa,sat->st", policy, mdp.P)
    r_pi = (policy * mdp.R).sum(axis=1)
    return np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * P_pi, r_pi)


@dataclass(frozen=True)
class ValueIterationResult:
    """``V``: the last iterate; ``iterates[k]``: :math:`V_k`; ``policy``: greedy in ``V``."""

    V: np.ndarray
    iterates: np.ndarray
    policy: np.ndarray

    def errors(self, V_star: np.ndarray) -> np.ndarray:
        r""":math:`\|V_k - V^*\|_\infty` for every iterate."""
        return np.abs(self.iterates - np.asarray(V_star)).max(axis=1)


def value_iteration(
    mdp: FiniteMDP, V0: np.ndarray | None = None, tol: float = 1e-10, max_iter: int = 10_000
) -> ValueIterationResult:
    r"""Iterate :math:`V_{k+1} = T V_k` from ``V0`` (default 0) until :math:`\|V_{k+1} - V_k\|_\infty \le`
    ``tol``\ :math:`(1 - \gamma)/\gamma` (then :math:`\|V_{k+1} - V^*\|_\infty \le` ``tol``, cor-rl-vi-error)
    or ``max_iter`` steps."""
    if not tol > 0 or max_iter < 1:
        raise ValueError(f"need tol > 0 and max_iter >= 1, got {tol}, {max_iter}")
    V = np.zeros(mdp.n_states) if V0 is None else np.asarray(V0, dtype=float).copy()
    if V.shape != (mdp.n_states,):
        raise ValueError(f"'V0' must have shape ({mdp.n_states},), got {V.shape}")
    stop = tol * (1 - mdp.gamma) / mdp.gamma if mdp.gamma > 0 else 0.0
    iterates = [V]
    for _ in range(max_iter):
        V_next = bellman_optimality(mdp, V)
        iterates.append(V_next)
        done = np.abs(V_next - V).max() <= stop
        V = V_next
        if done:
            break
    return ValueIterationResult(V=V, iterates=np.array(iterates), policy=greedy(mdp, V))


def chain_mdp(n: int = 6, gamma: float = 0.9, slip: float = 0.1, reward: float = 1.0) -> FiniteMDP:
    """A chain of ``n`` states with actions left (0) and right (1). An action moves as asked with
    probability ``1 - slip`` and the other way otherwise (clipped at the ends). Reaching the right end
    pays ``reward`` and ends the episode (state ``n - 1`` is absorbing); every other step pays 0."""
    if n < 2 or not 0 <= slip < 1:
        raise ValueError(f"need n >= 2 and 0 <= slip < 1, got {n}, {slip}")
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2))
    for s in range(n - 1):
        left, right = max(s - 1, 0), s + 1
        for a, (go, other) in enumerate(((left, right), (right, left))):
            P[s, a, go] += 1 - slip
            P[s, a, other] += slip
            R[s, a] = reward * P[s, a, n - 1]
    P[n - 1, :, n - 1] = 1.0
    terminal = np.zeros(n, bool)
    terminal[-1] = True
    return FiniteMDP(P, R, gamma, terminal=terminal)


def gridworld(
    width: int = 4, height: int = 4, gamma: float = 0.95, slip: float = 0.1, step_reward: float = -0.04
) -> FiniteMDP:
    """A ``width`` x ``height`` grid; actions up, right, down, left; with probability ``slip`` the move goes
    to a uniformly random neighbour direction instead. The top-right cell pays +1 and the cell below it -1,
    both ending the episode; every other step pays ``step_reward``. States are numbered row by row from the
    top-left corner (the start)."""
    if width < 2 or height < 2 or not 0 <= slip < 1:
        raise ValueError(f"need width, height >= 2 and 0 <= slip < 1, got {width}, {height}, {slip}")
    n = width * height
    goal, pit = width - 1, 2 * width - 1
    moves = ((-1, 0), (0, 1), (1, 0), (0, -1))
    P = np.zeros((n, 4, n))
    R = np.zeros((n, 4))
    for s in range(n):
        if s in (goal, pit):
            P[s, :, s] = 1.0
            continue
        row, col = divmod(s, width)
        for a in range(4):
            for b, (dr, dc) in enumerate(moves):
                prob = (1 - slip) * (a == b) + slip / 4
                r2, c2 = min(max(row + dr, 0), height - 1), min(max(col + dc, 0), width - 1)
                P[s, a, r2 * width + c2] += prob
            R[s, a] = step_reward + P[s, a, goal] * 1.0 - P[s, a, pit] * 1.0
    terminal = np.zeros(n, bool)
    terminal[[goal, pit]] = True
    return FiniteMDP(P, R, gamma, terminal=terminal)
