"""TRL-HPO: transformer-based reinforcement learning for hyper-parameter optimisation of CNNs.

Shaer et al. (2024) build a CNN layer by layer with a DDPG agent whose actor and critic are
transformers: the state holds one token per layer built so far (an encoding of the action and of
the 32 per-batch validation accuracies after it), the reward is the improvement in accuracy the
new layer brings. The modules:

* :mod:`~edgelearn.trl_hpo.space` — Table I's search space as data, decoding of the actor's
  actions into layers, collapse checks, the CNN builder and its cost;
* :mod:`~edgelearn.trl_hpo.candidates` — training one candidate, the candidate cache (a disk cache
  that goes stale with the training code) and many candidates on a pool;
* :mod:`~edgelearn.trl_hpo.trl_hpo` — the method: configuration per scale, state, transformer actor
  and critic, the DDPG agent, rewards and the search (:func:`search_architectures`);
* :mod:`~edgelearn.trl_hpo.baselines` — random search and MetaQNN, policies of the same search;
* :mod:`~edgelearn.trl_hpo.analysis` — Fig. 2 (negative-reward layer pairs), Fig. 3 (attention
  differences) and best-so-far curves;
* :mod:`~edgelearn.trl_hpo.experiments` — the chapter's experiments: :func:`run` makes and saves
  every table at a scale, :func:`table2` sets ours beside the paper's Table II;
* :mod:`~edgelearn.trl_hpo.plots` — the chapter's figures from those tables (not imported here:
  a figure's look changes no result);
* :mod:`~edgelearn.trl_hpo.claims` — the paper's claims judged from the tables (:func:`judge`).
"""

from .analysis import KIND_LABEL, attention_differences, best_so_far, negative_reward_pairs, slot_attention
from .baselines import MetaQNN, RandomSearch
from .candidates import (
    CandidateData,
    CandidateTraining,
    candidate_cache,
    candidate_pool,
    evaluate_candidate,
    evaluate_many,
    load_candidate_data,
    ray_task_options,
)
from .claims import judge
from .experiments import run, table2
from .space import (
    HP_NAMES,
    KINDS,
    Architecture,
    Layer,
    SearchSpace,
    arch_name,
    build_cnn,
    collapses,
    decode_action,
    flops_and_params,
    output_sizes,
)
from .trl_hpo import (
    IMR,
    POLICIES,
    SCALES,
    Actor,
    Agent,
    SearchResult,
    TransformerCritic,
    TRLConfig,
    search_architectures,
    step_rewards,
)

__all__ = [
    "Actor", "Agent", "Architecture", "CandidateData", "CandidateTraining", "HP_NAMES", "IMR", "KINDS",
    "KIND_LABEL", "Layer", "MetaQNN", "POLICIES", "RandomSearch", "SCALES", "SearchResult", "SearchSpace",
    "TRLConfig", "TransformerCritic", "arch_name", "attention_differences", "best_so_far", "build_cnn",
    "candidate_cache", "candidate_pool", "collapses", "decode_action", "evaluate_candidate", "evaluate_many",
    "flops_and_params", "judge", "load_candidate_data", "negative_reward_pairs", "output_sizes", "ray_task_options",
    "run", "search_architectures", "slot_attention", "step_rewards", "table2",
]  # fmt: skip
