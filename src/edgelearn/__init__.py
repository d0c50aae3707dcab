"""edgelearn: the library behind *Learning at the edge, reproduced*.

One module per method, read top to bottom, each docstring naming the paper's equation or
algorithm line it implements:

* :mod:`edgelearn.exp3` — EXP3 and its regret bound (the learner of *Slicing for AI*);
* :mod:`edgelearn.bandits` — loss sequences, the UCB1 baseline and the play loop;
* :mod:`edgelearn.slicing` and :mod:`edgelearn.accuracy_model` — *Slicing for AI* (OLS, OLS-SA,
  OLS-RSA, SBS, GBS) and its accuracy model fitted to real training runs;
* :mod:`edgelearn.automl_table` and :mod:`edgelearn.ma2ml` — the joint AutoML table and MA2ML;
* :mod:`edgelearn.mec` — the mobile-edge-computing scheduling environment of *To Train or Not to Train*.

Shared machinery: :mod:`edgelearn.data` (MNIST and Fashion-MNIST as tensors),
:mod:`edgelearn.results` (tidy tables with provenance), :mod:`edgelearn.rl` (replay memories,
(Double) DQN updates, schedules), :mod:`edgelearn.scales`,
:mod:`edgelearn.scorecard`, :mod:`edgelearn.plotting` and :mod:`edgelearn.stats`.
"""

__version__ = "0.1.0"
