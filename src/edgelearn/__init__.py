"""edgelearn: the library behind *Learning at the edge, reproduced*.

One package per paper, each named after it, holding the method and its substrate (environment,
search space, tabular benchmark), on top of one core that knows no paper:

* :mod:`edgelearn.core` — results and provenance, the store and its one staleness rule, the pool,
  the supervised training loop, RL machinery, devices, seeding, scales, data, costs, statistics,
  plotting and the scorecard;
* :mod:`edgelearn.exp3` — EXP3 and its regret bound, the learner inside *Slicing for AI*;
* :mod:`edgelearn.slicing` — *Slicing for AI*: OLS, OLS-SA, OLS-RSA, SBS and GBS, and the accuracy
  model fitted to real training runs (it uses :mod:`edgelearn.exp3` as its learner);
* :mod:`edgelearn.ma2ml` — MA2ML and its joint AUG x NAS x HPO table of real training runs;
* :mod:`edgelearn.trl_hpo` — TRL-HPO: the transformer DDPG agent and its CNN search space;
* :mod:`edgelearn.od3` — OD3: a cloud DQN teacher distilled into an on-device student;
* :mod:`edgelearn.ats` — *To Train or Not to Train*: the MEC environment and the ATS/PTS schedulers.

The core imports no paper's package, and no paper's package imports another's (Slicing's use of
EXP3, a textbook learner, is the one dependency between packages).
"""

__version__ = "0.1.0"
