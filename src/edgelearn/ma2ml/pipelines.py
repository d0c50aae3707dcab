r"""The joint AUG x NAS x HPO space of MA2ML and the training run that scores one pipeline.

Everything that determines the numbers of one run of the joint table lives here, and only
that: the code fingerprint of this module (:func:`edgelearn.core.store.code_fingerprint`, which
follows its imports into :mod:`edgelearn.core.fit`, :mod:`~edgelearn.core.data`, ...) keys the
table that :mod:`edgelearn.ma2ml.table` builds, so an edit here, or in the core code a run uses,
makes the stored table stale, while an edit to the searchers or to the table builder does not.

MA2ML (Wang et al., *Multi-Agent Automated Machine Learning*, CVPR 2023) lets one agent per
AutoML module choose its part of a pipeline: data augmentation (AUG), architecture (NAS) and
hyper-parameters (HPO). The module reads top to bottom:

1. **The space as data.** :data:`AUGMENTATIONS` (batched tensor operations on a training
   minibatch, driven by a :class:`torch.Generator`), :data:`ARCHITECTURES` (small CNNs named by
   their channel widths, :func:`build_network`), :data:`HYPERPARAMETERS` (AdamW learning rate x
   batch size x weight decay) and :class:`JointSpace`, which holds the three and validates them.
2. **Costs.** :func:`flops_and_params`: forward FLOPs and parameters
   (:func:`edgelearn.core.costs.count_flops`, :func:`~edgelearn.core.costs.count_params`).
3. **One run.** :class:`TableConfig` (data sizes, epochs, seeds) per scale in
   :data:`TABLE_SCALES` and the space per scale in :data:`TABLE_SPACES`, the data
   (:class:`TableData`, :func:`load_table_data`) and
   :func:`evaluate_pipeline`, which trains one (pipeline, seed) for real with
   :func:`edgelearn.core.fit.fit` and is also the "live" benchmark of the searchers.

Determinism: a run is fixed by its (pipeline, seed). The seed fixes the network's initial weights
(the same for every augmentation and hyper-parameter choice of an architecture), the order of the
minibatches and the augmentation draws (independent streams from
:func:`edgelearn.core.seeding.derive_seed`); on the CPU with the same number of threads a run
gives bit-identical accuracies.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgelearn.core.costs import count_flops, count_params
from edgelearn.core.data import NAMES as DATASET_NAMES
from edgelearn.core.data import ImageDataset, train_val_split
from edgelearn.core.fit import fit, predict
from edgelearn.core.scales import Scales
from edgelearn.core.seeding import check_seed, derive_seed, seeded, torch_generator

MODULES = ("aug", "arch", "hpo")
"""The AutoML modules (MA2ML's agents), in the order of a pipeline's indices."""


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
        raise ValueError(
            "augmentations take a float tensor of shape (N, C, H, W); got "
            + (f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__)
        )


def random_hflip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p`` (one draw per image)."""
    _check_batch(x)
    flip = _uniform(len(x), generator, x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_shift(x: torch.Tensor, generator: torch.Generator, max_shift: int = 3, fill: float = 0.0) -> torch.Tensor:
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


def random_rotation(
    x: torch.Tensor, generator: torch.Generator, max_degrees: float = 15.0, fill: float = 0.0
) -> torch.Tensor:
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


def random_erasing(
    x: torch.Tensor, generator: torch.Generator, size: int = 10, p: float = 0.5, fill: float = 0.0
) -> torch.Tensor:
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
        raise ValueError(
            f"unknown architecture {arch!r}: module 'arch' has the choices {list(ARCHITECTURES)} "
            f"(or any 'c<w1>-<w2>-...' with 1 to {_MAX_BLOCKS} positive channel widths)"
        )
    return widths


def build_network(arch: str, seed: int) -> nn.Sequential:
    """The CNN ``arch`` with initial weights fixed by ``seed`` (PyTorch's default initialisation).

    Each block is Conv2d(3x3, padding 1) -> ReLU -> MaxPool2d(2); then Flatten -> Linear(., 10).
    The weights are drawn inside :func:`edgelearn.core.seeding.seeded`, so the caller's random
    state is left untouched. Input (N, 1, 28, 28) float; output logits (N, 10).
    """
    widths = architecture_channels(arch)
    seed = check_seed(seed)
    layers: list[nn.Module] = []
    channels, size = 1, IMAGE_SIZE
    with seeded(seed):
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
    HyperParameters(lr, batch, wd) for lr in (1e-3, 3e-3) for batch in (64, 256) for wd in (0.0, 5e-4)
)
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
                raise ValueError(
                    f"index {value!r} out of range for module {module!r}: valid are 0..{len(names) - 1} ({list(names)})"
                )
            return int(value)
        if isinstance(value, HyperParameters):
            value = value.name
        if isinstance(value, str) and value in names:
            return names.index(value)
        raise ValueError(
            f"unknown choice {value!r} for module {module!r}: valid are {list(names)} or indices 0..{len(names) - 1}"
        )

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

    def subspace(
        self,
        aug: Sequence[int | str] | None = None,
        arch: Sequence[int | str] | None = None,
        hpo: Sequence[int | str] | None = None,
    ) -> JointSpace:
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
    raise ValueError(
        f"unknown hyper-parameters {value!r}: module 'hpo' has the choices {list(by_name)} "
        "(or HyperParameters(lr, batch_size, weight_decay) / dicts of those fields)"
    )


# --------------------------------------------------------------------------------------------
# 2. Costs: forward FLOPs and parameters
# --------------------------------------------------------------------------------------------


@functools.cache
def flops_and_params(arch: str) -> tuple[int, int]:
    """Forward FLOPs of ``arch`` on one 1x1x28x28 image and its number of parameters.

    FLOPs are those :func:`edgelearn.core.costs.count_flops` counts: 2 per multiply-add of the
    convolutions and the linear layer (``2 k^2 C_in C_out H W`` per conv); biases, ReLU and
    pooling are not counted.
    """
    net = build_network(arch, 0)
    return count_flops(net, (1, IMAGE_SIZE, IMAGE_SIZE)), count_params(net)


# --------------------------------------------------------------------------------------------
# 3. One run: configuration per scale, data, training one (pipeline, seed)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableConfig:
    """How each pipeline is trained and evaluated.

    ``train_size`` training and ``val_size`` validation images are drawn (disjoint, with seed 0)
    from ``dataset`` by :func:`edgelearn.core.data.train_val_split`; every pipeline is trained for
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


TABLE_SCALES: Scales[TableConfig] = Scales(
    # MNIST: its test set is available offline (train_val_split then draws both parts from it)
    smoke=TableConfig(600, 300, 1, (0,), dataset="mnist"),
    # 6,000 (not 8,000) training images: 720 runs in about 40 min on one CPU core (timed)
    laptop=TableConfig(6000, 4000, 3, (0, 1, 2)),
    # paper (configured for a GPU): 1,200 runs of 50,000 images x 10 epochs = 6 x 10^8 image-epochs; at the
    # CPU throughput of the laptop table (0.24 ms an image-epoch, averaged over the space, 2 workers on 2
    # cores) about 40 core-hours, 20 h on 2 CPU cores; no GPU has been measured.
    paper=TableConfig(50000, 10000, 10, (0, 1, 2, 3, 4)),
    # deciding: 2,000 training images for 30 epochs (laptop: 6,000 for 3), the same 4,000 validation images
    # and 3 seeds, over the space TABLE_SPACES["deciding"] (weight decay 1.0 instead of 5e-4). At laptop
    # every augmentation lowers accuracy and weight decay changes nothing; long training on few images is
    # the regime where regularisers act. Measured (c16-32, lr 1e-3, b64; validation accuracy, mean of
    # seeds 0-2, seed-to-seed sd 0.003-0.012): none 0.848, erase 0.848 (0.854 vs 0.847 at 25 epochs),
    # flip 0.843, shift 0.812 (-3.6 points); lr 3e-3: none 0.852, weight decay 0.1 0.851, 1.0 0.837
    # (-1.5 points, 0.841 at lr 1e-3). So every module's choice moves accuracy by more than the seed
    # spread; no augmentation beats "none" by more than it yet, but erase ties it, so the augmentation
    # agent's answer is no longer obvious. Fewer images keep a run at 3.3x laptop's cost for 10x its epochs.
    # Time: 720 runs x 60,000 image-epochs at the laptop table's 0.24 ms = 10,300 core-s, 86 min on 2
    # workers (+ about 2 min of evaluation); with the chapter's searches (about 5 min on 2 workers) about
    # 1.6 h on 2 idle CPU cores (our probes ran 1.5x slower beside another 2-core job: 2.3 h then).
    deciding=TableConfig(2000, 4000, 30, (0, 1, 2)),
)
"""The table's :class:`TableConfig` per scale (``TABLE_SCALES["laptop"]``). Its space is
``TABLE_SPACES[scale]``."""

TABLE_SPACES: Scales[JointSpace] = Scales(
    smoke=JointSpace(),
    laptop=JointSpace(),
    paper=JointSpace(),
    # deciding: the full space but for weight decay 1.0 in place of 5e-4, which AdamW turns into a per-step
    # shrink of lr x 5e-4 <= 1.5e-6 (no measurable effect at laptop); 0.1 still changes nothing after 30
    # epochs, 1.0 costs 0.7-1.5 points (see TABLE_SCALES["deciding"])
    deciding=JointSpace(
        hpo=tuple(HyperParameters(lr, batch, wd) for lr in (1e-3, 3e-3) for batch in (64, 256) for wd in (0.0, 1.0))
    ),
)
"""The joint space each scale's table covers (``TABLE_SPACES["deciding"]``): the full
:class:`JointSpace` except where a scale needs other choices for every module to matter. Like
:data:`TABLE_SCALES` it is left out of the table's code fingerprint
(:data:`edgelearn.ma2ml.table.TABLE_METHOD`); a table records its space, and loading it for a scale
compares that by value."""


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
        """From a (train, validation) pair such as :func:`edgelearn.core.data.train_val_split` returns."""
        black = ImageDataset(
            train.name,
            "black",
            torch.zeros(1, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8),
            torch.zeros(1, dtype=torch.int64),
            source="a black image",
        )
        return cls(
            train.as_float(),
            train.labels,
            val.as_float(),
            val.labels,
            fill=float(black.as_float().flatten()[0]),
            source=f"{train.name}: trained on {train.source}; validated on {val.source}",
        )


def load_table_data(
    config: TableConfig, data_dir: str | os.PathLike | None = None, download: bool | None = None
) -> TableData:
    """The data of ``config``: ``train_val_split(config.dataset, config.train_size, config.val_size, seed=0)``."""
    train, val = train_val_split(
        config.dataset, config.train_size, config.val_size, seed=0, data_dir=data_dir, download=download
    )
    return TableData.from_datasets(train, val)


def evaluate_pipeline(
    space: JointSpace,
    aug: int | str,
    arch: int | str,
    hpo: int | str,
    seed: int,
    config: TableConfig,
    data: TableData | tuple[ImageDataset, ImageDataset] | None = None,
) -> dict[str, Any]:
    """Train pipeline ``(aug, arch, hpo)`` of ``space`` once with ``seed`` and measure it.

    Training: :func:`build_network` ``(arch, seed)``, AdamW(lr, weight_decay) and cross-entropy,
    ``config.epochs`` epochs of :func:`edgelearn.core.fit.fit` over the training tensors in
    minibatches of the HPO batch size; the minibatch order comes from the generator of stream
    ``derive_seed("ma2ml", "shuffle", seed)``, and each minibatch is augmented with the generator
    of stream ``derive_seed("ma2ml", "augment", seed)``. ``data`` holds preloaded tensors
    (:class:`TableData`) or a (train, validation) pair of :class:`ImageDataset`; by default the
    data of ``config`` are loaded (:func:`load_table_data`). Runs with whatever number of torch
    threads is set; results are reproducible for a fixed thread count.

    Returns ``aug, arch, hpo`` (names), ``aug_idx, arch_idx, hpo_idx, seed``, ``val_accuracy``
    (the fraction of the validation images classified right after the last epoch),
    ``train_accuracy`` (on the augmented minibatches of the last epoch, before each step),
    ``flops, params`` (:func:`flops_and_params`) and ``train_seconds`` (training wall time,
    evaluation excluded).
    """
    if not isinstance(space, JointSpace):
        raise TypeError(f"'space' must be a JointSpace; got {type(space).__name__}")
    if not isinstance(config, TableConfig):
        raise TypeError(f"'config' must be a TableConfig; got {type(config).__name__}")
    a, n, h = space.index("aug", aug), space.index("arch", arch), space.index("hpo", hpo)
    aug_name, arch_name, hp = space.pipeline(a, n, h)
    seed = check_seed(seed)
    if data is None:
        data = load_table_data(config)
    elif isinstance(data, tuple) and len(data) == 2 and all(isinstance(d, ImageDataset) for d in data):
        data = TableData.from_datasets(*data)
    elif not isinstance(data, TableData):
        raise TypeError("'data' must be a TableData, a (train, val) pair of ImageDataset, or None")

    model = build_network(arch_name, seed).to(data.x_train.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    draws = torch_generator(derive_seed("ma2ml", "augment", seed))
    result = fit(
        model,
        data.x_train,
        data.y_train,
        optimizer,
        epochs=config.epochs,
        batch_size=hp.batch_size,
        generator=torch_generator(derive_seed("ma2ml", "shuffle", seed)),
        transform=lambda batch: augment(aug_name, batch, draws, fill=data.fill),
    )
    flops, params = flops_and_params(arch_name)
    return {
        "aug": aug_name,
        "arch": arch_name,
        "hpo": hp.name,
        "aug_idx": a,
        "arch_idx": n,
        "hpo_idx": h,
        "seed": seed,
        "val_accuracy": int((predict(model, data.x_val) == data.y_val).sum()) / len(data.y_val),
        "train_accuracy": result.train_accuracy,
        "flops": flops,
        "params": params,
        "train_seconds": result.train_seconds,
    }
