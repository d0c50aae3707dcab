r"""Slicing for AI, the substrate: the system model (problem P) and its decision space.

Paper: *Slicing for AI: An Online Learning Framework for Network Slicing Supporting AI
Services* (arXiv 2411.02412), §III (system model, problem P) and the pre-learning of §IV-A.
Every equation of the paper was lost in conversion; the forms below follow its prose, and
every constant it no longer shows is an assumption collected in :class:`SlicingConfig` and
:data:`SERVICES` (the book states each one next to the results it affects).

Per AI service (model) :math:`m` and slot, a decision chooses a data fraction :math:`d_m`,
a number of epochs :math:`e_m`, a CPU frequency :math:`f_m` and a data rate :math:`r_m`:

* learning latency (eqs. 1–3): :math:`L_m = \frac{d_m N_m s_m}{r_m} + L^{\mathrm{acc}} + \frac{e_m d_m N_m c_m}{f_m}`
  (:func:`latency`), with the channel access delay :math:`L^{\mathrm{acc}}` (the paper's :math:`\tau`);
* cost (eq. 12): :math:`C_m = \pi_f f_m + \pi_r r_m` (:func:`cost`);
* constraints: :math:`\sum_m f_m \le F^{\max}` (6), :math:`\sum_m r_m \le R^{\max}` (7),
  :math:`L_m \le L_m^{\max}` (8), :math:`C_m \le C_m^{\max}` (9), and the ranges of :math:`d_m`
  (10) and :math:`e_m` (11), which the discretisation grids respect by construction.

Pre-learning (the paper's Algorithms 1–3), vectorised over the whole grid by
:func:`build_space`: it keeps the feasible decisions :math:`\mathcal F` (OLS), groups those
that share the hyper-parameters :math:`h = (d_m, e_m)_m` into super actions (OLS-SA), and
keeps the super actions that no other feasible one dominates in every data fraction and
epoch count (OLS-RSA, the paper's criteria 1 and 2, :func:`pareto_maximal`). Under an
accuracy that does not decrease in :math:`d` or :math:`e`, a dominated super action is never
better than the one that dominates it, so RSA keeps an optimal super action. The learning
over these spaces is :mod:`edgelearn.slicing.ols`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np


# -- the system model (§III) -------------------------------------------------------------------
@dataclass(frozen=True)
class Service:
    """One AI service (model) :math:`m` and its requirements (assumed constants)."""

    name: str
    priority: float  # w_m, eq. 4
    samples: int  # N_m: training samples at data fraction 1
    bits_per_sample: float  # s_m: bits sent per training sample (eq. 2)
    cycles_per_sample: float  # c_m: CPU cycles per sample per epoch (eq. 3)
    max_latency_s: float  # L_m^max, eq. 8
    max_cost: float  # C_m^max, eq. 9

    def __post_init__(self) -> None:
        for name in ("priority", "samples", "bits_per_sample", "cycles_per_sample", "max_latency_s", "max_cost"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"service {self.name!r}: '{name}' must be a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class SlicingConfig:
    """The slicing problem P: services, decision grids and shared resources."""

    services: tuple[Service, ...]
    fractions: tuple[float, ...]  # data-fraction levels d (range of eq. 10)
    epochs: tuple[int, ...]  # epoch levels e (range of eq. 11)
    cpu_ghz: tuple[float, ...]  # CPU-frequency levels f per service
    rate_mbps: tuple[float, ...]  # data-rate levels r per service
    total_cpu_ghz: float  # F^max, eq. 6
    total_rate_mbps: float  # R^max, eq. 7
    access_delay_s: float = 0.05  # channel access delay tau, eq. 2
    price_cpu: float = 1.0  # pi_f per GHz, eq. 12
    price_rate: float = 0.02  # pi_r per Mbps, eq. 12

    def __post_init__(self) -> None:
        if not self.services:
            raise ValueError("'services' must hold at least one AI service")
        checks = {
            "fractions": (self.fractions, lambda v: 0 < v <= 1, "in (0, 1]"),
            "epochs": (self.epochs, lambda v: int(v) == v and v >= 1, "integers >= 1"),
            "cpu_ghz": (self.cpu_ghz, lambda v: v > 0, "> 0"),
            "rate_mbps": (self.rate_mbps, lambda v: v > 0, "> 0"),
        }
        for name, (levels, ok, valid) in checks.items():
            if len(levels) == 0 or not all(ok(v) for v in levels):
                raise ValueError(f"'{name}' must be a non-empty tuple of levels {valid}, got {levels!r}")
            if list(levels) != sorted(set(levels)):
                raise ValueError(f"'{name}' must be strictly increasing, got {levels!r}")
        for name in ("total_cpu_ghz", "total_rate_mbps", "price_cpu", "price_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"'{name}' must be > 0, got {getattr(self, name)!r}")
        if not self.access_delay_s >= 0:
            raise ValueError(f"'access_delay_s' must be >= 0, got {self.access_delay_s!r}")

    @property
    def n_services(self) -> int:
        return len(self.services)

    @property
    def priorities(self) -> np.ndarray:
        return np.array([s.priority for s in self.services])


def latency(service: Service, fraction, epochs, cpu_ghz, rate_mbps, access_delay_s: float):
    """Learning latency in seconds (eqs. 1–3): communication + access + processing delay."""
    samples = np.asarray(fraction) * service.samples
    communication = samples * service.bits_per_sample / (np.asarray(rate_mbps) * 1e6)
    processing = np.asarray(epochs) * samples * service.cycles_per_sample / (np.asarray(cpu_ghz) * 1e9)
    return communication + access_delay_s + processing


def cost(config: SlicingConfig, cpu_ghz, rate_mbps):
    """Learning cost (eq. 12): :math:`\\pi_f f + \\pi_r r`."""
    return config.price_cpu * np.asarray(cpu_ghz) + config.price_rate * np.asarray(rate_mbps)


class InfeasibleProblem(ValueError):
    """No decision satisfies constraints (6)–(11); the message names the constraint."""


# -- pre-learning (Algorithms 1–3) -------------------------------------------------------------
@dataclass
class DecisionSpace:
    """The output of pre-learning: feasible decisions, super actions, reduced super actions.

    Indices refer to the levels of :class:`SlicingConfig`. ``hyper[k, m] = (i_d, i_e)`` is
    super action ``k``'s data-fraction and epoch level for service ``m``; ``decisions[j, m]
    = (i_d, i_e, i_f, i_r)`` is feasible decision ``j``; ``super_of[j]`` is the super action
    that decision ``j`` belongs to; ``reduced`` lists the super actions OLS-RSA keeps.
    """

    config: SlicingConfig
    hyper: np.ndarray
    decisions: np.ndarray
    super_of: np.ndarray
    reduced: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def sizes(self) -> dict[str, int]:
        """|F|, |SA| and |RSA|: the decision-space sizes of OLS, OLS-SA and OLS-RSA."""
        return {"OLS": len(self.decisions), "OLS-SA": len(self.hyper), "OLS-RSA": len(self.reduced)}

    def hyper_values(self) -> tuple[np.ndarray, np.ndarray]:
        """Data fractions and epochs of every super action, each of shape (|SA|, M)."""
        fractions = np.asarray(self.config.fractions)[self.hyper[..., 0]]
        epochs = np.asarray(self.config.epochs)[self.hyper[..., 1]]
        return fractions, epochs

    def coordinates(self) -> np.ndarray:
        """Super actions as points of [0, 1]^{2M} (level index / (levels - 1)), for priors."""
        scale = np.array([max(len(self.config.fractions) - 1, 1), max(len(self.config.epochs) - 1, 1)])
        return (self.hyper / scale).reshape(len(self.hyper), -1)

    def sub_action(self, super_action: int, rng: np.random.Generator) -> np.ndarray:
        """A feasible decision inside ``super_action``, drawn uniformly (OLS-SA's last step)."""
        members = np.flatnonzero(self.super_of == super_action)
        if members.size == 0:
            raise ValueError(f"'super_action' must index one of the {len(self.hyper)} super actions")
        return self.decisions[rng.choice(members)]


def _resource_combinations(config: SlicingConfig) -> np.ndarray:
    """All (f, r) level pairs per service meeting (6), (7) and (9): shape (n, M, 2)."""
    nf, nr, M = len(config.cpu_ghz), len(config.rate_mbps), config.n_services
    pair = np.stack(np.meshgrid(np.arange(nf), np.arange(nr), indexing="ij"), -1).reshape(-1, 2)
    cheap = np.stack(
        [
            cost(config, config.cpu_ghz[i], config.rate_mbps[j]) <= np.array([s.max_cost for s in config.services])
            for i, j in pair
        ],
        axis=0,
    )  # (pairs, M): eq. 9
    grids = np.stack(np.meshgrid(*[np.arange(len(pair))] * M, indexing="ij"), -1).reshape(-1, M)
    combos = pair[grids]  # (n, M, 2)
    ok = np.asarray(config.cpu_ghz)[combos[..., 0]].sum(1) <= config.total_cpu_ghz + 1e-9  # eq. 6
    ok &= np.asarray(config.rate_mbps)[combos[..., 1]].sum(1) <= config.total_rate_mbps + 1e-9  # eq. 7
    ok &= cheap[grids, np.arange(M)].all(axis=1)  # eq. 9
    return combos[ok]


def _latency_ok(config: SlicingConfig) -> np.ndarray:
    """Eq. 8 for every service and level: boolean (M, n_f, n_r, n_d, n_e)."""
    f = np.asarray(config.cpu_ghz)[:, None, None, None]
    r = np.asarray(config.rate_mbps)[None, :, None, None]
    d = np.asarray(config.fractions)[None, None, :, None]
    e = np.asarray(config.epochs)[None, None, None, :]
    return np.stack([latency(s, d, e, f, r, config.access_delay_s) <= s.max_latency_s for s in config.services])


def diagnose_infeasible(config: SlicingConfig) -> str:
    """Name the constraint that leaves no feasible decision (used in the error message)."""
    lat = _latency_ok(config)
    f, r = np.asarray(config.cpu_ghz), np.asarray(config.rate_mbps)
    need_f, need_r = [], []
    for m, s in enumerate(config.services):
        affordable = cost(config, f[:, None], r[None, :]) <= s.max_cost
        if not affordable.any():
            cheapest = float(cost(config, f[0], r[0]))
            return (
                f"constraint (9) (cost): service {s.name!r} has max_cost {s.max_cost} but the cheapest "
                f"resources cost {cheapest:.3g}"
            )
        usable = affordable & lat[m].any(axis=(2, 3))
        if not usable.any():
            i, j = np.nonzero(affordable)
            best = float(latency(s, config.fractions[0], config.epochs[0], f[i], r[j], config.access_delay_s).min())
            return (
                f"constraint (8) (latency): service {s.name!r} needs at least {best:.3g} s even with the "
                f"smallest data fraction and epochs and the fastest affordable resources, above "
                f"max_latency_s {s.max_latency_s}"
            )
        i, j = np.nonzero(usable)
        need_f.append(f[i].min())
        need_r.append(r[j].min())
    if sum(need_f) > config.total_cpu_ghz:
        return (
            f"constraint (6) (total CPU): the services need at least {sum(need_f):.3g} GHz together, "
            f"above total_cpu_ghz {config.total_cpu_ghz}"
        )
    if sum(need_r) > config.total_rate_mbps:
        return (
            f"constraint (7) (total rate): the services need at least {sum(need_r):.3g} Mbps together, "
            f"above total_rate_mbps {config.total_rate_mbps}"
        )
    return "constraints (6) and (7) jointly: no split of CPU and rate satisfies every service at once"


def pareto_maximal(points: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Indices of the rows of ``points`` that no other row dominates (>= everywhere, > somewhere).

    OLS-RSA's criteria 1 and 2: a super action is dropped when another feasible one has at
    least as many epochs and at least as much data for every service, and more somewhere.
    """
    keep = np.ones(len(points), dtype=bool)
    for start in range(0, len(points), chunk):
        block = points[start : start + chunk, None, :]
        dominated = (np.all(points[None] >= block, axis=2) & np.any(points[None] > block, axis=2)).any(axis=1)
        keep[start : start + chunk] = ~dominated
    return np.flatnonzero(keep)


def build_space(config: SlicingConfig, max_decisions: int = 5_000_000) -> DecisionSpace:
    """Pre-learning of OLS, OLS-SA and OLS-RSA, with the time each step takes.

    1. resource combinations meeting (6), (7), (9); 2. for each, the hyper-parameters of
    every service meeting (8) — the feasible decisions :math:`\\mathcal F`; 3. super actions
    (unique hyper-parameter vectors); 4. reduced super actions (Pareto-maximal ones).
    Raises :class:`InfeasibleProblem` naming the emptying constraint, and ``ValueError`` when
    :math:`|\\mathcal F|` would exceed ``max_decisions`` (count it with :func:`count_space`).
    """
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    combos = _resource_combinations(config)
    lat = _latency_ok(config)
    M, nd, ne = config.n_services, len(config.fractions), len(config.epochs)
    # allowed[c, m, h_m]: service m may use local hyper-parameters h_m under resource combination c
    allowed = (
        np.stack([lat[m][combos[:, m, 0], combos[:, m, 1]].reshape(len(combos), nd * ne) for m in range(M)], axis=1)
        if len(combos)
        else np.zeros((0, M, nd * ne), bool)
    )
    counts = allowed.sum(axis=2).prod(axis=1)
    if counts.sum() == 0:
        raise InfeasibleProblem(f"no feasible decision: {diagnose_infeasible(config)}")
    if counts.sum() > max_decisions:
        raise ValueError(
            f"|F| = {int(counts.sum()):,} decisions exceeds 'max_decisions' = {max_decisions:,}; "
            "use count_space() for sizes, or a coarser grid"
        )
    rows = []
    for c in np.flatnonzero(counts):
        local = [np.flatnonzero(allowed[c, m]) for m in range(M)]
        grid = np.stack(np.meshgrid(*local, indexing="ij"), -1).reshape(-1, M)  # local hyper index per service
        rows.append(
            np.concatenate(
                [grid[..., None] // ne, grid[..., None] % ne, np.broadcast_to(combos[c][None], (len(grid), M, 2))],
                axis=2,
            )
        )
    decisions = np.concatenate(rows).astype(np.int16)
    seconds["feasible decisions (OLS)"] = time.perf_counter() - start
    start = time.perf_counter()
    # One integer key per hyper-parameter vector (mixed radix), so grouping is a 1-d unique.
    local = decisions[..., 0].astype(np.int64) * ne + decisions[..., 1]  # (|F|, M)
    keys = local @ (nd * ne) ** np.arange(M - 1, -1, -1, dtype=np.int64)
    unique_keys, super_of = np.unique(keys, return_inverse=True)
    digits = (unique_keys[:, None] // (nd * ne) ** np.arange(M - 1, -1, -1, dtype=np.int64)) % (nd * ne)
    hyper = np.stack([digits // ne, digits % ne], axis=-1).astype(np.int16)
    seconds["super actions (OLS-SA)"] = time.perf_counter() - start
    start = time.perf_counter()
    reduced = pareto_maximal(hyper.reshape(len(hyper), -1))
    seconds["reduced super actions (OLS-RSA)"] = time.perf_counter() - start
    return DecisionSpace(config, hyper, decisions, super_of.ravel(), reduced, seconds)


def count_space(config: SlicingConfig) -> dict[str, int]:
    """|F|, |SA| and |RSA| without listing the decisions (for spaces too large to enumerate)."""
    combos = _resource_combinations(config)
    lat = _latency_ok(config)
    M, nd, ne = config.n_services, len(config.fractions), len(config.epochs)
    allowed = np.stack(
        [lat[m][combos[:, m, 0], combos[:, m, 1]].reshape(len(combos), nd * ne) for m in range(M)], axis=1
    )
    n_decisions = int(allowed.sum(axis=2).prod(axis=1).sum())
    patterns = np.unique(allowed, axis=0)  # distinct per-service allowance patterns
    joint = np.zeros((nd * ne,) * M, dtype=bool)
    for pattern in patterns:
        outer = pattern[0]
        for m in range(1, M):
            outer = np.multiply.outer(outer, pattern[m])
        joint |= outer
    hyper_flat = np.argwhere(joint)
    points = (
        np.concatenate([np.stack([h // ne, h % ne], -1) for h in hyper_flat.T], axis=1)
        if len(hyper_flat)
        else hyper_flat
    )
    return {"OLS": n_decisions, "OLS-SA": len(hyper_flat), "OLS-RSA": len(pareto_maximal(points)) if len(points) else 0}


# -- the book's instance of problem P: assumed constants ---------------------------------------
_IMAGES = {"samples": 60_000, "bits_per_sample": 6_272, "cycles_per_sample": 2e6}  # shared by every service
SERVICES: tuple[Service, ...] = (
    # The paper's constants were lost; these are our assumptions (stated in the book).
    Service("fashion", priority=0.6, max_latency_s=60.0, max_cost=5.0, **_IMAGES),
    Service("digits", priority=0.4, max_latency_s=90.0, max_cost=6.0, **_IMAGES),
    Service("fashion-b", priority=0.5, max_latency_s=75.0, max_cost=5.0, **_IMAGES),
    Service("digits-b", priority=0.3, max_latency_s=80.0, max_cost=6.0, **_IMAGES),
)
"""Assumed services: 28x28 8-bit images (6,272 bits a sample), 2e6 CPU cycles per sample and
epoch, latency limits of 60-90 s and cost limits of 5-6 units per slot."""


def default_config(n_services: int = 2, levels: int = 5) -> SlicingConfig:
    """The book's instance of problem P with ``n_services`` services and ``levels`` levels of the
    data fraction (0.2..1) and of the epochs (1..levels); 4 CPU levels (1-4 GHz) and 4 rate levels
    (25-100 Mbps) per service; 3 GHz and 75 Mbps per service in total (eqs. 6, 7)."""
    if not 1 <= n_services <= len(SERVICES):
        raise ValueError(f"'n_services' must lie in 1..{len(SERVICES)}, got {n_services}")
    if int(levels) != levels or levels < 2:
        raise ValueError(f"'levels' must be an integer >= 2, got {levels!r}")
    return SlicingConfig(
        SERVICES[:n_services],
        fractions=tuple(np.round(np.linspace(0.2, 1.0, levels), 4)),
        epochs=tuple(range(1, levels + 1)),
        cpu_ghz=(1.0, 2.0, 3.0, 4.0),
        rate_mbps=(25.0, 50.0, 75.0, 100.0),
        total_cpu_ghz=3.0 * n_services,
        total_rate_mbps=75.0 * n_services,
    )
