r"""Inference accuracy as a function of epochs and data fraction (*Slicing for AI*, eq. 19).

*Slicing for AI* (sec. V-A) simulates the inference accuracy of an AI service with an
exponential regression on the number of training epochs :math:`e` and the fraction
:math:`d \in (0, 1]` of the training data used, fitted to real training runs averaged
over 10 repetitions. The equation itself (eq. 19) did not survive the conversion of the
paper's text, so this module **assumes** the form

.. math::

    \mathrm{acc}(e, d) = a - b\, \exp\!\big(-(\alpha e + \beta d)\big),
    \qquad 0 < a \le 1,\; b > 0,\; \alpha > 0,\; \beta > 0,

which is increasing in both :math:`e` and :math:`d` and saturates at :math:`a`. That
monotonicity is what OLS-RSA's elimination of dominated (epochs, data size) pairs relies
on; :func:`is_monotone` checks it on a grid.

As in the paper, the regression is fitted to *real* training runs, here our own:

1. :class:`TrainingGrid` describes the runs (data set, architecture, pool of training
   images = fraction 1.0, fractions, epochs, seeds);
2. :func:`build_classifier` builds a small MLP or CNN with seeded initial weights;
   :func:`subset_indices` picks the nested training subsets;
3. :func:`run_grid` trains one model per (seed, fraction) on nested subsets of the pool
   with the core's training loop (:func:`edgelearn.core.fit.fit`) and evaluates it after
   every epoch, returning a tidy table of accuracies;
4. :func:`fit_accuracy_model` fits :class:`AccuracyModel` to the per-(epoch, fraction)
   mean accuracy over seeds; :func:`residuals` lists what the fit leaves out.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.optimize import curve_fit
from tqdm import tqdm

from edgelearn.core.data import train_val_split
from edgelearn.core.devices import resolve_device
from edgelearn.core.fit import accuracy, fit
from edgelearn.core.seeding import check_seed, seeded, torch_generator

DATASETS = ("fashion-mnist", "mnist")
ARCHS = ("mlp", "cnn")
RUN_COLUMNS = ("dataset", "arch", "seed", "fraction", "samples", "epoch", "accuracy", "train_seconds")
"""Columns of the table :func:`run_grid` returns: one row per seed x fraction x epoch."""
PARAM_NAMES = ("a", "b", "alpha", "beta")


# --------------------------------------------------------------------------------------------
# 1. The training grid
# --------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class TrainingGrid:
    """The real training runs behind the regression of *Slicing for AI*, eq. 19.

    One run per (seed, fraction): ``round(fraction * pool)`` training images, ``max_epochs``
    epochs, test accuracy on ``n_test`` held-out images recorded after every epoch.
    Lists given for ``fractions`` or ``seeds`` are stored as tuples.
    """

    dataset: str  # "fashion-mnist" | "mnist"
    arch: str  # "mlp" | "cnn"
    pool: int  # training images available, i.e. data fraction 1.0
    n_test: int  # held-out images the accuracy is measured on
    fractions: tuple[float, ...]  # each in (0, 1]
    max_epochs: int
    seeds: tuple[int, ...]
    batch_size: int = 128
    lr: float = 1e-3

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"'dataset' must be one of {list(DATASETS)}; got {self.dataset!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"'arch' must be one of {list(ARCHS)}; got {self.arch!r}")
        for name in ("pool", "n_test", "max_epochs", "batch_size"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"'{name}' must be an integer >= 1; got {value!r}")
        lr = self.lr
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"'lr' must be a finite number > 0; got {lr!r}")

        fractions = self.fractions
        if isinstance(fractions, (int, float, str)) or len(tuple(fractions)) == 0:
            raise ValueError(f"'fractions' must be a non-empty sequence of numbers in (0, 1]; got {fractions!r}")
        fractions = tuple(float(f) for f in fractions)
        for f in fractions:
            if not (0.0 < f <= 1.0):  # also rejects NaN
                raise ValueError(f"'fractions' must all lie in (0, 1]; got {f!r}")
            if round(f * self.pool) < 1:
                raise ValueError(
                    f"'fractions' entry {f!r} selects round({f!r} * pool={self.pool}) = 0 "
                    f"images; each fraction must lie in [0.5 / pool, 1]"
                )
        if len(set(fractions)) != len(fractions):
            raise ValueError(f"'fractions' must be distinct; got {fractions!r}")

        seeds = self.seeds
        if isinstance(seeds, (int, str)) or len(tuple(seeds)) == 0:
            raise ValueError(f"'seeds' must be a non-empty sequence of integers >= 0; got {seeds!r}")
        seeds = tuple(seeds)
        for s in seeds:
            if not _is_int(s) or s < 0:
                raise ValueError(f"'seeds' must be integers >= 0; got {s!r}")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"'seeds' must be distinct; got {seeds!r}")
        object.__setattr__(self, "fractions", fractions)
        object.__setattr__(self, "seeds", tuple(int(s) for s in seeds))
        object.__setattr__(self, "lr", float(lr))

    @property
    def n_runs(self) -> int:
        """Training runs in the grid: one per (seed, fraction)."""
        return len(self.seeds) * len(self.fractions)


# --------------------------------------------------------------------------------------------
# 2. The classifiers
# --------------------------------------------------------------------------------------------


def build_classifier(arch: str, seed: int) -> torch.nn.Module:
    """A small 28x28 -> 10-class classifier with initial weights fixed by ``seed``.

    * ``"mlp"``: Flatten -> Linear(784, 128) -> ReLU -> Linear(128, 10);
    * ``"cnn"``: Conv2d(1, 8, 5, stride 2) -> ReLU -> Conv2d(8, 16, 5, stride 2) -> ReLU
      -> Flatten -> Linear(16*4*4, 10).

    The weights are drawn inside :func:`edgelearn.core.seeding.seeded`, so the same seed gives
    identical weights and the caller's random state is left untouched.
    Input: float tensors of shape (N, 1, 28, 28); output: logits (N, 10).
    """
    if arch not in ARCHS:
        raise ValueError(f"'arch' must be one of {list(ARCHS)}; got {arch!r}")
    nn = torch.nn
    with seeded(check_seed(seed)):
        if arch == "mlp":
            return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 10))
        # 28 -> (28 - 5) // 2 + 1 = 12 -> (12 - 5) // 2 + 1 = 4
        return nn.Sequential(
            nn.Conv2d(1, 8, 5, stride=2),
            nn.ReLU(),
            nn.Conv2d(8, 16, 5, stride=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(16 * 4 * 4, 10),
        )


# --------------------------------------------------------------------------------------------
# 3. The real training runs
# --------------------------------------------------------------------------------------------


def subset_indices(pool: int, fraction: float, seed: int) -> torch.Tensor:
    """Positions in the pool of the ``round(fraction * pool)`` images a run with ``seed`` trains on.

    The first entries of a permutation of ``range(pool)`` drawn with a generator seeded by
    ``seed``: for one seed, the subset of a larger fraction contains that of a smaller one.
    """
    samples = int(round(fraction * pool))
    if not 1 <= samples <= pool:
        raise ValueError(
            f"'fraction' must select between 1 and pool={pool} images; round({fraction!r} * {pool}) = {samples}"
        )
    return torch.randperm(pool, generator=torch_generator(seed))[:samples]


def _train_run(
    grid: TrainingGrid, seed: int, x: torch.Tensor, y: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor
) -> list[tuple[float, float]]:
    """Train one model on (x, y); return (test accuracy, cumulative train seconds) per epoch."""
    model = build_classifier(grid.arch, seed).to(x.device)
    history: list[tuple[float, float]] = []
    fit(
        model,
        x,
        y,
        torch.optim.Adam(model.parameters(), lr=grid.lr),
        epochs=grid.max_epochs,
        batch_size=grid.batch_size,
        generator=torch_generator(seed),  # CPU generator: the same order on every device
        on_epoch=lambda _epoch, seconds: history.append((accuracy(model, x_test, y_test), seconds)),
    )
    return history


def run_grid(
    grid: TrainingGrid,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
    *,
    device: str | torch.device = "cpu",
    download: bool | None = None,
) -> tuple[pd.DataFrame, str]:
    """Train every run of ``grid`` for real and record test accuracy after every epoch.

    The data come from ``train_val_split(grid.dataset, grid.pool, grid.n_test, seed=0,
    download=download)``: local copies first, then (unless ``download=False``) a torchvision
    download; offline MNIST has both parts drawn from the 10k test set, which the returned
    source string says. For seed ``s``, fraction ``d`` trains on the
    :func:`subset_indices` ``(pool, d, s)``: the first ``round(d * pool)`` images of a
    permutation seeded with ``s``, so a larger fraction contains every smaller one. Each run
    starts from :func:`build_classifier` ``(grid.arch, s)``, trains with Adam(``grid.lr``) and
    cross-entropy on minibatches of ``grid.batch_size`` drawn from the tensors in a ``torch.randperm``
    order (generator seeded with ``s``) by :func:`edgelearn.core.fit.fit`, and is evaluated
    on the whole test part after every epoch (its ``on_epoch`` callback, whose time is not
    counted): one run gives the accuracies of epochs 1..``max_epochs``. ``device``: ``"cpu"``,
    ``"cuda"``, ``"cuda:<i>"`` or ``"auto"`` (:func:`edgelearn.core.devices.resolve_device`).

    Returns the tidy table (columns :data:`RUN_COLUMNS`, one row per seed x fraction x epoch;
    ``train_seconds`` is the cumulative training wall time of that run up to that epoch,
    evaluation excluded) and the data-source string. Thread settings are left as they are;
    on the CPU, repeated calls give identical accuracies.
    """
    if not isinstance(grid, TrainingGrid):
        raise TypeError(f"'grid' must be a TrainingGrid; got {type(grid).__name__}")
    device = resolve_device(device)
    train, test = train_val_split(grid.dataset, grid.pool, grid.n_test, seed=0, data_dir=data_dir, download=download)
    source = f"trained on {train.source}; accuracy measured on {test.source}"
    x_pool, y_pool = train.as_float().to(device), train.labels.to(device)
    x_test, y_test = test.as_float().to(device), test.labels.to(device)

    rows = []
    bar = tqdm(total=grid.n_runs, desc=f"{grid.dataset}/{grid.arch} runs", disable=not progress)
    for seed in grid.seeds:
        for fraction in grid.fractions:
            subset = subset_indices(grid.pool, fraction, seed).to(device)
            samples = len(subset)
            history = _train_run(grid, seed, x_pool[subset], y_pool[subset], x_test, y_test)
            rows += [
                (grid.dataset, grid.arch, seed, fraction, samples, epoch, acc, seconds)
                for epoch, (acc, seconds) in enumerate(history, start=1)
            ]
            bar.update(1)
    bar.close()
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS)), source


# --------------------------------------------------------------------------------------------
# 4. The exponential model (assumed form of eq. 19) and its fit
# --------------------------------------------------------------------------------------------


def _exp_model(
    epochs: np.ndarray | float, fraction: np.ndarray | float, a: float, b: float, alpha: float, beta: float
) -> np.ndarray:
    e = np.asarray(epochs, dtype=float)
    d = np.asarray(fraction, dtype=float)
    return a - b * np.exp(-(alpha * e + beta * d))


@dataclass(frozen=True)
class AccuracyModel:
    r"""``accuracy(e, d) = a - b * exp(-(alpha * e + beta * d))``: our reading of *Slicing for AI*, eq. 19.

    :func:`fit_accuracy_model` returns parameters with ``0 < a <= 1`` and ``b, alpha,
    beta > 0`` (increasing in both arguments, saturating at ``a``); any finite values may
    be given by hand, e.g. to build a counter-example for :func:`is_monotone`.
    """

    a: float
    b: float
    alpha: float
    beta: float

    def __post_init__(self) -> None:
        for name in PARAM_NAMES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
                raise ValueError(f"'{name}' must be a finite number; got {value!r}")
            object.__setattr__(self, name, float(value))

    def __call__(self, epochs: np.ndarray | float, fraction: np.ndarray | float) -> np.ndarray:
        """Predicted accuracy; ``epochs`` and ``fraction`` broadcast against each other."""
        return _exp_model(epochs, fraction, self.a, self.b, self.alpha, self.beta)

    @property
    def params(self) -> dict[str, float]:
        """The parameters as ``{"a": ..., "b": ..., "alpha": ..., "beta": ...}``."""
        return {name: getattr(self, name) for name in PARAM_NAMES}


def _cell_means(df: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy, its standard error and the number of seeds per (epoch, fraction)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"'df' must be a pandas DataFrame; got {type(df).__name__}")
    missing = [c for c in ("epoch", "fraction", "accuracy") if c not in df.columns]
    if missing:
        raise ValueError(f"'df' lacks column(s) {missing}; it needs epoch, fraction and accuracy")
    if df.empty:
        raise ValueError("'df' has no rows")
    cells = (
        df.groupby(["epoch", "fraction"], sort=True)["accuracy"]
        .agg(mean_accuracy="mean", std="std", n="count")
        .reset_index()
    )
    cells["se"] = cells["std"] / np.sqrt(cells["n"])
    return cells


def _initial_guess(e: np.ndarray, d: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """p0 from the data: a just above the best accuracy, (b, alpha, beta) from a log-linear fit.

    With a fixed, ``log(a - acc) = log b - alpha e - beta d`` is linear in (e, d).
    """
    a0 = float(min(1.0, acc.max() + 0.25 * (acc.max() - acc.min()) + 1e-3))
    gap = np.clip(a0 - acc, 1e-6, None)
    design = np.column_stack([np.ones_like(e), -e, -d])
    coef = np.linalg.lstsq(design, np.log(gap), rcond=None)[0]
    b0 = float(np.exp(coef[0]))
    alpha0 = float(coef[1]) if coef[1] > 0 else 1.0 / max(np.ptp(e), 1.0)
    beta0 = float(coef[2]) if coef[2] > 0 else 1.0 / max(np.ptp(d), 1e-3)
    return np.array([a0, max(b0, 1e-3), alpha0, beta0])


def fit_accuracy_model(df: pd.DataFrame) -> tuple[AccuracyModel, dict[str, Any]]:
    """Fit *Slicing for AI*, eq. 19 (assumed exponential form) to mean accuracies over seeds.

    ``df`` needs columns ``epoch``, ``fraction`` and ``accuracy`` (e.g. from :func:`run_grid`);
    one row per seed and grid point. The fit is :func:`scipy.optimize.curve_fit` on the
    per-(epoch, fraction) mean, weighted by its standard error over seeds
    (``absolute_sigma=False``: only relative weights matter); cells whose standard error is
    zero or undefined get the smallest positive one, and with no positive standard error at
    all (e.g. a single seed) the fit is unweighted. Bounds: ``0 < a <= 1``, ``b, alpha,
    beta > 0``.

    Returns the model and diagnostics on the cell means: ``rmse``, ``r2``,
    ``max_abs_residual``, ``param_se`` (standard errors from the covariance; ``inf`` where
    it is not identified), ``n_points`` (cells fitted), plus ``n_seeds`` (largest number
    of seeds in a cell) and ``weighted``.
    """
    cells = _cell_means(df)
    if len(cells) < len(PARAM_NAMES) + 1:
        raise ValueError(
            f"need at least {len(PARAM_NAMES) + 1} distinct (epoch, fraction) points to fit "
            f"{len(PARAM_NAMES)} parameters; got {len(cells)}"
        )
    e = cells["epoch"].to_numpy(float)
    d = cells["fraction"].to_numpy(float)
    acc = cells["mean_accuracy"].to_numpy(float)
    se = cells["se"].to_numpy(float)
    positive = np.isfinite(se) & (se > 0)
    sigma = np.where(positive, se, se[positive].min()) if positive.any() else None

    lower = np.array([1e-9, 1e-12, 1e-12, 1e-12])
    upper = np.array([1.0, np.inf, np.inf, np.inf])
    p0 = np.clip(_initial_guess(e, d, acc), lower * 10, [1.0 - 1e-9, np.inf, np.inf, np.inf])
    popt, pcov = curve_fit(
        lambda x, *p: _exp_model(x[0], x[1], *p),
        np.vstack([e, d]),
        acc,
        p0=p0,
        sigma=sigma,
        absolute_sigma=False,
        bounds=(lower, upper),
        maxfev=20000,
    )
    model = AccuracyModel(*map(float, popt))
    resid = acc - model(e, d)
    ss_tot = float(np.sum((acc - acc.mean()) ** 2))
    with np.errstate(invalid="ignore"):
        se_params = np.sqrt(np.diag(pcov))
    diagnostics = {
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "r2": float(1.0 - np.sum(resid**2) / ss_tot) if ss_tot > 0 else float("nan"),
        "max_abs_residual": float(np.max(np.abs(resid))),
        "param_se": {name: float(s) if np.isfinite(s) else float("inf") for name, s in zip(PARAM_NAMES, se_params)},
        "n_points": int(len(cells)),
        "n_seeds": int(cells["n"].max()),
        "weighted": sigma is not None,
    }
    return model, diagnostics


def residuals(model: Callable[[np.ndarray, np.ndarray], np.ndarray], df: pd.DataFrame) -> pd.DataFrame:
    """Per-(epoch, fraction) mean accuracy over seeds, the model's prediction and their difference.

    Columns: ``epoch, fraction, mean_accuracy, predicted, residual`` (= mean - predicted).
    """
    cells = _cell_means(df)
    predicted = np.asarray(model(cells["epoch"].to_numpy(float), cells["fraction"].to_numpy(float)), float)
    out = cells[["epoch", "fraction", "mean_accuracy"]].copy()
    out["predicted"] = predicted
    out["residual"] = out["mean_accuracy"] - predicted
    return out


# --------------------------------------------------------------------------------------------
# 5. Monotonicity, the property OLS-RSA's elimination relies on
# --------------------------------------------------------------------------------------------


def is_monotone(
    model: Callable[[np.ndarray, np.ndarray], np.ndarray],
    epochs: np.ndarray | list[float],
    fractions: np.ndarray | list[float],
    atol: float = 1e-12,
) -> bool:
    """True iff ``model`` is non-decreasing along both axes of the (epochs x fractions) grid.

    The grid values are sorted (and de-duplicated) first; a decrease of at most ``atol``
    (floating-point noise) is tolerated. OLS-RSA (*Slicing for AI*, sec. IV-A) discards
    every (epochs, data size) pair that another feasible pair dominates in both
    coordinates; that is safe exactly when the accuracy model is monotone in this sense.
    """
    e = np.unique(np.asarray(epochs, dtype=float).ravel())
    d = np.unique(np.asarray(fractions, dtype=float).ravel())
    if e.size == 0 or d.size == 0:
        raise ValueError("'epochs' and 'fractions' must each hold at least one value")
    grid_e, grid_d = np.meshgrid(e, d, indexing="ij")
    pred = np.broadcast_to(np.asarray(model(grid_e, grid_d), dtype=float), grid_e.shape)
    if not np.all(np.isfinite(pred)):
        return False
    return bool(np.all(np.diff(pred, axis=0) >= -atol) and np.all(np.diff(pred, axis=1) >= -atol))
