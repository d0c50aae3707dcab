r"""Slicing for AI: online learning of network slices for AI services.

Paper: *Slicing for AI: An Online Learning Framework for Network Slicing Supporting AI
Services* (arXiv 2411.02412). Each slot, a network allocates to every AI service a CPU
frequency and a data rate and chooses its training data fraction and epochs, under latency,
cost and capacity constraints (problem P), to maximise the services' weighted accuracy. The
accuracies are unknown and may change, so the allocation is learned online with EXP3 over
three decision spaces: all feasible decisions (OLS), super actions that share their
hyper-parameters (OLS-SA), and the super actions no other dominates (OLS-RSA); the priors SBS
and GBS start EXP3 near a guess of the optimum.

Modules:

* :mod:`~edgelearn.slicing.system` — the system model (services, latency, cost, the
  constraints of problem P), the decision spaces and the pre-learning that lists them
  (:func:`build_space`), and the book's assumed instance (:data:`SERVICES`, :func:`default_config`);
* :mod:`~edgelearn.slicing.ols` — the method: performance and bandit losses, the learners
  OLS, OLS-SA, OLS-RSA (:func:`exp3_learner`), the SBS and GBS priors, the fixed-allocation
  benchmark, and the chapter's sizes per scale (:data:`SCALES`);
* :mod:`~edgelearn.slicing.accuracy_model` — real training runs over epochs x data fraction
  (:func:`run_grid`) and the fitted accuracy model of the paper's eq. 19 (:class:`AccuracyModel`);
* :mod:`~edgelearn.slicing.experiments` — the chapter's experiments at a scale, saving every
  tidy table (:func:`~edgelearn.slicing.experiments.run`); :mod:`~edgelearn.slicing.plots` — its figures;
* :mod:`~edgelearn.slicing.claims` — the verdict rules, one per claim of ``data/paper/slicing.yaml``
  (:func:`judge`).

This package imports :mod:`edgelearn.exp3`: EXP3 is the learner the paper builds on, not
another of the book's papers, so the slicing results depend on (and go stale with) its code.
"""

from edgelearn.slicing import experiments
from edgelearn.slicing.accuracy_model import (
    RUN_COLUMNS,
    AccuracyModel,
    TrainingGrid,
    build_classifier,
    fit_accuracy_model,
    is_monotone,
    residuals,
    run_grid,
    subset_indices,
)
from edgelearn.slicing.claims import judge, rules
from edgelearn.slicing.ols import (
    OLS_VARIANTS,
    SCALES,
    Accuracy,
    FixedPolicy,
    SlicingLosses,
    SlicingScale,
    UniformPolicy,
    arm_columns,
    exp3_learner,
    fixed_allocation,
    gbs_prior,
    performance,
    sbs_prior,
)
from edgelearn.slicing.system import (
    SERVICES,
    DecisionSpace,
    InfeasibleProblem,
    Service,
    SlicingConfig,
    build_space,
    cost,
    count_space,
    default_config,
    diagnose_infeasible,
    latency,
    pareto_maximal,
)

__all__ = [
    "OLS_VARIANTS",
    "RUN_COLUMNS",
    "SCALES",
    "SERVICES",
    "Accuracy",
    "AccuracyModel",
    "DecisionSpace",
    "FixedPolicy",
    "InfeasibleProblem",
    "Service",
    "SlicingConfig",
    "SlicingLosses",
    "SlicingScale",
    "TrainingGrid",
    "UniformPolicy",
    "arm_columns",
    "build_classifier",
    "build_space",
    "cost",
    "count_space",
    "default_config",
    "diagnose_infeasible",
    "exp3_learner",
    "experiments",
    "fit_accuracy_model",
    "fixed_allocation",
    "gbs_prior",
    "is_monotone",
    "judge",
    "latency",
    "pareto_maximal",
    "performance",
    "residuals",
    "rules",
    "run_grid",
    "sbs_prior",
    "subset_indices",
]
