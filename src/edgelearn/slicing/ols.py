r"""Slicing for AI, the method: online learning of slices for AI services with EXP3.

Paper: *Slicing for AI: An Online Learning Framework for Network Slicing Supporting AI
Services* (arXiv 2411.02412), §IV. Read with :mod:`edgelearn.slicing.system`, which holds
the system model (problem P, eqs. 1–12) and the pre-learning that lists its decision spaces
(Algorithms 1–3, :func:`~edgelearn.slicing.system.build_space`). This file is the rest, in
the paper's order:

1. the experiment's sizes per scale (:class:`SlicingScale`, :data:`SCALES`);
2. what the learner observes: the system performance (eq. 4)
   :math:`P_t(x) = \sum_m w_m\, \mathrm{acc}^t_m(e_m, d_m) / \sum_m w_m` of every super action
   (:func:`performance`) and the bandit loss (eq. 14) :math:`\ell_t(x) = 1 - P_t(x)`, slot by
   slot, in three scenarios (:class:`SlicingLosses`);
3. the learners: OLS, OLS-SA and OLS-RSA run EXP3 (:mod:`edgelearn.exp3`) over the feasible
   decisions :math:`\mathcal F`, the super actions SA and the reduced super actions RSA, with
   :math:`\eta^* = \sqrt{2\ln K/(TK)}` of their own size :math:`K` (:func:`arm_columns`,
   :func:`exp3_learner`); OLS-SA and OLS-RSA play a decision of the chosen super action
   (:meth:`~edgelearn.slicing.system.DecisionSpace.sub_action`);
4. the priors of §IV-B, EXP3's initial distribution :math:`p_0`: the strictly biased subset
   (SBS, :func:`sbs_prior`) and the Gaussian biased subset (GBS, :func:`gbs_prior`);
5. the benchmarks: the fixed allocation (:func:`fixed_allocation`, :class:`FixedPolicy`) and
   uniform random play (:class:`UniformPolicy`).

The accuracy functions :math:`\mathrm{acc}_m` come from :mod:`edgelearn.slicing.accuracy_model`
(the paper's eq. 19, fitted to real training runs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from edgelearn.core.scales import Scales
from edgelearn.exp3 import Exp3, optimal_eta
from edgelearn.slicing.system import DecisionSpace

Accuracy = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (epochs, fraction) -> accuracy in [0, 1]


# -- 1. the experiment's sizes -----------------------------------------------------------------
@dataclass(frozen=True)
class SlicingScale:
    """Sizes of the slicing chapter's experiments (``notebooks/slicing.md``)."""

    levels: int  # grid levels of d and e in the learning experiments (2 services)
    horizon: int  # slots T
    n_runs: int  # independent runs (learner seeds) per configuration
    size_services: tuple[int, ...]  # numbers of services of the size/time sweep
    size_levels: tuple[int, ...]  # grid levels of the size/time sweep
    prior_sizes: tuple[int, ...]  # SBS subset sizes K'
    prior_sigmas: tuple[float, ...]  # GBS spreads sigma (in [0, 1] coordinates)
    prior_offsets: tuple[float, ...]  # distance of the prior's centre from the optimum
    train_datasets: tuple[str, ...]  # one data set per service of the learning experiments
    train_pools: tuple[int, ...]  # training images at data fraction 1, per service
    train_tests: tuple[int, ...]  # test images per service
    train_fractions: tuple[float, ...]  # data fractions of the real training runs
    train_seeds: tuple[int, ...]  # seeds of the real training runs
    arch: str = "mlp"  # classifier of the training runs
    checkpoints: int = 100  # points per regret curve


SCALES: Scales[SlicingScale] = Scales(
    smoke=SlicingScale(
        levels=3,
        horizon=400,
        n_runs=4,
        size_services=(1, 2),
        size_levels=(3,),
        prior_sizes=(1, 3),
        prior_sigmas=(0.1, 1.0),
        prior_offsets=(0.0, 0.6),
        train_datasets=("mnist", "mnist"),
        train_pools=(600, 600),
        train_tests=(300, 300),
        train_fractions=(0.2, 0.6, 1.0),
        train_seeds=(0,),
        checkpoints=20,
    ),
    # the book's build (make book): about a minute of 2 cores' work. A slot costs about 125 us whatever the number
    # of runs (vectorised), so the horizon sets the time: T = 10,000, 3 spreads and 3 offsets of the priors, 2
    # training seeds. Convergence and the priors' claims are decided by the deciding run (T = 200,000).
    laptop=SlicingScale(
        levels=5,
        horizon=10_000,
        n_runs=20,
        size_services=(1, 2, 3),
        size_levels=(3, 4, 5, 6),
        prior_sizes=(1, 4, 16, 64, 256),
        prior_sigmas=(0.05, 0.2, 0.8),
        prior_offsets=(0.0, 0.5, 1.0),
        train_datasets=("fashion-mnist", "mnist"),
        train_pools=(20_000, 8_000),
        train_tests=(5_000, 2_000),
        train_fractions=(0.1, 0.2, 0.4, 0.6, 0.8, 1.0),
        train_seeds=(0, 1),
    ),
    paper=SlicingScale(
        levels=6,
        horizon=200_000,
        n_runs=50,
        size_services=(1, 2, 3, 4),
        size_levels=(3, 4, 5, 6, 7, 8),
        prior_sizes=(1, 4, 16, 64, 256, 1024),
        prior_sigmas=(0.025, 0.05, 0.1, 0.2, 0.4, 0.8),
        prior_offsets=(0.0, 0.125, 0.25, 0.5, 0.75, 1.0),
        train_datasets=("fashion-mnist", "mnist"),
        train_pools=(50_000, 50_000),
        train_tests=(10_000, 10_000),
        train_fractions=(0.1, 0.2, 0.4, 0.6, 0.8, 1.0),
        train_seeds=tuple(range(10)),
        arch="cnn",
        checkpoints=200,
    ),
    # paper: about 1 h 15 min on 2 CPU cores from measured throughput, not counting the size sweep's largest
    # instances: the CNN training (2 services x 6 fractions summing to 3.1 x 50,000 images x 6 epochs x 10
    # seeds = 18.6 M image-epochs at 7,600 images/s on one thread, run one after the other) about 41 min and
    # its per-epoch evaluation (720 x 10,000 images) about 5 min; the learning at T = 200,000 and 50 runs
    # about 15 core-min (4,500 us a slot for all units, see deciding; more at 6 levels). Counting the
    # spaces of 4 services x 7-8 levels was not timed: it took 4.6 s at 3 services x 6 levels and grows
    # about 5x a level.
    #
    # deciding: laptop's instance and training runs, hence its fitted model (a verdict can change only through
    # the horizon and the runs), at T = 2,000,000 (100x laptop's, 10x the paper's) with the paper's 50
    # runs. It decides what laptop's T = 20,000 could not: with eta* = sqrt(2 ln K / (T K)) a learner
    # separates arms whose expected losses differ by D once eta* T D = D sqrt(2 T ln K / K) is well above
    # 1, which grows as sqrt(T): sublinear_regret and adapts (growth exponents 0.95-1.00 at 2 x 10^4; in a
    # probe at 2 x 10^5 with 8 runs OLS-SA 0.85, OLS-RSA 0.84, OLS 0.98), beats_fixed (the fixed
    # allocation's regret is linear, 0.021 a slot; OLS-SA's was 0.0225 a slot at 2 x 10^5, OLS's 0.040),
    # gbs (an SBS subset missing the optimum keeps a linear regret, GBS's per-slot regret falls with T)
    # and converges (P(optimal super action) for OLS-RSA 0.08 at 2 x 10^4, 0.27 at 2 x 10^5; but the best
    # two super actions differ by 0.0007, so eta* T D reaches only 0.47 for OLS-RSA at 2 x 10^6: a
    # learner at eta* singles out the very best only near T = 4 x 10^7, beyond any CPU budget here). 50
    # runs keep every paired interval narrow (at 20 runs they are already +-2 on differences of
    # hundreds). Measured on 1 core while the 2-core ATS recording ran (each unit for 10,000 slots, 50
    # runs): 1,740 us a slot for the 15 regret-curve units, 2,760 us for the 24 prior units, 4,500 us
    # in all: 9,000 core-s at T = 2 x 10^6, about 75 min at 2 workers plus 35 s of training and timing
    # (the longest unit, OLS in the drift scenario, about 8.5 min; T = 3 x 10^6 would take about 1.9 h).
    # Recorded (data/recorded/slicing/deciding, over two sessions): 12,660 core-s of units (3.5 core-h,
    # 1.4x the estimate above), about 1.8 h at 2 workers.
    deciding=SlicingScale(
        levels=5,
        horizon=2_000_000,
        n_runs=50,
        size_services=(1, 2, 3),
        size_levels=(3, 4, 5, 6),
        prior_sizes=(1, 4, 16, 64, 256),
        prior_sigmas=(0.05, 0.1, 0.2, 0.4, 0.8),
        prior_offsets=(0.0, 0.25, 0.5, 0.75, 1.0),
        train_datasets=("fashion-mnist", "mnist"),
        train_pools=(20_000, 8_000),
        train_tests=(5_000, 2_000),
        train_fractions=(0.1, 0.2, 0.4, 0.6, 0.8, 1.0),
        train_seeds=(0, 1, 2),
        checkpoints=200,
    ),
)
"""The slicing chapter's sizes per scale: ``SCALES["laptop"]``; an unknown scale raises ``ValueError``."""


# -- 2. performance (eq. 4) and the bandit losses (eq. 14) -------------------------------------
def performance(
    space: DecisionSpace,
    accuracies: Sequence[Accuracy],
    priorities: np.ndarray | None = None,
    fraction_scale: np.ndarray | None = None,
) -> np.ndarray:
    """System performance (eq. 4) of every super action: shape (|SA|,).

    ``fraction_scale`` (one factor per service) multiplies the data fraction, to model data of
    lower quality (an effective fraction); ``priorities`` overrides the services' weights.
    """
    if len(accuracies) != space.config.n_services:
        raise ValueError(f"need one accuracy model per service ({space.config.n_services}), got {len(accuracies)}")
    w = space.config.priorities if priorities is None else np.asarray(priorities, float)
    fractions, epochs = space.hyper_values()
    if fraction_scale is not None:
        fractions = fractions * np.asarray(fraction_scale)[None, :]
    acc = np.stack(
        [np.asarray(accuracies[m](epochs[:, m], fractions[:, m]), float) for m in range(space.config.n_services)],
        axis=1,
    )
    return np.clip(acc, 0.0, 1.0) @ w / w.sum()


@dataclass(frozen=True)
class SlicingLosses:
    """The bandit losses :math:`1 - P_t` (eq. 14) of every super action, slot by slot.

    ``scenario``:

    * ``"stationary"``: the fitted accuracy plus Gaussian noise of standard deviation
      ``noise_sd`` per slot and super action (the spread of accuracy over training seeds);
    * ``"drift"``: as stationary, while the data quality of service 0 decays linearly from 1
      to ``drift_to`` over the horizon (its effective data fraction is scaled down), so the
      best allocation moves away from service 0 as time passes;
    * ``"switch"``: as stationary, but the services' priorities are reversed from the middle
      of the horizon on: the adversarial change the paper motivates EXP3 with.

    One sequence is shared by all runs (an oblivious adversary); runs differ only in the
    learners' randomness. Columns are super actions.
    """

    space: DecisionSpace
    accuracies: tuple[Accuracy, ...]
    scenario: str = "stationary"
    noise_sd: float = 0.01
    drift_to: float = 0.3

    def __post_init__(self) -> None:
        if self.scenario not in ("stationary", "drift", "switch"):
            raise ValueError(f"'scenario' must be 'stationary', 'drift' or 'switch', got {self.scenario!r}")
        if not self.noise_sd >= 0:
            raise ValueError(f"'noise_sd' must be >= 0, got {self.noise_sd}")
        if not 0 < self.drift_to <= 1:
            raise ValueError(f"'drift_to' must lie in (0, 1], got {self.drift_to}")

    @property
    def n_arms(self) -> int:
        return len(self.space.hyper)

    def expected_losses(self, t: int, horizon: int) -> np.ndarray:
        """Noise-free losses of every super action at slot ``t`` (0-based) of ``horizon``."""
        M = self.space.config.n_services
        scale, priorities = np.ones(M), self.space.config.priorities
        if self.scenario == "drift":
            scale[0] = 1.0 - (1.0 - self.drift_to) * t / max(horizon - 1, 1)
        if self.scenario == "switch" and t >= horizon // 2:
            priorities = priorities[::-1]
        return 1.0 - performance(self.space, self.accuracies, priorities, scale)

    def chunks(self, horizon: int, n_runs: int, seed: int, chunk: int = 256) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(seed)
        for start in range(0, horizon, chunk):
            t = np.arange(start, min(start + chunk, horizon))
            if self.scenario == "stationary":
                mean = np.broadcast_to(self.expected_losses(0, horizon), (t.size, self.n_arms))
            else:
                mean = np.stack([self.expected_losses(int(s), horizon) for s in t])
            noise = rng.normal(0.0, self.noise_sd, mean.shape) if self.noise_sd > 0 else 0.0
            yield np.clip(mean + noise, 0.0, 1.0)[None]


# -- 3. the learners: OLS, OLS-SA and OLS-RSA --------------------------------------------------
OLS_VARIANTS: tuple[str, ...] = ("OLS", "OLS-SA", "OLS-RSA")
"""The paper's three learners, from the largest decision space to the smallest."""


def arm_columns(space: DecisionSpace, variant: str) -> np.ndarray:
    """The super action (loss column of :class:`SlicingLosses`) of each arm of ``variant``'s learner.

    * ``"OLS"``: one arm per feasible decision of :math:`\\mathcal F`; decisions that share
      their hyper-parameters share their super action's loss;
    * ``"OLS-SA"``: one arm per super action;
    * ``"OLS-RSA"``: one arm per reduced super action.

    Pass the result as ``arm_columns`` to :func:`edgelearn.exp3.play`: every variant is then
    scored against the best super action of the whole space in hindsight.
    """
    if variant == "OLS":
        return space.super_of
    if variant == "OLS-SA":
        return np.arange(len(space.hyper))
    if variant == "OLS-RSA":
        return space.reduced
    raise ValueError(f"'variant' must be one of {', '.join(OLS_VARIANTS)}; got {variant!r}")


def exp3_learner(
    space: DecisionSpace,
    variant: str,
    horizon: int,
    *,
    n_runs: int,
    seed: int,
    prior: np.ndarray | None = None,
    eta: float | None = None,
) -> tuple[Exp3, np.ndarray]:
    """EXP3 over the arms of ``variant`` (:func:`arm_columns`) and those arms' loss columns.

    ``eta`` defaults to :math:`\\eta^* = \\sqrt{2\\ln K/(TK)}` of the variant's :math:`K` arms
    and the ``horizon`` :math:`T` (the bound-minimising rate of the uniform start; any rate is
    optimal when :math:`K = 1`). ``prior``: EXP3's initial distribution over those arms.
    """
    columns = arm_columns(space, variant)
    n_arms = len(columns)
    rate = float(optimal_eta(horizon, max(n_arms, 2))) if eta is None else float(eta)
    return Exp3(n_arms, rate, n_runs=n_runs, prior=prior, seed=seed), columns


# -- 4. priors over the super actions (§IV-B) --------------------------------------------------
def _check_centre(space: DecisionSpace, centre: np.ndarray) -> np.ndarray:
    centre = np.asarray(centre, float)
    dim = space.coordinates().shape[1]
    if centre.shape != (dim,):
        raise ValueError(
            f"'centre' must be a point of [0, 1]^{dim} (data-fraction and epoch coordinates of "
            f"each service), got shape {centre.shape}"
        )
    return centre


def sbs_prior(space: DecisionSpace, centre: np.ndarray, size: int) -> np.ndarray:
    r"""Strictly biased subset (SBS, §IV-B1): uniform on the ``size`` super actions nearest to
    ``centre`` (the prior guess of the optimum, in :meth:`DecisionSpace.coordinates`), zero elsewhere.

    With it EXP3's bound becomes :math:`\sqrt{2TK'\ln K'}` at :math:`\eta = \sqrt{2\ln K'/(TK')}`
    (our reading of the paper's eq. 18): ``optimal_eta(T, K, prior_best=1 / K', support=K')``,
    provided the subset holds the optimum."""
    n = len(space.hyper)
    if int(size) != size or not 1 <= size <= n:
        raise ValueError(f"'size' (K') must be an integer in 1..{n} (the number of super actions), got {size!r}")
    distance = np.linalg.norm(space.coordinates() - _check_centre(space, centre), axis=1)
    prior = np.zeros(n)
    prior[np.argsort(distance, kind="stable")[:size]] = 1.0 / size
    return prior


def gbs_prior(space: DecisionSpace, centre: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian biased subset (GBS, §IV-B2): :math:`p_0 \\propto \\exp(-\\|x - \\mu\\|^2 / 2\\sigma^2)`
    over the super actions' coordinates, every super action keeping a positive probability."""
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"'sigma' must be a finite number > 0, got {sigma!r}")
    sq = np.sum((space.coordinates() - _check_centre(space, centre)) ** 2, axis=1)
    logits = -(sq - sq.min()) / (2 * sigma**2)
    prior = np.exp(np.maximum(logits, -700.0))  # keep every super action strictly positive
    return prior / prior.sum()


# -- 5. the fixed-allocation benchmark ---------------------------------------------------------
class FixedPolicy:
    """The fixed-allocation benchmark: the same decision (arm) in every slot."""

    def __init__(self, arm: int, n_runs: int = 1) -> None:
        self.n_runs, self.arm = n_runs, int(arm)

    def sample(self) -> np.ndarray:
        return np.full(self.n_runs, self.arm)

    def update(self, arms: np.ndarray, losses: np.ndarray) -> None:
        return None


class UniformPolicy:
    """Uniform random play over ``n_arms`` arms in every slot: the baseline a learner must beat
    for its regret to be called sub-linear (its regret grows linearly unless every arm is optimal)."""

    def __init__(self, n_arms: int, n_runs: int = 1, seed: int | None = None) -> None:
        if int(n_arms) != n_arms or n_arms < 1:
            raise ValueError(f"'n_arms' must be an integer >= 1, got {n_arms!r}")
        self.n_arms, self.n_runs = int(n_arms), int(n_runs)
        self.rng = np.random.default_rng(seed)

    def sample(self) -> np.ndarray:
        return self.rng.integers(0, self.n_arms, self.n_runs)

    def update(self, arms: np.ndarray, losses: np.ndarray) -> None:
        return None


def fixed_allocation(space: DecisionSpace) -> int:
    """The static benchmark (our assumption: the paper does not define it): give every service
    an equal share of CPU and rate (the highest levels within ``total / M``) and, within that
    share, the feasible super action with the most training work :math:`\\sum_m d_m e_m`."""
    config, M = space.config, space.config.n_services
    f_level = np.searchsorted(config.cpu_ghz, config.total_cpu_ghz / M, side="right") - 1
    r_level = np.searchsorted(config.rate_mbps, config.total_rate_mbps / M, side="right") - 1
    at_share = space.decisions[:, :, 2:].reshape(len(space.decisions), -1)
    members = np.flatnonzero(np.all(at_share == np.tile([f_level, r_level], M), axis=1))
    if members.size == 0:
        members = np.arange(len(space.decisions))  # no decision at the equal share: any feasible one
    candidates = np.unique(space.super_of[members])
    fractions, epochs = space.hyper_values()
    work = (fractions * epochs).sum(axis=1)[candidates]
    return int(candidates[np.argmax(work)])
