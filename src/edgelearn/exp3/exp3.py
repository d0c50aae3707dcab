r"""EXP3: exponential weights for adversarial bandits with loss feedback.

The learner behind every online-learning method of *Slicing for AI* (OLS, OLS-SA,
OLS-RSA, SBS, GBS). Notation and equation labels follow the book's chapter
(``book/exp3/theory.md``) and Lattimore & Szepesvári (2020), ch. 11:

* initial distribution :math:`p_0` over the :math:`K` arms (uniform unless a prior is given);
* sampling distribution (:ref:`eq-exp3-weights`)
  :math:`p_{t,i} \propto p_{0,i}\, \exp(-\eta \hat L_{t-1,i})`;
* importance-weighted loss estimate (:ref:`eq-exp3-estimator`)
  :math:`\hat\ell_{t,i} = \mathbb 1\{A_t = i\}\, \ell_{t,i} / p_{t,i}`, unbiased for :math:`\ell_{t,i}`;
* cumulative estimate :math:`\hat L_{t,i} = \hat L_{t-1,i} + \hat\ell_{t,i}`.

Implementation. Many independent runs (seeds) are advanced at once: the state is an
array with one row per run. Only the played arm's weight changes in a round, so the
weights :math:`w_i = p_{0,i} e^{-\eta \hat L_i}` are stored in :math:`\lceil\sqrt K\,\rceil`
blocks of :math:`\lceil\sqrt K\,\rceil` arms, together with each block's sum. Sampling by
inverse CDF first picks a block from the block sums, then an arm inside it; the update
rescales one weight and re-adds one block. A round therefore costs :math:`O(\sqrt K)` per
run instead of the :math:`O(K)` of recomputing a softmax, in a handful of vectorised numpy
calls for all runs together, and block sums are recomputed (never updated by differences)
so no rounding error accumulates. Weights only shrink (losses are non-negative); when a
run's total falls below ``1e-200`` its weights are rescaled, which leaves :math:`p_t`
unchanged and keeps the arithmetic away from underflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgelearn.core.scales import Scales

_RESCALE_BELOW = 1e-200


def _check_prior(prior: np.ndarray | None, n_arms: int) -> np.ndarray:
    if prior is None:
        return np.full(n_arms, 1.0 / n_arms)
    p = np.asarray(prior, dtype=float)
    if p.shape != (n_arms,):
        raise ValueError(f"'prior' must have shape ({n_arms},) (one entry per arm), got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("'prior' must be a probability vector: entries finite and >= 0")
    if not math.isclose(p.sum(), 1.0, rel_tol=0, abs_tol=1e-9):
        raise ValueError(f"'prior' must be a probability vector summing to 1, got sum {p.sum():.6g}")
    return p / p.sum()


class Exp3:
    """EXP3 with learning rate ``eta`` on ``n_arms`` arms, for ``n_runs`` independent runs.

    Parameters
    ----------
    n_arms:
        number of arms :math:`K \\ge 1`.
    eta:
        learning rate :math:`\\eta > 0`; :func:`optimal_eta` gives the bound-minimising value.
    n_runs:
        independent runs advanced together (one per seed of an experiment).
    prior:
        initial distribution :math:`p_0` (the SBS/GBS priors of *Slicing for AI*); uniform
        by default. Arms with zero prior probability are never played.
    seed:
        seed (an integer >= 0) of the learner's own random number generator, which samples the
        arms; ``None`` draws a fresh seed from the operating system (not reproducible).
    """

    def __init__(
        self, n_arms: int, eta: float, n_runs: int = 1, prior: np.ndarray | None = None, seed: int | None = None
    ) -> None:
        if int(n_arms) != n_arms or n_arms < 1:
            raise ValueError(f"'n_arms' must be an integer >= 1, got {n_arms!r}")
        if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
            raise ValueError(f"'eta' must be a finite number > 0, got {eta!r}")
        if int(n_runs) != n_runs or n_runs < 1:
            raise ValueError(f"'n_runs' must be an integer >= 1, got {n_runs!r}")
        self.n_arms, self.eta, self.n_runs = int(n_arms), float(eta), int(n_runs)
        self.prior = _check_prior(prior, self.n_arms)
        self.rng = np.random.default_rng(seed)
        self._block = math.isqrt(self.n_arms - 1) + 1  # arms per block, ceil(sqrt(K))
        self._n_blocks = -(-self.n_arms // self._block)  # ceil(K / block)
        self._rows = np.arange(self.n_runs)
        padded = np.zeros(self._n_blocks * self._block)
        padded[: self.n_arms] = self.prior
        self._w = np.tile(padded.reshape(self._n_blocks, self._block), (self.n_runs, 1, 1))
        self._block_sums = self._w.sum(axis=2)

    @property
    def total_weight(self) -> np.ndarray:
        """:math:`W_t = \\sum_i w_{t,i}` per run, shape ``(n_runs,)``."""
        return self._block_sums.sum(axis=1)

    def weights(self) -> np.ndarray:
        """Unnormalised weights :math:`w_{t,i}`, shape ``(n_runs, n_arms)``."""
        return self._w.reshape(self.n_runs, -1)[:, : self.n_arms]

    def probabilities(self) -> np.ndarray:
        """The sampling distribution :math:`p_t` (eq. exp3-weights), shape ``(n_runs, n_arms)``."""
        return self.weights() / self.total_weight[:, None]

    def probability(self, arms: np.ndarray | int) -> np.ndarray:
        """:math:`p_{t,a}` for one arm per run (or the same arm for all runs)."""
        arms = np.broadcast_to(np.asarray(arms), (self.n_runs,))
        return self._w[self._rows, arms // self._block, arms % self._block] / self.total_weight

    # -- one round -----------------------------------------------------------------------------
    def sample(self) -> np.ndarray:
        """Draw :math:`A_t \\sim p_t` for every run (inverse CDF, block then arm): shape ``(n_runs,)``."""
        cum_blocks = np.cumsum(self._block_sums, axis=1)
        u = self.rng.random(self.n_runs) * cum_blocks[:, -1]
        block = np.minimum((cum_blocks <= u[:, None]).sum(axis=1), self._n_blocks - 1)
        u -= cum_blocks[self._rows, block] - self._block_sums[self._rows, block]
        cum_arms = np.cumsum(self._w[self._rows, block], axis=1)
        slot = np.minimum((cum_arms <= u[:, None]).sum(axis=1), self._block - 1)
        arms = block * self._block + slot
        # Rounding can, very rarely, land on a zero-weight arm; redraw those runs exactly.
        bad = (arms >= self.n_arms) | (self._w[self._rows, block, slot] <= 0)
        for run in np.flatnonzero(bad):
            p = self.weights()[run]
            arms[run] = self.rng.choice(self.n_arms, p=p / p.sum())
        return arms

    def update(self, arms: np.ndarray, losses: np.ndarray) -> np.ndarray:
        """Feed back the played arms' losses; return the importance-weighted estimates.

        ``losses`` (one per run, in [0, 1]) are the losses :math:`\\ell_{t,A_t}` of the arms
        ``arms`` just played. Applies eq. exp3-estimator and the weight update
        :math:`w_{A_t} \\leftarrow w_{A_t} e^{-\\eta \\hat\\ell_{t,A_t}}`, then re-adds one block.
        """
        arms = np.asarray(arms, dtype=np.int64)
        losses = np.asarray(losses, dtype=float)
        if arms.shape != (self.n_runs,) or losses.shape != (self.n_runs,):
            raise ValueError(f"'arms' and 'losses' must have shape ({self.n_runs},), got {arms.shape}, {losses.shape}")
        if np.any((arms < 0) | (arms >= self.n_arms)):
            raise ValueError(f"'arms' must lie in 0..{self.n_arms - 1}")
        if not np.all((losses >= 0) & (losses <= 1)):
            raise ValueError("'losses' must lie in [0, 1] (EXP3's bound assumes bounded losses)")
        block, slot = arms // self._block, arms % self._block
        total = self.total_weight
        estimate = losses * total / self._w[self._rows, block, slot]
        self._w[self._rows, block, slot] *= np.exp(-self.eta * estimate)
        self._block_sums[self._rows, block] = self._w[self._rows, block].sum(axis=1)
        small = np.flatnonzero(self.total_weight < _RESCALE_BELOW)
        if small.size:
            self._w[small] /= self.total_weight[small, None, None]
            self._block_sums[small] = self._w[small].sum(axis=2)
        return estimate


class Exp3Doubling:
    r"""EXP3 with the doubling trick (Exercise ex-exp3-doubling), for when the horizon is unknown.

    Runs EXP3 in epochs :math:`m = 0, 1, 2, \dots` of :math:`2^m` rounds, restarting it at the start of
    each epoch with :math:`\eta_m = \sqrt{2\ln K/(2^m K)}`; its regret is at most
    :math:`\frac{\sqrt 2}{\sqrt 2 - 1}\sqrt{2TK\ln K}` for every :math:`T`. All runs restart together.
    ``seed`` seeds the generator that draws each epoch's learner seed.
    """

    def __init__(self, n_arms: int, n_runs: int = 1, seed: int | None = None) -> None:
        if int(n_arms) != n_arms or n_arms < 2:
            raise ValueError(f"'n_arms' must be an integer >= 2, got {n_arms!r}")
        self.n_arms, self.n_runs = int(n_arms), int(n_runs)
        self.rng = np.random.default_rng(seed)
        self.epoch, self._left = -1, 0
        self.learner = self._next_epoch()

    def _next_epoch(self) -> Exp3:
        self.epoch += 1
        self._left = 2**self.epoch
        eta = float(optimal_eta(2**self.epoch, self.n_arms))
        return Exp3(self.n_arms, eta, n_runs=self.n_runs, seed=int(self.rng.integers(2**63)))

    def probabilities(self) -> np.ndarray:
        """The current epoch's sampling distribution, shape ``(n_runs, n_arms)``."""
        return self.learner.probabilities()

    def sample(self) -> np.ndarray:
        """Draw the arms of this round, starting a new epoch (a fresh EXP3) when the last one is used up."""
        if self._left == 0:
            self.learner = self._next_epoch()
        return self.learner.sample()

    def update(self, arms: np.ndarray, losses: np.ndarray) -> np.ndarray:
        """Feed back the played arms' losses to the current epoch's EXP3 (see :meth:`Exp3.update`)."""
        estimate = self.learner.update(arms, losses)
        self._left -= 1
        return estimate


#: The constant of the doubling trick's bound (Exercise ex-exp3-doubling): sqrt(2) / (sqrt(2) - 1) ~ 3.41.
DOUBLING_FACTOR = math.sqrt(2) / (math.sqrt(2) - 1)


# -- the bound (Theorem thm-exp3-regret) -------------------------------------------------------
def regret_bound(
    horizon: int | np.ndarray,
    n_arms: int,
    eta: float | np.ndarray,
    prior_best: float | None = None,
    support: int | None = None,
) -> np.ndarray:
    r"""Upper bound on EXP3's expected regret after ``horizon`` rounds (Theorem thm-exp3-regret).

    .. math:: R_T \le \frac{\ln(1/p_{0,i^*})}{\eta} + \frac{\eta\, T\, |\mathrm{supp}\, p_0|}{2}

    With a uniform prior (the defaults) :math:`p_{0,i^*} = 1/K` and the support is :math:`K`.
    For an SBS-style prior, uniform on :math:`K'` arms holding the best one, pass
    ``prior_best=1/K'`` and ``support=K'``.
    """
    p_best = 1.0 / n_arms if prior_best is None else prior_best
    k = n_arms if support is None else support
    if not 0 < p_best <= 1:
        raise ValueError(f"'prior_best' must lie in (0, 1], got {p_best}")
    return np.log(1.0 / p_best) / np.asarray(eta) + np.asarray(eta) * np.asarray(horizon) * k / 2.0


def optimal_eta(
    horizon: int | np.ndarray, n_arms: int, prior_best: float | None = None, support: int | None = None
) -> np.ndarray:
    r"""The :math:`\eta` minimising :func:`regret_bound`: :math:`\sqrt{2\ln(1/p_{0,i^*}) / (T\,|\mathrm{supp}|)}`.

    With a uniform prior this is :math:`\eta^* = \sqrt{2\ln K/(TK)}` and the bound becomes
    :math:`\sqrt{2TK\ln K}` (eq. eq-exp3-optimal). Needs :math:`K \ge 2` (or a prior with
    :math:`p_{0,i^*} < 1`), else the best arm is certain and any :math:`\eta` is optimal.
    """
    p_best = 1.0 / n_arms if prior_best is None else prior_best
    k = n_arms if support is None else support
    if not 0 < p_best < 1:
        raise ValueError(f"'prior_best' must lie in (0, 1) for an optimal eta to exist, got {p_best}")
    return np.sqrt(2.0 * np.log(1.0 / p_best) / (np.asarray(horizon) * k))


# -- experiment scales for the book's EXP3 chapter ---------------------------------------------
@dataclass(frozen=True)
class Exp3Scale:
    """Sizes of the EXP3 chapter's experiments (``notebooks/exp3.md``)."""

    n_arms: int  # K of the regret curves, the horizon and the eta sweeps
    horizon: int  # T of the regret curves
    n_runs: int  # independent runs (seeds) per configuration
    horizons: tuple[int, ...]  # T values of the regret-against-T experiment
    eta_horizon: int  # T of the learning-rate sweep
    eta_factors: tuple[float, ...]  # eta / eta* of the learning-rate sweep
    prior_arms: int  # K of the prior (SBS-style subset) experiment
    prior_horizon: int  # T of the prior experiment
    prior_sizes: tuple[int, ...]  # subset sizes K' of the prior experiment
    gap: float = 0.1  # loss gap of the best arm in the stochastic sequence
    checkpoints: int = 100  # points per regret curve
    estimator_draws: int = 100_000  # independent rounds of the Monte Carlo check of the estimator


SCALES: Scales[Exp3Scale] = Scales(
    smoke=Exp3Scale(
        n_arms=5,
        horizon=2_000,
        n_runs=8,
        horizons=(300, 1_000, 3_000),
        eta_horizon=1_000,
        eta_factors=(0.25, 1.0, 4.0),
        prior_arms=10,
        prior_horizon=1_000,
        prior_sizes=(1, 3, 10),
        checkpoints=20,
        estimator_draws=20_000,
    ),
    # the book's build (make book): about a minute of 2 cores' work; a round's cost grows slowly with the runs
    # (vectorised), so the horizons set the time. The paper's horizons are the deciding run's.
    laptop=Exp3Scale(
        n_arms=10,
        horizon=30_000,
        n_runs=32,
        horizons=(1_000, 3_000, 10_000, 30_000),
        eta_horizon=10_000,
        eta_factors=(1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0, 16.0),
        prior_arms=100,
        prior_horizon=10_000,
        prior_sizes=(1, 2, 5, 10, 20, 50, 100),
    ),
    paper=Exp3Scale(
        n_arms=10,
        horizon=1_000_000,
        n_runs=200,
        horizons=(1_000, 10_000, 100_000, 1_000_000, 10_000_000),
        eta_horizon=100_000,
        eta_factors=(1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0, 16.0),
        prior_arms=1_000,
        prior_horizon=200_000,
        prior_sizes=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000),
        checkpoints=200,
        estimator_draws=1_000_000,
    ),
    # paper: about 12 core-hours, 6 h on 2 CPU cores, from the throughput measured for `deciding` (200 runs at
    # once: 200 us a round for EXP3 on K = 10 stochastic arms, 380 us on the trap, 9 ms at K = 1,000, where
    # drawing 200 x 1,000 Bernoulli losses a round dominates): the prior experiment at K = 1,000 is 80 % of it
    # (34,000 s), the horizon sweep's T = 10^7 units 5,700 s, the rest 2,300 s.
    #
    # deciding: the paper's sizes where they fit about 2 hours on 2 CPU cores: T = 10^6 and 200 runs for the
    # curves, the doubling trick and the learning-rate sweep (T = 10^5), the estimator's 10^6 draws; the
    # horizon sweep stops at 3 x 10^6 (10^7 alone would be a 63-minute unit, on the trap sequence) and the
    # prior experiment keeps laptop's K = 100 arms (K = 1,000 alone would take 9.5 hours) at the paper's
    # T = 2 x 10^5. At laptop every claim but eta_sensitivity is decided already; this scale checks the
    # theorems with 5x the runs (intervals about 2.2x narrower) and 20-60x the horizons, and measures
    # eta_sensitivity where the learning rate has taken hold (eta* T gap = 21 at T = 10^5 vs 6.8 at 10^4):
    # regret ~ 1/eta once learned, so factors c < 1 cost about 1/c, more than the bound's (c + 1/c)/2.
    # Measured on 1 core while the 2-core ATS recording ran (each unit alone, 2,000 rounds): 785 s for
    # the curves, 2,340 s for the horizon sweep, 540 s for the eta sweep, 3,900 s for the prior
    # experiment (13 units, 1.5 ms a round), 370 s for the rest: 7,900 core-s, about 66 min at 2
    # workers (the longest unit, the trap at T = 3 x 10^6, about 19 min).
    deciding=Exp3Scale(
        n_arms=10,
        horizon=1_000_000,
        n_runs=200,
        horizons=(1_000, 10_000, 100_000, 1_000_000, 3_000_000),
        eta_horizon=100_000,
        eta_factors=(1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0, 16.0),
        prior_arms=100,
        prior_horizon=200_000,
        prior_sizes=(1, 2, 5, 10, 20, 50, 100),
        checkpoints=200,
        estimator_draws=1_000_000,
    ),
)
"""The EXP3 chapter's sizes per scale: ``SCALES["laptop"]``; an unknown scale raises ``ValueError``."""
