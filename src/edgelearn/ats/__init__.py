"""ATS / PTS: *To Train or Not to Train: Balancing Efficiency and Training Cost in Deep Reinforcement
Learning for Mobile Edge Computing* (arXiv 2411.07086).

A Double-DQN job scheduler at the edge learns only while a *training job* runs, and a training job
takes every computing resource for a slot. When should it train? Periodically (PTS), adaptively
when the Q-function says a training slot costs little (ATS), only at first (Fixed), never (SJF),
or for free (Ideal, the upper reference).

* :mod:`edgelearn.ats.ats` — the method, top to bottom: :class:`AgentConfig`,
  :class:`TrainingRuleConfig`, :data:`SCALES`, the Double DQN agent, SJF and the training rules,
  :func:`run` / :func:`run_task`;
* :mod:`edgelearn.ats.mec` — the mobile-edge-computing scheduling environment (:class:`MECEnv`);
* :mod:`edgelearn.ats.experiments` — the chapter's experiments in one call
  (:func:`~edgelearn.ats.experiments.run`) and the tables they save;
* :mod:`edgelearn.ats.claims` — the paper's claims as verdict rules on those tables (:func:`judge`);
* :mod:`edgelearn.ats.plots` — the chapter's figures (imported on its own: it needs matplotlib).
"""

from edgelearn.ats.ats import (
    SCALES,
    SCENARIOS,
    SCHEDULERS,
    AgentConfig,
    ATSScale,
    DoubleDQNAgent,
    TrainingRule,
    TrainingRuleConfig,
    load_schedule,
    q_network,
    run,
    run_task,
    sjf_action,
)
from edgelearn.ats.claims import judge, rules
from edgelearn.ats.mec import FEATURES, MECConfig, MECEnv

__all__ = [
    "FEATURES",
    "SCALES",
    "SCENARIOS",
    "SCHEDULERS",
    "ATSScale",
    "AgentConfig",
    "DoubleDQNAgent",
    "MECConfig",
    "MECEnv",
    "TrainingRule",
    "TrainingRuleConfig",
    "judge",
    "load_schedule",
    "q_network",
    "run",
    "rules",
    "run_task",
    "sjf_action",
]
