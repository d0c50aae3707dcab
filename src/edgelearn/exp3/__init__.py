r"""EXP3: exponential weights for adversarial bandits, and its regret bound.

The book's EXP3 chapter (``book/exp3/theory.md``, ``notebooks/exp3.md``) follows Auer,
Cesa-Bianchi, Freund & Schapire (2002) and Lattimore & Szepesvári (2020), ch. 11: EXP3 keeps
exponential weights over :math:`K` arms, samples an arm, and updates only the played arm with an
importance-weighted loss estimate; with a tuned learning rate its expected regret after
:math:`T` rounds is at most :math:`\sqrt{2TK\ln K}`, against any oblivious loss sequence. It is
also the learner of *Slicing for AI* (:mod:`edgelearn.slicing`), whose priors (SBS, GBS) are
EXP3's initial distribution.

Modules:

* :mod:`~edgelearn.exp3.exp3` — the algorithm (:class:`Exp3`, many runs at once; :class:`Exp3Doubling`,
  the doubling trick), the bound (:func:`regret_bound`, :func:`optimal_eta`) and the chapter's sizes per
  scale (:data:`SCALES`);
* :mod:`~edgelearn.exp3.bandits` — oblivious loss sequences (:class:`BernoulliLosses`,
  :class:`TrapLosses`), the UCB1 baseline (:class:`Ucb1`) and the play loop (:func:`play`),
  which scores a learner against the best arm in hindsight;
* :mod:`~edgelearn.exp3.experiments`, :mod:`~edgelearn.exp3.plots`, :mod:`~edgelearn.exp3.claims` — the
  chapter's experiments (one call, :func:`~edgelearn.exp3.experiments.run`, makes every table), its
  figures, and the verdict rules of its claims. They are not imported here, so that *Slicing for AI*,
  which imports EXP3, does not depend on them.

>>> from edgelearn import exp3
>>> learner = exp3.Exp3(10, float(exp3.optimal_eta(1_000, 10)), n_runs=4, seed=0)
>>> result = exp3.play(learner, exp3.BernoulliLosses.with_gap(10, 0.1), 1_000, seed=1)
"""

from edgelearn.exp3.bandits import (
    BernoulliLosses,
    Learner,
    LossSequence,
    PlayResult,
    TrapLosses,
    Ucb1,
    checkpoints,
    play,
)
from edgelearn.exp3.exp3 import DOUBLING_FACTOR, SCALES, Exp3, Exp3Doubling, Exp3Scale, optimal_eta, regret_bound

__all__ = [
    "DOUBLING_FACTOR",
    "SCALES",
    "BernoulliLosses",
    "Exp3",
    "Exp3Doubling",
    "Exp3Scale",
    "Learner",
    "LossSequence",
    "PlayResult",
    "TrapLosses",
    "Ucb1",
    "checkpoints",
    "optimal_eta",
    "play",
    "regret_bound",
]
