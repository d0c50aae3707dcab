r"""Reinforcement-learning foundations: the reusable code behind the book's RL foundations chapter.

The chapter (``book/foundations/rl.md``, ``notebooks/foundations.md``) derives MDPs, the Bellman
equations, Q-learning, DQN, Double DQN, policy gradients with a baseline, actor-critic and DDPG, the
pieces the paper chapters (TRL-HPO, OD3, ATS) use. Modules:

* :mod:`~edgelearn.foundations.mdp` — finite MDPs, the Bellman operators, policy evaluation and value
  iteration, a chain and a gridworld;
* :mod:`~edgelearn.foundations.tabular` — Q-learning and Double Q-learning on the maximisation-bias example;
* :mod:`~edgelearn.foundations.pg` — REINFORCE with and without a baseline, and the exact policy gradient;
* :mod:`~edgelearn.foundations.deep` — DQN / Double DQN on CartPole-v1 and DDPG on Pendulum-v1, built from
  :mod:`edgelearn.core.rl`;
* :mod:`~edgelearn.foundations.experiments`, :mod:`~edgelearn.foundations.plots` — the chapter's tables
  (sizes per scale in :data:`~edgelearn.foundations.experiments.SCALES`) and figures.

>>> from edgelearn.foundations import chain_mdp, value_iteration
>>> value_iteration(chain_mdp()).V.round(2)[:3]
array([0.59, 0.67, 0.76])
"""

from edgelearn.foundations.mdp import (
    FiniteMDP,
    bellman_expectation,
    bellman_optimality,
    chain_mdp,
    greedy,
    gridworld,
    policy_evaluation,
    q_values,
    value_iteration,
)
from edgelearn.foundations.pg import exact_gradient, reinforce_estimates, reinforce_learning, softmax_policy
from edgelearn.foundations.tabular import maximization_bias

__all__ = [
    "FiniteMDP",
    "bellman_expectation",
    "bellman_optimality",
    "chain_mdp",
    "exact_gradient",
    "greedy",
    "gridworld",
    "maximization_bias",
    "policy_evaluation",
    "q_values",
    "reinforce_estimates",
    "reinforce_learning",
    "softmax_policy",
    "value_iteration",
]
