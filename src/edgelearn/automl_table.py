r"""A NAS-Bench-style table of real training runs over a joint AUG x NAS x HPO space (MA2ML).

MA2ML (Wang et al., *Multi-Agent Automated Machine Learning*, CVPR 2023) lets one agent per
AutoML module choose its part of a pipeline: data augmentation (AUG), architecture (NAS) and
hyper-parameters (HPO). ImageNet is out of reach here, so this module trains **every** pipeline
of a small joint space for real on a small image data set (Fashion-MNIST by default), several
seeds each, and stores validation accuracy, forward FLOPs and parameter counts in a table that
searchers can then query in microseconds (:class:`edgelearn.ma2ml.TabularBenchmark`).

The module reads top to bottom:

1. **The space as data.** :data:`AUGMENTATIONS` (batched tensor operations on a training
   minibatch, driven by a :class:`torch.Generator`), :data:`ARCHITECTURES` (small CNNs named by
   their channel widths, :func:`build_network`), :data:`HYPERPARAMETERS` (AdamW learning rate x
   batch size x weight decay) and :class:`JointSpace`, which holds the three and validates them.
2. **Costs.** :func:`flops_and_params`: forward FLOPs as counted by
   :class:`torch.utils.flop_counter.FlopCounterMode` on one 1x1x28x28 image, and parameters.
3. **One pipeline.** :class:`TableConfig` (data sizes, epochs, seeds), :data:`TABLE_SCALES`,
   :func:`load_table_data` and :func:`evaluate_pipeline`, which trains one (pipeline, seed) for
   real on tensors (no DataLoader) and is also the "live" benchmark of the searchers.
4. **The table.** :func:`build_table` runs every (pipeline, seed) once, in this process or in a
   pool of processes (or Ray tasks), appending each finished row to a ``.partial.csv`` file so
   that an interrupted build resumes where it stopped; it then writes the table and its
   provenance (``.json``) atomically. :func:`load_table` reads them back and refuses a table
   that was edited or built by other code.
5. **Command line.** ``python -m edgelearn.automl_table --scale laptop --out
   data/tables/ma2ml_fashion.csv --workers 2 [--backend ray]``.

Determinism: a run is fixed by its (pipeline, seed). The seed fixes the network's initial weights
(the same for every augmentation and hyper-parameter choice of an architecture), the order of the
minibatches and the augmentation draws; on the CPU with the same number of threads a run gives
bit-identical accuracies. Table builds use one thread per run, so a table built with one worker
and one built with several are identical except for ``train_seconds``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from edgelearn.data import NAMES as DATASET_NAMES
from edgelearn.data import ImageDataset, train_val_split
from edgelearn.results import StaleResultError, _device, _git, _jsonable, _write_atomic, package_versions
from edgelearn.results import repo_root
from edgelearn.scales import get_scale

MODULES = ("aug", "arch", "hpo")
"""The AutoML modules (MA2ML's agents), in the order of a pipeline's indices."""

REBUILD_HINT = "the table was built by other code: rebuild it with `make table`"


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


# --------------------------------------------------------------------------------------------
# 1a. AUG: batched augmentations of a minibatch (N, C, H, W), driven by a torch.Generator
# --------------------------------------------------------------------------------------------

AUGMENTATIONS: tuple[str, ...] = ("none", "flip", "shift", "rotate", "erase")
"""Augmentation choices: identity, horizontal flip (p=0.5), translation by up to +-3 px,
rotation by up to +-15 degrees, erasing one 10x10 patch (p=0.5)."""


def _uniform(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``n`` draws from U[0, 1) on the generator's (CPU) stream, moved to ``device``."""
    return torch.rand(n, generator=generator).to(device)


def _randint(high: int, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``n`` integers uniform in ``0..high-1`` on the generator's stream, moved to ``device``."""
    return torch.randint(high, (n,), generator=generator).to(device)


def _check_batch(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ValueError("augmentations take a float tensor of shape (N, C, H, W); got "
                         + (f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__))


def random_hflip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p`` (one draw per image)."""
    _check_batch(x)
    flip = _uniform(len(x), generator, x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_shift(x: torch.Tensor, generator: torch.Generator, max_shift: int = 3,
                 fill: float = 0.0) -> torch.Tensor:
    """Translate each image by (dy, dx), both uniform in ``-max_shift..max_shift`` pixels.

    Pads by ``max_shift`` with ``fill`` and crops an H x W window per image at a random offset,
    all images at once through advanced indexing (no loop over images).
    """
    _check_batch(x)
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=fill)
    dy = _randint(2 * max_shift + 1, n, generator, x.device)
    dx = _randint(2 * max_shift + 1, n, generator, x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)  # (N, H)
    cols = dx[:, None] + torch.arange(w, device=x.device)  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    # advanced indices separated by a slice: the indexed dimensions come first -> (N, H, W, C)
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def random_rotation(x: torch.Tensor, generator: torch.Generator, max_degrees: float = 15.0,
                    fill: float = 0.0) -> torch.Tensor:
    """Rotate each image about its centre by an angle uniform in [-max_degrees, max_degrees].

    Bilinear resampling with :func:`F.affine_grid` / :func:`F.grid_sample`; pixels that come
    from outside the image take the value ``fill``.
    """
    _check_batch(x)
    angle = (2 * _uniform(len(x), generator, x.device) - 1) * math.radians(max_degrees)
    cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


def random_erasing(x: torch.Tensor, generator: torch.Generator, size: int = 10, p: float = 0.5,
                   fill: float = 0.0) -> torch.Tensor:
    """With probability ``p`` per image, set one ``size`` x ``size`` patch at a random place to ``fill``."""
    _check_batch(x)
    n, _, h, w = x.shape
    if not (1 <= size <= min(h, w)):
        raise ValueError(f"'size' must be between 1 and {min(h, w)}; got {size!r}")
    apply = _uniform(n, generator, x.device) < p
    top = _randint(h - size + 1, n, generator, x.device)
    left = _randint(w - size + 1, n, generator, x.device)
    r, c = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    inside_r = (r[None, :] >= top[:, None]) & (r[None, :] < top[:, None] + size)  # (N, H)
    inside_c = (c[None, :] >= left[:, None]) & (c[None, :] < left[:, None] + size)  # (N, W)
    mask = apply[:, None, None] & inside_r[:, :, None] & inside_c[:, None, :]
    return torch.where(mask[:, None], torch.as_tensor(fill, dtype=x.dtype, device=x.device), x)


def augment(name: str, x: torch.Tensor, generator: torch.Generator, fill: float = 0.0) -> torch.Tensor:
    """Apply augmentation ``name`` (one of :data:`AUGMENTATIONS`) to the minibatch ``x``.

    ``fill`` is the value of a black pixel in ``x`` (after normalisation), used where the image
    is padded, rotated in from outside, or erased. ``"none"`` returns ``x`` itself. The result
    has the shape and dtype of ``x`` and depends only on ``x`` and the generator's state.
    """
    if name == "none":
        _check_batch(x)
        return x
    if name == "flip":
        return random_hflip(x, generator)
    if name == "shift":
        return random_shift(x, generator, fill=fill)
    if name == "rotate":
        return random_rotation(x, generator, fill=fill)
    if name == "erase":
        return random_erasing(x, generator, fill=fill)
    raise ValueError(f"unknown augmentation {name!r}: module 'aug' has the choices {list(AUGMENTATIONS)}")


# --------------------------------------------------------------------------------------------
# 1b. NAS: small CNNs named by their channel widths
# --------------------------------------------------------------------------------------------

ARCHITECTURES: tuple[str, ...] = ("c8", "c16", "c8-16", "c16-32", "c32-64", "c16-32-64")
"""Architecture choices. ``"c16-32"`` is two blocks of Conv3x3(pad 1) -> ReLU -> MaxPool2 with
16 and 32 output channels, then Flatten -> Linear(., 10)."""

_ARCH_PATTERN = re.compile(r"c([1-9]\d*)((?:-[1-9]\d*)*)")
_MAX_BLOCKS = 4  # 28 -> 14 -> 7 -> 3 -> 1
IMAGE_SIZE = 28
N_CLASSES = 10


def architecture_channels(arch: str) -> tuple[int, ...]:
    """Output channels of each block of ``arch``, e.g. ``"c16-32" -> (16, 32)``.

    Any name ``c<w1>-<w2>-...`` with 1 to 4 positive widths is accepted (:data:`ARCHITECTURES`
    lists the ones of the benchmark).
    """
    match = _ARCH_PATTERN.fullmatch(arch) if isinstance(arch, str) else None
    widths = (int(match.group(1)), *(int(w) for w in match.group(2).split("-")[1:])) if match else ()
    if not match or len(widths) > _MAX_BLOCKS:
        raise ValueError(f"unknown architecture {arch!r}: module 'arch' has the choices {list(ARCHITECTURES)} "
                         f"(or any 'c<w1>-<w2>-...' with 1 to {_MAX_BLOCKS} positive channel widths)")
    return widths


def build_network(arch: str, seed: int) -> nn.Sequential:
    """The CNN ``arch`` with initial weights fixed by ``seed`` (PyTorch's default initialisation).

    Each block is Conv2d(3x3, padding 1) -> ReLU -> MaxPool2d(2); then Flatten -> Linear(., 10).
    The global RNG is seeded inside :func:`torch.random.fork_rng`, so the caller's random state
    is left untouched. Input (N, 1, 28, 28) float; output logits (N, 10).
    """
    widths = architecture_channels(arch)
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"'seed' must be an integer >= 0; got {seed!r}")
    layers: list[nn.Module] = []
    channels, size = 1, IMAGE_SIZE
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            channels, size = width, size // 2
        layers += [nn.Flatten(), nn.Linear(channels * size * size, N_CLASSES)]
        return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------------
# 1c. HPO: AdamW learning rate x batch size x weight decay
# --------------------------------------------------------------------------------------------

def _short(value: float) -> str:
    """``1e-3 -> "1e-3"``, ``5e-4 -> "5e-4"``, ``0 -> "0"``, ``0.01 -> "1e-2"``."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.6e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


@dataclass(frozen=True)
class HyperParameters:
    """One HPO choice: AdamW with learning rate ``lr`` and ``weight_decay``, minibatches of ``batch_size``."""

    lr: float
    batch_size: int
    weight_decay: float

    def __post_init__(self) -> None:
        for field, minimum in (("lr", "> 0"), ("weight_decay", ">= 0")):
            value = getattr(self, field)
            number = not isinstance(value, bool) and isinstance(value, (int, float, np.floating))
            if not number or not math.isfinite(value) or value < 0 or (minimum == "> 0" and value == 0):
                raise ValueError(f"'{field}' must be a finite number {minimum}; got {value!r}")
            object.__setattr__(self, field, float(value))
        if not _is_int(self.batch_size) or self.batch_size < 1:
            raise ValueError(f"'batch_size' must be an integer >= 1; got {self.batch_size!r}")
        object.__setattr__(self, "batch_size", int(self.batch_size))

    @property
    def name(self) -> str:
        """E.g. ``"lr1e-3_b64_wd0"`` or ``"lr3e-3_b256_wd5e-4"``."""
        return f"lr{_short(self.lr)}_b{self.batch_size}_wd{_short(self.weight_decay)}"


HYPERPARAMETERS: tuple[HyperParameters, ...] = tuple(
    HyperParameters(lr, batch, wd) for lr in (1e-3, 3e-3) for batch in (64, 256) for wd in (0.0, 5e-4))
"""The 8 HPO choices: learning rate {1e-3, 3e-3} x batch size {64, 256} x weight decay {0, 5e-4}."""


# --------------------------------------------------------------------------------------------
# 1d. The joint space
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JointSpace:
    """The joint search space AUG x NAS x HPO; a pipeline is an index triple ``(a, n, h)``.

    Lists are stored as tuples; HPO entries may be given as :class:`HyperParameters`, as their
    names (e.g. ``"lr1e-3_b64_wd0"``, looked up in :data:`HYPERPARAMETERS`) or as dicts of
    fields. Unknown names, empty modules and duplicates raise ``ValueError`` naming the module
    and its valid values.
    """

    aug: tuple[str, ...] = AUGMENTATIONS
    arch: tuple[str, ...] = ARCHITECTURES
    hpo: tuple[HyperParameters, ...] = HYPERPARAMETERS

    def __post_init__(self) -> None:
        for module in MODULES:
            values = getattr(self, module)
            if isinstance(values, (str, HyperParameters, dict)) or not isinstance(values, Sequence) or not values:
                raise ValueError(f"module {module!r} must be a non-empty sequence of choices; got {values!r}")
        for name in self.aug:
            if name not in AUGMENTATIONS:
                raise ValueError(f"unknown augmentation {name!r}: module 'aug' has the choices {list(AUGMENTATIONS)}")
        for name in self.arch:
            architecture_channels(name)
        object.__setattr__(self, "aug", tuple(self.aug))
        object.__setattr__(self, "arch", tuple(self.arch))
        object.__setattr__(self, "hpo", tuple(_as_hyperparameters(h) for h in self.hpo))
        for module in MODULES:
            names = self.names(module)
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"module {module!r} lists {duplicates} more than once")

    @property
    def dims(self) -> tuple[int, int, int]:
        """Number of choices per module, e.g. ``(5, 6, 8)`` for the full space."""
        return len(self.aug), len(self.arch), len(self.hpo)

    @property
    def n_pipelines(self) -> int:
        """Number of joint pipelines, the product of :attr:`dims`."""
        return int(np.prod(self.dims))

    def names(self, module: str) -> tuple[str, ...]:
        """The choices of ``module`` (``"aug"``, ``"arch"`` or ``"hpo"``) by name."""
        _check_module(module)
        values = getattr(self, module)
        return tuple(v.name for v in values) if module == "hpo" else tuple(values)

    def index(self, module: str, value: int | str) -> int:
        """Position of choice ``value`` (an index or a name) in ``module``; ``ValueError`` if invalid."""
        names = self.names(module)
        if _is_int(value):
            if not 0 <= value < len(names):
                raise ValueError(f"index {value!r} out of range for module {module!r}: valid are "
                                 f"0..{len(names) - 1} ({list(names)})")
            return int(value)
        if isinstance(value, HyperParameters):
            value = value.name
        if isinstance(value, str) and value in names:
            return names.index(value)
        raise ValueError(f"unknown choice {value!r} for module {module!r}: valid are {list(names)} "
                         f"or indices 0..{len(names) - 1}")

    def pipeline(self, aug: int | str, arch: int | str, hpo: int | str) -> tuple[str, str, HyperParameters]:
        """The augmentation name, architecture name and hyper-parameters of pipeline ``(aug, arch, hpo)``."""
        a, n, h = self.index("aug", aug), self.index("arch", arch), self.index("hpo", hpo)
        return self.aug[a], self.arch[n], self.hpo[h]

    def name_of(self, aug: int | str, arch: int | str, hpo: int | str) -> str:
        """A readable pipeline name, e.g. ``"flip/c16-32/lr1e-3_b64_wd0"``."""
        a, n, h = self.pipeline(aug, arch, hpo)
        return f"{a}/{n}/{h.name}"

    def pipelines(self) -> Iterator[tuple[int, int, int]]:
        """Every index triple ``(a, n, h)``, in lexicographic order."""
        return itertools.product(*(range(d) for d in self.dims))

    def subspace(self, aug: Sequence[int | str] | None = None, arch: Sequence[int | str] | None = None,
                 hpo: Sequence[int | str] | None = None) -> JointSpace:
        """The space restricted to the given choices (indices or names) per module; ``None`` keeps all.

        Indices in the subspace are positions in the given lists: ``subspace(aug=[0, 3])`` has
        ``"none"`` at 0 and ``"rotate"`` at 1.
        """
        chosen = {}
        for module, picks in (("aug", aug), ("arch", arch), ("hpo", hpo)):
            values = getattr(self, module)
            if picks is None:
                chosen[module] = values
                continue
            if isinstance(picks, (str, int)) or not isinstance(picks, Sequence) or len(picks) == 0:
                raise ValueError(f"module {module!r} needs a non-empty list of choices; got {picks!r}")
            chosen[module] = tuple(values[self.index(module, p)] for p in picks)
        return JointSpace(**chosen)

    def describe(self) -> dict[str, list[str]]:
        """The choices of every module by name (for provenance)."""
        return {module: list(self.names(module)) for module in MODULES}


def _check_module(module: str) -> None:
    if module not in MODULES:
        raise ValueError(f"unknown module {module!r}: the modules are {list(MODULES)}")


def _as_hyperparameters(value: Any) -> HyperParameters:
    if isinstance(value, HyperParameters):
        return value
    if isinstance(value, dict):
        return HyperParameters(**value)
    by_name = {h.name: h for h in HYPERPARAMETERS}
    if isinstance(value, str) and value in by_name:
        return by_name[value]
    raise ValueError(f"unknown hyper-parameters {value!r}: module 'hpo' has the choices {list(by_name)} "
                     "(or HyperParameters(lr, batch_size, weight_decay) / dicts of those fields)")


# --------------------------------------------------------------------------------------------
# 2. Costs: forward FLOPs and parameters
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def flops_and_params(arch: str) -> tuple[int, int]:
    """Forward FLOPs of ``arch`` on one 1x1x28x28 image and its number of parameters.

    FLOPs are those :class:`torch.utils.flop_counter.FlopCounterMode` counts: 2 per
    multiply-add of the convolutions and the linear layer (``2 k^2 C_in C_out H W`` per conv);
    biases, ReLU and pooling are not counted.
    """
    from torch.utils.flop_counter import FlopCounterMode

    net = build_network(arch, 0)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE))
    return int(counter.get_total_flops()), int(sum(p.numel() for p in net.parameters()))


# --------------------------------------------------------------------------------------------
# 3. Training one pipeline
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableConfig:
    """How each pipeline is trained and evaluated.

    ``train_size`` training and ``val_size`` validation images are drawn (disjoint, with seed 0)
    from ``dataset`` by :func:`edgelearn.data.train_val_split`; every pipeline is trained for
    ``epochs`` epochs once per seed in ``seeds``.
    """

    train_size: int
    val_size: int
    epochs: int
    seeds: tuple[int, ...]
    dataset: str = "fashion-mnist"

    def __post_init__(self) -> None:
        for name in ("train_size", "val_size", "epochs"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"'{name}' must be an integer >= 1; got {value!r}")
        seeds = self.seeds
        if isinstance(seeds, (str, int)) or not isinstance(seeds, Sequence) or len(seeds) == 0:
            raise ValueError(f"'seeds' must be a non-empty sequence of integers >= 0; got {seeds!r}")
        if not all(_is_int(s) and s >= 0 for s in seeds) or len(set(seeds)) != len(seeds):
            raise ValueError(f"'seeds' must be distinct integers >= 0; got {seeds!r}")
        if self.dataset not in DATASET_NAMES:
            raise ValueError(f"'dataset' must be one of {list(DATASET_NAMES)}; got {self.dataset!r}")
        object.__setattr__(self, "seeds", tuple(int(s) for s in seeds))


TABLE_SCALES: dict[str, TableConfig] = {
    # MNIST: its test set is available offline (train_val_split then draws both parts from it)
    "smoke": TableConfig(600, 300, 1, (0,), dataset="mnist"),
    # 6,000 (not 8,000) training images: 720 runs in about 40 min on one CPU core (timed)
    "laptop": TableConfig(6000, 4000, 3, (0, 1, 2)),
    "paper": TableConfig(50000, 10000, 10, (0, 1, 2, 3, 4)),
}


@dataclass(frozen=True, eq=False)
class TableData:
    """Preloaded training and validation tensors for :func:`evaluate_pipeline`.

    ``x_*`` are float32 (N, 1, 28, 28), normalised with the data set's mean and standard
    deviation (:meth:`ImageDataset.as_float`); ``fill`` is the value of a black pixel after that
    normalisation (what augmentations pad and erase with); ``source`` says where the data came from.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    fill: float
    source: str

    @classmethod
    def from_datasets(cls, train: ImageDataset, val: ImageDataset) -> TableData:
        """From a (train, validation) pair such as :func:`edgelearn.data.train_val_split` returns."""
        black = ImageDataset(train.name, "black", torch.zeros(1, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8),
                             torch.zeros(1, dtype=torch.int64), source="a black image")
        return cls(train.as_float(), train.labels, val.as_float(), val.labels,
                   fill=float(black.as_float().flatten()[0]),
                   source=f"{train.name}: trained on {train.source}; validated on {val.source}")


def load_table_data(config: TableConfig, data_dir: str | os.PathLike | None = None,
                    download: bool | None = None) -> TableData:
    """The data of ``config``: ``train_val_split(config.dataset, config.train_size, config.val_size, seed=0)``."""
    train, val = train_val_split(config.dataset, config.train_size, config.val_size, seed=0,
                                 data_dir=data_dir, download=download)
    return TableData.from_datasets(train, val)


def _stream_seed(seed: int, stream: str) -> int:
    """An independent 63-bit seed for the random ``stream`` ("shuffle", "augment") of run ``seed``."""
    digest = hashlib.sha256(f"edgelearn.automl_table/{stream}/{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(y), batch))
    model.train()
    return correct / len(y)


def evaluate_pipeline(space: JointSpace, aug: int | str, arch: int | str, hpo: int | str, seed: int,
                      config: TableConfig, data: TableData | tuple[ImageDataset, ImageDataset] | None = None
                      ) -> dict[str, Any]:
    """Train pipeline ``(aug, arch, hpo)`` of ``space`` once with ``seed`` and measure it.

    Training: :func:`build_network` ``(arch, seed)``, AdamW(lr, weight_decay) and cross-entropy,
    ``config.epochs`` epochs over the training tensors in minibatches of the HPO batch size,
    in a ``torch.randperm`` order per epoch (generator seeded from ``seed``); each minibatch is
    augmented with a second generator seeded from ``seed``. ``data`` holds preloaded tensors
    (:class:`TableData`) or a (train, validation) pair of :class:`ImageDataset`; by default the
    data of ``config`` are loaded (:func:`load_table_data`). Runs with whatever number of torch
    threads is set; results are reproducible for a fixed thread count.

    Returns ``aug, arch, hpo`` (names), ``aug_idx, arch_idx, hpo_idx, seed``, ``val_accuracy``
    (on the validation tensors after the last epoch), ``train_accuracy`` (on the augmented
    minibatches of the last epoch, before each step), ``flops, params`` (:func:`flops_and_params`)
    and ``train_seconds`` (training wall time, evaluation excluded).
    """
    if not isinstance(space, JointSpace):
        raise TypeError(f"'space' must be a JointSpace; got {type(space).__name__}")
    if not isinstance(config, TableConfig):
        raise TypeError(f"'config' must be a TableConfig; got {type(config).__name__}")
    a, n, h = space.index("aug", aug), space.index("arch", arch), space.index("hpo", hpo)
    aug_name, arch_name, hp = space.pipeline(a, n, h)
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"'seed' must be an integer >= 0; got {seed!r}")
    if data is None:
        data = load_table_data(config)
    elif isinstance(data, tuple) and len(data) == 2 and all(isinstance(d, ImageDataset) for d in data):
        data = TableData.from_datasets(*data)
    elif not isinstance(data, TableData):
        raise TypeError("'data' must be a TableData, a (train, val) pair of ImageDataset, or None")

    x, y = data.x_train, data.y_train
    model = build_network(arch_name, int(seed)).to(x.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    shuffle = torch.Generator().manual_seed(_stream_seed(int(seed), "shuffle"))
    draws = torch.Generator().manual_seed(_stream_seed(int(seed), "augment"))
    model.train()
    start = time.perf_counter()
    correct = 0
    for _ in range(config.epochs):
        order = torch.randperm(len(y), generator=shuffle).to(x.device)
        correct = 0
        for first in range(0, len(y), hp.batch_size):
            batch = order[first:first + hp.batch_size]
            inputs = augment(aug_name, x[batch], draws, fill=data.fill)
            logits = model(inputs)
            loss = F.cross_entropy(logits, y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            correct += int((logits.detach().argmax(1) == y[batch]).sum())
    if x.is_cuda:
        torch.cuda.synchronize()
    train_seconds = time.perf_counter() - start
    flops, params = flops_and_params(arch_name)
    return {"aug": aug_name, "arch": arch_name, "hpo": hp.name, "aug_idx": a, "arch_idx": n, "hpo_idx": h,
            "seed": int(seed), "val_accuracy": _accuracy(model, data.x_val, data.y_val),
            "train_accuracy": correct / len(y), "flops": flops, "params": params,
            "train_seconds": train_seconds}


# --------------------------------------------------------------------------------------------
# 4. The table: build (resumable, parallel), save with provenance, load with checks
# --------------------------------------------------------------------------------------------

COLUMNS: tuple[str, ...] = ("aug", "arch", "hpo", "aug_idx", "arch_idx", "hpo_idx", "seed",
                            "val_accuracy", "train_accuracy", "flops", "params", "train_seconds")
"""Columns of the table, one row per (pipeline, seed)."""
KEY: tuple[str, ...] = ("aug_idx", "arch_idx", "hpo_idx", "seed")
BACKENDS: tuple[str, ...] = ("process", "ray")
_PARTIAL_TAG = "# edgelearn.automl_table partial table; run key "


def builder_hash() -> str:
    """SHA-256 (12 hex digits) of this source file: a table records the code that built it."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def _run_key(space: JointSpace, config: TableConfig, builder: str) -> str:
    """Identifies what a partial table holds: rows of another space, config or code are not mixed."""
    spec = {"space": space.describe(), "config": dataclasses.asdict(config), "builder_hash": builder}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _format(value: Any) -> str:
    text = repr(float(value)) if isinstance(value, float) else str(value)
    if any(ch in text for ch in ',"\n\r'):
        raise ValueError(f"table value {text!r} cannot be written as a plain CSV field")
    return text


def _append_row(handle: io.TextIOBase, row: dict[str, Any]) -> None:
    """Append one complete CSV line to the partial table and force it to disk."""
    handle.write(",".join(_format(row[c]) for c in COLUMNS) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def _open_partial(partial: Path, key: str) -> tuple[pd.DataFrame, io.TextIOBase]:
    """Rows finished by an earlier, interrupted build, and the partial file opened for appending.

    A line cut off by a crash (no final newline) is dropped from the file; a partial table of
    another run key (other space, config or code) raises ``ValueError`` rather than mixing rows.
    """
    header = ",".join(COLUMNS)
    if partial.exists():
        raw = partial.read_bytes()
        complete = raw[:raw.rfind(b"\n") + 1]
        lines = complete.decode().splitlines()
        if len(lines) < 2 or lines[0] != f"{_PARTIAL_TAG}{key}" or lines[1] != header:
            found = lines[0] if lines else "(empty)"
            raise ValueError(f"{partial} holds rows of another build ({found!r}, expected run key {key}): "
                             "finish that build with its own space, scale and code, or delete the file")
        if len(complete) != len(raw):
            with open(partial, "r+b") as handle:  # drop the half-written last line
                handle.truncate(len(complete))
                handle.flush()
                os.fsync(handle.fileno())
        done = pd.read_csv(io.StringIO("\n".join(lines[1:]) + "\n"))
        done = done.drop_duplicates(subset=list(KEY), keep="first")
    else:
        partial.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(partial, f"{_PARTIAL_TAG}{key}\n{header}\n".encode())
        done = pd.DataFrame(columns=list(COLUMNS))
    return done, open(partial, "a", encoding="utf-8")


# the data a worker process (or Ray worker) loaded once, keyed by (config, data_dir, download)
_WORKER_STATE: dict[str, Any] = {}


def _worker_init(config: TableConfig, data_dir: str | None, download: bool | None) -> None:
    """Pool initializer: one torch thread, and the data loaded once per worker process."""
    torch.set_num_threads(1)
    key = (config, data_dir, download)
    if _WORKER_STATE.get("key") != key:
        _WORKER_STATE.update(key=key, data=load_table_data(config, data_dir, download))


def _worker_run(space: JointSpace, config: TableConfig, task: tuple[int, int, int, int],
                data_dir: str | None = None, download: bool | None = None) -> dict[str, Any]:
    """Train one (pipeline, seed) in a worker, loading the data first if this worker has none."""
    _worker_init(config, data_dir, download)
    a, n, h, seed = task
    return evaluate_pipeline(space, a, n, h, seed, config, _WORKER_STATE["data"])


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


Task = tuple[int, int, int, int]  # (aug_idx, arch_idx, hpo_idx, seed)
Sink = Callable[[dict[str, Any]], None]  # receives each finished row


def _run_serial(space: JointSpace, config: TableConfig, todo: list[Task], data: TableData, sink: Sink) -> None:
    with _torch_threads(1):
        for a, n, h, seed in todo:
            sink(evaluate_pipeline(space, a, n, h, seed, config, data))


def _run_process_pool(space: JointSpace, config: TableConfig, todo: list[Task], workers: int,
                      data_dir: str | None, download: bool | None, sink: Sink) -> None:
    # spawn: no fork of a process whose OpenMP threads are running; workers import the package
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init,
                                                initargs=(config, data_dir, download)) as pool:
        futures = [pool.submit(_worker_run, space, config, task, data_dir, download) for task in todo]
        try:
            for future in concurrent.futures.as_completed(futures):
                sink(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError("backend='ray' needs Ray, which is not installed: pip install ray "
                          "(or use backend='process')") from exc
    return ray


def _run_ray(space: JointSpace, config: TableConfig, todo: list[Task], workers: int,
             data_dir: str | None, download: bool | None, sink: Sink) -> None:
    ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(_worker_run)
        space_ref, config_ref = ray.put(space), ray.put(config)
        pending = [remote.remote(space_ref, config_ref, task, data_dir, download) for task in todo]
        try:
            while pending:
                finished, pending = ray.wait(pending, num_returns=1)
                sink(ray.get(finished[0]))
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()


def _check_complete(df: pd.DataFrame, space: JointSpace, config: TableConfig) -> None:
    expected = {(a, n, h, s) for a, n, h in space.pipelines() for s in config.seeds}
    found = list(df[list(KEY)].itertuples(index=False, name=None))
    if len(found) != len(set(found)) or set(found) != expected:
        missing = sorted(expected - set(found))[:5]
        raise RuntimeError(f"table incomplete or with duplicates: {len(found)} rows for {len(expected)} "
                           f"(pipeline, seed) pairs; first missing: {missing}")


def build_table(space: JointSpace, config: TableConfig, out: str | os.PathLike, workers: int = 1,
                backend: str = "process", progress: bool = True, *, data_dir: str | os.PathLike | None = None,
                download: bool | None = None) -> pd.DataFrame:
    """Train every (pipeline, seed) of ``space`` x ``config.seeds`` once and save the table at ``out``.

    **Resumable.** Each finished row is appended as one complete line to
    ``out.with_suffix(".partial.csv")`` and forced to disk (flush + fsync); a new call with the
    same space, config and code skips the rows already there, so a build killed at any moment
    loses at most the runs in flight and never duplicates a row.

    **Parallel.** ``backend="process"``: with ``workers=1`` the runs happen in this process, with
    one torch thread; with more, in a :class:`concurrent.futures.ProcessPoolExecutor` whose
    workers load the data once (initializer) and use one torch thread each.
    ``backend="ray"``: ``ray.init(num_cpus=workers)`` (unless Ray is already running) and one
    ``ray.remote`` task per run; each Ray worker loads the data once.

    At the end the table (sorted by :data:`KEY`, columns :data:`COLUMNS`) is written atomically
    to ``out``, then its provenance to ``out.with_suffix(".json")`` (git commit, package versions,
    config, dims, space, seeds, data source, wall time, rows, the CSV's SHA-256 and
    :func:`builder_hash`), and the partial file is removed. Returns the table.
    """
    if not isinstance(space, JointSpace):
        raise TypeError(f"'space' must be a JointSpace; got {type(space).__name__}")
    if not isinstance(config, TableConfig):
        raise TypeError(f"'config' must be a TableConfig; got {type(config).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: choose one of {list(BACKENDS)}")
    if not _is_int(workers) or workers < 1:
        raise ValueError(f"'workers' must be an integer >= 1; got {workers!r}")
    if backend == "ray":
        _import_ray()  # fail before any work when Ray is missing
    out = Path(out)
    if out.suffix != ".csv":
        raise ValueError(f"'out' must be a .csv path; got {out}")
    builder = builder_hash()  # the code as it is now, not as it may be when the build ends
    started_utc = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = time.perf_counter()
    data_dir = None if data_dir is None else str(data_dir)
    data = load_table_data(config, data_dir, download)  # the source string, and the data for workers=1

    partial = out.with_suffix(".partial.csv")
    done, handle = _open_partial(partial, _run_key(space, config, builder))
    finished = set(done[list(KEY)].itertuples(index=False, name=None))
    todo = [(a, n, h, s) for a, n, h in space.pipelines() for s in config.seeds if (a, n, h, s) not in finished]
    bar = tqdm(total=space.n_pipelines * len(config.seeds), initial=len(finished), disable=not progress,
               desc=f"{out.name} ({backend}, {workers} worker{'s' * (workers > 1)})", unit="run")
    rows: list[dict[str, Any]] = []

    def sink(row: dict[str, Any]) -> None:
        _append_row(handle, row)
        rows.append(row)
        bar.update(1)

    try:
        if backend == "ray":
            _run_ray(space, config, todo, workers, data_dir, download, sink)
        elif workers == 1:
            _run_serial(space, config, todo, data, sink)
        else:
            _run_process_pool(space, config, todo, workers, data_dir, download, sink)
    finally:
        handle.close()
        bar.close()

    parts = [part for part in (done, pd.DataFrame(rows, columns=list(COLUMNS))) if len(part)]
    table = pd.concat(parts, ignore_index=True)
    table = table.astype({c: "int64" for c in (*KEY, "flops", "params")})
    table = table.sort_values(list(KEY), ignore_index=True)[list(COLUMNS)]
    _check_complete(table, space, config)
    csv_bytes = table.to_csv(index=False).encode()
    provenance = {
        "table": out.name,
        "rows": len(table),
        "columns": list(COLUMNS),
        "table_sha256": hashlib.sha256(csv_bytes).hexdigest(),
        "builder_hash": builder,
        "builder": "edgelearn.automl_table.build_table",
        "config": _jsonable(config),
        "dims": list(space.dims),
        "space": space.describe(),
        "seeds": list(config.seeds),
        "data_source": data.source,
        "git_commit": _git("rev-parse", "HEAD") or "unknown",
        "git_dirty": bool(_git("status", "--porcelain", "--", "src")),
        "packages": package_versions(),
        "device": _device(),
        "backend": backend,
        "workers": workers,
        "torch_threads_per_run": 1,
        "rows_resumed": len(done),
        "wall_time_s": round(time.perf_counter() - clock, 3),
        "train_seconds_total": round(float(table["train_seconds"].sum()), 3),
        "started_utc": started_utc,
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(out, csv_bytes)
    _write_atomic(out.with_suffix(".json"), json.dumps(provenance, indent=2, sort_keys=True).encode())
    partial.unlink(missing_ok=True)
    return pd.read_csv(io.BytesIO(csv_bytes))  # exactly what load_table will read


class StaleTableError(StaleResultError):
    """A joint-space table was edited, half-written, or built by other code."""


def load_table(path: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a table written by :func:`build_table` and its provenance, checking both.

    Raises :class:`FileNotFoundError` when either file is missing, and :class:`StaleTableError`
    (a :class:`~edgelearn.results.StaleResultError`) when the CSV's SHA-256 differs from the one
    recorded, or when ``builder_hash`` differs from this source file's (:func:`builder_hash`).
    """
    csv_path = Path(path)
    meta_path = csv_path.with_suffix(".json")
    if not csv_path.is_file() or not meta_path.is_file():
        raise FileNotFoundError(f"no table at {csv_path} (with {meta_path.name}): build it with `make table`")
    data = csv_path.read_bytes()
    meta = json.loads(meta_path.read_text())
    if meta.get("table_sha256") != hashlib.sha256(data).hexdigest():
        raise StaleTableError(f"{csv_path} does not match the SHA-256 in {meta_path.name} (edited or "
                              f"half-written); {REBUILD_HINT}")
    if meta.get("builder_hash") != builder_hash():
        raise StaleTableError(f"{csv_path} has builder_hash {meta.get('builder_hash')}, but "
                              f"edgelearn/automl_table.py is now {builder_hash()}: {REBUILD_HINT}")
    df = pd.read_csv(io.BytesIO(data))
    if tuple(df.columns) != COLUMNS or len(df) != meta.get("rows"):
        raise StaleTableError(f"{csv_path} has unexpected columns or rows; {REBUILD_HINT}")
    return df, meta


def table_is_current(path: str | os.PathLike, space: JointSpace, config: TableConfig) -> bool:
    """True iff :func:`load_table` accepts ``path`` and it holds exactly ``space`` x ``config``."""
    try:
        _, meta = load_table(path)
    except (FileNotFoundError, StaleResultError, ValueError):
        return False
    return meta.get("config") == _jsonable(config) and meta.get("space") == space.describe()


# --------------------------------------------------------------------------------------------
# 5. Command line
# --------------------------------------------------------------------------------------------

def default_table_path(scale: str) -> Path:
    """``data/tables/ma2ml_fashion.csv`` for the laptop scale, ``ma2ml_<dataset>_<scale>.csv`` otherwise."""
    config = get_scale(TABLE_SCALES, scale)
    short = "fashion" if config.dataset == "fashion-mnist" else config.dataset
    name = f"ma2ml_{short}.csv" if scale == "laptop" else f"ma2ml_{short}_{scale}.csv"
    return repo_root() / "data" / "tables" / name


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m edgelearn.automl_table --scale laptop --out data/tables/ma2ml_fashion.csv --workers 2``."""
    parser = argparse.ArgumentParser(prog="python -m edgelearn.automl_table", description=(
        "Train every AUG x NAS x HPO pipeline of the MA2ML joint space for real and save the table. "
        "An interrupted build resumes from <out>.partial.csv; an up-to-date table is left alone."))
    parser.add_argument("--scale", choices=list(TABLE_SCALES), default="laptop")
    parser.add_argument("--out", type=Path, default=None,
                        help="output CSV (default data/tables/ma2ml_fashion.csv for laptop)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backend", choices=list(BACKENDS), default="process")
    for module in MODULES:
        parser.add_argument(f"--{module}", default=None, metavar="CHOICES",
                            help=f"restrict module {module!r} to these comma-separated names or indices")
    parser.add_argument("--force", action="store_true", help="rebuild even when the table is up to date")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    picks = {m: [int(v) if v.strip().isdigit() else v.strip() for v in getattr(args, m).split(",")]
             for m in MODULES if getattr(args, m) is not None}
    space, config = JointSpace().subspace(**picks), TABLE_SCALES[args.scale]
    out = args.out if args.out is not None else default_table_path(args.scale)
    if not args.force and table_is_current(out, space, config):
        print(f"{out} is up to date (built by this code for scale {args.scale}); --force rebuilds it")
        return 0
    total = space.n_pipelines * len(config.seeds)
    print(f"building {out}: {space.n_pipelines} pipelines {space.dims} x {len(config.seeds)} seeds = {total} runs "
          f"at scale {args.scale} ({config}); backend {args.backend}, {args.workers} worker(s)", flush=True)
    table = build_table(space, config, out, workers=args.workers, backend=args.backend,
                        progress=not args.no_progress)
    mean = table.groupby(["aug", "arch", "hpo"])["val_accuracy"].mean()
    print(f"wrote {out} ({len(table)} rows) and {out.with_suffix('.json').name}; best mean validation "
          f"accuracy {mean.max():.4f} for {'/'.join(mean.idxmax())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
