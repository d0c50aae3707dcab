"""OD3: on-device deep reinforcement learning by distillation (Jang et al. 2020, *Knowledge transfer
for on-device deep reinforcement learning in resource constrained edge computing systems*).

A large DQN policy trained in the cloud (the teacher, *largenet*) is distilled into a small network
that learns on the edge device (the student, *smallnet*) by a KL loss on the teacher's sharpened
Q-values.

* :mod:`edgelearn.od3.od3` — the method, top to bottom: :class:`DQNConfig`, the OD3 loss (eqs. 3-5),
  :func:`train` for CLOUD, EDGE and EDGE-OD3 (Algorithm 1), the cached teacher, :data:`SCALES`;
* :mod:`edgelearn.od3.envs` — CartPole, MinAtar (MinAtar's gymnasium registration) and Atari Pong;
* :mod:`edgelearn.od3.nets` — largenet / smallnet in three layouts, ``PolicyNetGenerator``
  (Algorithm 1, line 1) and the paper's parameter counts;
* :mod:`edgelearn.od3.analysis` — time to convergence and the paper's Table 3;
* :mod:`edgelearn.od3.experiments` — the chapter's experiments in one call, :func:`run`, saving
  every tidy table;
* :mod:`edgelearn.od3.plots` — the chapter's figures;
* :mod:`edgelearn.od3.claims` — one verdict rule per claim of ``data/paper/od3.yaml``, :func:`judge`.
"""

from edgelearn.od3 import plots
from edgelearn.od3.analysis import convergence_table, first_reach
from edgelearn.od3.claims import judge, rules
from edgelearn.od3.envs import ChannelFirst, atari_env, env_spaces, make_env, minatar_env
from edgelearn.od3.experiments import (
    generator_table,
    glue_values,
    network_table,
    recorder,
    run,
    sweep_runs,
    sweep_summary,
    table3_summary,
)
from edgelearn.od3.nets import LARGENET, LAYOUTS, SMALLNET, PolicyNetGenerator, QNet, build_net, layout_for, paper_count
from edgelearn.od3.od3 import (
    CACHE_ENV,
    METHODS,
    SCALES,
    TEACHER_MODULES,
    DQNConfig,
    OD3Config,
    RunResult,
    cache_dir,
    cached_teacher,
    od3_loss,
    teacher_cache,
    teacher_spec,
    train,
)

__all__ = [
    "CACHE_ENV",
    "LARGENET",
    "LAYOUTS",
    "METHODS",
    "SCALES",
    "SMALLNET",
    "TEACHER_MODULES",
    "ChannelFirst",
    "DQNConfig",
    "OD3Config",
    "PolicyNetGenerator",
    "QNet",
    "RunResult",
    "atari_env",
    "build_net",
    "cache_dir",
    "cached_teacher",
    "convergence_table",
    "env_spaces",
    "first_reach",
    "generator_table",
    "glue_values",
    "judge",
    "layout_for",
    "make_env",
    "minatar_env",
    "network_table",
    "od3_loss",
    "paper_count",
    "plots",
    "recorder",
    "rules",
    "run",
    "sweep_runs",
    "sweep_summary",
    "table3_summary",
    "teacher_cache",
    "teacher_spec",
    "train",
]
