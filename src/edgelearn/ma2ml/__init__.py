r"""MA2ML: multi-agent reinforcement learning for joint AutoML.

Paper: Wang et al., *Multi-Agent Automated Machine Learning* (CVPR 2023). One agent per AutoML
module (data augmentation, architecture, hyper-parameters) chooses its part of a pipeline; a
centralised critic assigns credit counterfactually and KL-regularised target policies keep the
off-policy updates monotone. The chapter compares it with MA2ML-Lite, a single agent and random
search on a table of real training runs over a joint AUG x NAS x HPO space.

Modules:

* :mod:`~edgelearn.ma2ml.ma2ml` — the method, top to bottom: :class:`MA2MLConfig`, the
  experiment sizes :data:`SCALES`, the reward, the per-module agents and :class:`MA2MLLite`,
  the :class:`CentralCritic` and the counterfactual baseline, the KL-regularised :class:`MA2ML`;
* :mod:`~edgelearn.ma2ml.baselines` — :class:`RandomSearch` and :class:`SingleAgent`;
* :mod:`~edgelearn.ma2ml.search` — the benchmarks the searchers query
  (:class:`TabularBenchmark`, :class:`LiveBenchmark`) and the loop :func:`search_pipelines`,
  :func:`top_k_curve`;
* :mod:`~edgelearn.ma2ml.pipelines` — the joint space (augmentations, architectures,
  hyper-parameters, :class:`JointSpace`), the table's configuration per scale
  (:data:`TABLE_SCALES`, its space :data:`TABLE_SPACES`) and :func:`evaluate_pipeline`, one real
  training run: everything that determines the table's numbers, and so the code its staleness is keyed on;
* :mod:`~edgelearn.ma2ml.experiments` — the chapter's experiments, :func:`run` at a scale saving
  every tidy table, and :mod:`~edgelearn.ma2ml.plots`, its figures (imported on its own:
  ``from edgelearn.ma2ml import plots``; results do not depend on it);
* :mod:`~edgelearn.ma2ml.claims` — the poster's claims as verdict rules on those tables
  (:func:`judge`);
* :mod:`~edgelearn.ma2ml.table` — building the joint table (resumable, over a pool of processes
  or Ray), :func:`load_joint_table` and the command line
  ``python -m edgelearn.ma2ml.table --scale laptop`` (``make table``).
"""

from edgelearn.ma2ml import claims, experiments
from edgelearn.ma2ml.baselines import RandomSearch, SingleAgent
from edgelearn.ma2ml.claims import judge
from edgelearn.ma2ml.experiments import run
from edgelearn.ma2ml.ma2ml import (
    MA2ML,
    SCALES,
    CentralCritic,
    MA2MLConfig,
    MA2MLLite,
    MA2MLScale,
    ModuleAgents,
    RewardStandardiser,
    counterfactual_baseline,
    flops_reward,
    kl_divergence,
    lite_gradient,
)
from edgelearn.ma2ml.pipelines import (
    ARCHITECTURES,
    AUGMENTATIONS,
    HYPERPARAMETERS,
    MODULES,
    TABLE_SCALES,
    TABLE_SPACES,
    HyperParameters,
    JointSpace,
    TableConfig,
    TableData,
    evaluate_pipeline,
    load_table_data,
)
from edgelearn.ma2ml.search import LiveBenchmark, TabularBenchmark, search_pipelines, top_k_curve

# The table's names are imported on first use, so that `python -m edgelearn.ma2ml.table` does not
# find its own module already imported by the package (runpy warns, and it would run twice).
_TABLE_NAMES = ("build_table", "default_table_path", "load_joint_table", "table_is_current")


def __getattr__(name: str) -> object:
    if name in _TABLE_NAMES:
        from edgelearn.ma2ml import table

        return getattr(table, name)
    raise AttributeError(f"module 'edgelearn.ma2ml' has no attribute {name!r}")


__all__ = [
    "ARCHITECTURES",
    "AUGMENTATIONS",
    "HYPERPARAMETERS",
    "MA2ML",
    "MODULES",
    "SCALES",
    "TABLE_SCALES",
    "TABLE_SPACES",
    "CentralCritic",
    "HyperParameters",
    "JointSpace",
    "LiveBenchmark",
    "MA2MLConfig",
    "MA2MLLite",
    "MA2MLScale",
    "ModuleAgents",
    "RandomSearch",
    "RewardStandardiser",
    "SingleAgent",
    "TableConfig",
    "TableData",
    "TabularBenchmark",
    "build_table",
    "claims",
    "experiments",
    "judge",
    "run",
    "counterfactual_baseline",
    "default_table_path",
    "evaluate_pipeline",
    "flops_reward",
    "kl_divergence",
    "lite_gradient",
    "load_joint_table",
    "load_table_data",
    "search_pipelines",
    "table_is_current",
    "top_k_curve",
]
