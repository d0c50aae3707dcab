r"""The CNN search space of TRL-HPO (Shaer et al., Table I), action decoding, and candidate training.

The module reads top to bottom:

1. **The space as data.** :class:`Layer` (a Conv, FC or MaxPool layer and its three
   hyper-parameters) and :class:`SearchSpace` (Table I's value lists), validated: an impossible
   setting raises ``ValueError`` naming the parameter and its valid values.
2. **Decoding.** :func:`decode_action` maps the actor's four outputs :math:`a \in [0, 1]^4` to a
   layer: :math:`a_0` picks the type (the first layer is a Conv; after an FC only FC may follow;
   otherwise :math:`a_0 < 1/3` Conv, :math:`< 2/3` FC, else MaxPool) and :math:`a_1, a_2, a_3`
   pick its hyper-parameters, each by splitting :math:`[0, 1]` into equal bins, one per value
   (no wrap-around, every value reachable with the same probability under a uniform action).
3. **Shapes and networks.** :func:`output_sizes` propagates the 28x28 input through the layers and
   :func:`collapses` flags an architecture whose spatial size falls below 1, before any training;
   :func:`build_cnn` builds the network with a Linear head to 10 classes;
   :func:`flops_and_params` counts it with :class:`torch.utils.flop_counter.FlopCounterMode`.
4. **Training a candidate.** :class:`TrainConfig` (with the ``device``: ``"cpu"``, ``"cuda"`` or
   ``"auto"``, see :func:`resolve_device`), :class:`CandidateData` (tensors, never a DataLoader)
   and :func:`evaluate_candidate`, which trains from scratch on a seeded permutation and returns
   the accuracy on each of the 32 validation batches of 16 images that TRL-HPO's state uses.
5. **Cache and executors.** :class:`CandidateCache` (keyed by architecture, training config and
   seed: the paper's open challenge A) and the pluggable executors :class:`SerialExecutor`,
   :class:`ProcessExecutor` and :class:`RayExecutor`, with :func:`evaluate_many` gluing them.
   Each keeps its copy of the data on the training device once, not once per candidate.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
import pickle
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgelearn.costs import count_flops, count_params
from edgelearn.data import train_val_split

IMAGE_SIZE = 28
N_CLASSES = 10
KINDS: tuple[str, ...] = ("conv", "fc", "pool")
ACTIVATIONS: tuple[str, ...] = ("none", "relu", "leakyrelu", "tanh", "sigmoid", "elu", "gelu")
_ACTIVATION_MODULES = {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                       "elu": nn.ELU, "gelu": nn.GELU}
HP_NAMES: dict[str, tuple[str, str, str]] = {
    "conv": ("filters", "kernel", "stride"),
    "fc": ("neurons", "bias", "activation"),
    "pool": ("kernel", "stride", "padding"),
}
"""The three hyper-parameters of each layer type, in the order the actor's a1, a2, a3 pick them."""


# --------------------------------------------------------------------------------------------
# 1. The space as data
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Layer:
    """One generated layer: ``kind`` in :data:`KINDS` and its three hyper-parameters (:data:`HP_NAMES`)."""

    kind: str
    hp: tuple[Any, Any, Any]

    def __str__(self) -> str:
        if self.kind == "conv":
            return f"C{self.hp[0]}k{self.hp[1]}s{self.hp[2]}"
        if self.kind == "fc":
            return f"F{self.hp[0]}{'b' if self.hp[1] else ''}-{self.hp[2]}"
        return f"P{self.hp[0]}s{self.hp[1]}p{self.hp[2]}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dict(zip(HP_NAMES[self.kind], self.hp))}


Architecture = tuple[Layer, ...]


def arch_name(arch: Sequence[Layer]) -> str:
    """A readable, unique name, e.g. ``"C32k3s1|P2s2p0|F64b-relu"`` (the cache's architecture key)."""
    return "|".join(str(layer) for layer in arch)


def _int_values(name: str, values: Any, low: int) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"'{name}' must be a non-empty sequence of integers >= {low}; got {values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"'{name}' must hold integers >= {low}; got {v!r} in {list(values)}")
        out.append(int(v))
    if len(set(out)) != len(out) or out != sorted(out):
        raise ValueError(f"'{name}' must be strictly increasing without duplicates; got {out}")
    return tuple(out)


@dataclass(frozen=True)
class SearchSpace:
    """Table I of the paper as data; every field is the tuple of values a hyper-parameter may take.

    Defaults follow Table I: Conv filters 8, 16, ..., 128, kernel {3, 5, 7}, stride {1, 2, 3};
    FC neurons 16, 24, ..., 512, bias {True, False}, activation {None, relu, leakyrelu, tanh,
    sigmoid, elu, gelu}; MaxPool kernel 2..8, stride {1, 2, 3}, padding {0, 1, 2, 3}. (The
    authors' code stops at 120 filters, 504 neurons and kernel 7.) At most ``max_layers`` layers.
    """

    conv_filters: tuple[int, ...] = tuple(range(8, 129, 8))
    conv_kernel: tuple[int, ...] = (3, 5, 7)
    conv_stride: tuple[int, ...] = (1, 2, 3)
    fc_neurons: tuple[int, ...] = tuple(range(16, 513, 8))
    fc_bias: tuple[bool, ...] = (True, False)
    fc_activation: tuple[str, ...] = ACTIVATIONS
    pool_kernel: tuple[int, ...] = tuple(range(2, 9))
    pool_stride: tuple[int, ...] = (1, 2, 3)
    pool_padding: tuple[int, ...] = (0, 1, 2, 3)
    max_layers: int = 6

    def __post_init__(self) -> None:
        for name, low in (("conv_filters", 1), ("conv_kernel", 1), ("conv_stride", 1), ("fc_neurons", 1),
                          ("pool_kernel", 1), ("pool_stride", 1), ("pool_padding", 0)):
            object.__setattr__(self, name, _int_values(name, getattr(self, name), low))
        bias = self.fc_bias
        if isinstance(bias, (str, bool)) or not isinstance(bias, Sequence) or not bias \
                or not all(isinstance(b, (bool, np.bool_)) for b in bias) or len(set(bias)) != len(bias):
            raise ValueError(f"'fc_bias' must be a non-empty sequence of distinct booleans; got {bias!r}")
        object.__setattr__(self, "fc_bias", tuple(bool(b) for b in bias))
        acts = self.fc_activation
        if isinstance(acts, str) or not isinstance(acts, Sequence) or not acts \
                or any(a not in ACTIVATIONS for a in acts) or len(set(acts)) != len(acts):
            raise ValueError(f"'fc_activation' must be distinct names from {list(ACTIVATIONS)}; got {acts!r}")
        object.__setattr__(self, "fc_activation", tuple(acts))
        if isinstance(self.max_layers, bool) or not isinstance(self.max_layers, (int, np.integer)) \
                or not 1 <= self.max_layers <= 32:
            raise ValueError(f"'max_layers' must be an integer in 1..32; got {self.max_layers!r}")

    def values(self, kind: str) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
        """The value lists of the three hyper-parameters of layer type ``kind``."""
        if kind not in KINDS:
            raise ValueError(f"'kind' must be one of {list(KINDS)}; got {kind!r}")
        return tuple(getattr(self, f"{kind}_{name}") for name in HP_NAMES[kind])  # type: ignore[return-value]

    def layer(self, kind: str, *hp: Any) -> Layer:
        """A validated :class:`Layer`; a value outside the space raises naming the parameter and its range."""
        lists = self.values(kind)
        if len(hp) != 3:
            raise ValueError(f"a {kind} layer takes 3 hyper-parameters {HP_NAMES[kind]}; got {hp!r}")
        for name, value, allowed in zip(HP_NAMES[kind], hp, lists):
            if value not in allowed or type(value) is bool and not isinstance(allowed[0], bool):
                shown = f"{allowed[0]}..{allowed[-1]} ({len(allowed)} values)" if len(allowed) > 8 else list(allowed)
                raise ValueError(f"{kind} '{name}' must be one of {shown}; got {value!r}")
        if kind == "pool" and hp[2] > hp[0] // 2:
            raise ValueError(f"pool 'padding' must be at most kernel // 2 = {hp[0] // 2} (PyTorch's MaxPool2d "
                             f"rule); got padding {hp[2]} with kernel {hp[0]}")
        return Layer(kind, tuple(hp))  # type: ignore[arg-type]

    def check(self, arch: Sequence[Layer]) -> Architecture:
        """Validate a whole architecture: values in the space, order rules, at most ``max_layers``."""
        arch = tuple(arch)
        if not 1 <= len(arch) <= self.max_layers:
            raise ValueError(f"an architecture has 1..{self.max_layers} layers; got {len(arch)}")
        for i, layer in enumerate(arch):
            self.layer(layer.kind, *layer.hp)
            if i == 0 and layer.kind != "conv":
                raise ValueError(f"the first layer must be a conv layer; got {layer.kind!r}")
            if i > 0 and arch[i - 1].kind == "fc" and layer.kind != "fc":
                raise ValueError(f"only fc layers may follow an fc layer; layer {i} is {layer.kind!r}")
        return arch

    def describe(self) -> dict[str, Any]:
        return {f.name: list(getattr(self, f.name)) if isinstance(getattr(self, f.name), tuple)
                else getattr(self, f.name) for f in dataclasses.fields(self)}


# --------------------------------------------------------------------------------------------
# 2. Decoding the actor's output
# --------------------------------------------------------------------------------------------

def _pick(values: Sequence[Any], a: float) -> Any:
    """The value of ``values`` whose equal-width bin of [0, 1] holds ``a`` (a = 1 is the last bin)."""
    return values[min(int(a * len(values)), len(values) - 1)]


def layer_type(a0: float, previous: str | None) -> str:
    """The layer type chosen by :math:`a_0` after a layer of type ``previous`` (None: the first layer)."""
    if previous is None:
        return "conv"
    if previous == "fc":
        return "fc"
    return "conv" if a0 < 1 / 3 else ("fc" if a0 < 2 / 3 else "pool")


def decode_action(action: Sequence[float] | torch.Tensor | np.ndarray, previous: str | None,
                  space: SearchSpace) -> Layer:
    """Map the actor's output :math:`a \\in [0, 1]^4` to a layer (paper Section IV; our binning).

    :math:`a_0` picks the type (:func:`layer_type`); :math:`a_1, a_2, a_3` pick the three
    hyper-parameters of :data:`HP_NAMES` by equal-width bins. A MaxPool padding larger than half
    its kernel (which PyTorch refuses) is lowered to ``kernel // 2``.
    """
    a = np.asarray(action.detach().cpu() if isinstance(action, torch.Tensor) else action, dtype=np.float64)
    if a.shape != (4,) or not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
        raise ValueError(f"'action' must be 4 numbers in [0, 1]; got {a.tolist()}")
    kind = layer_type(float(a[0]), previous)
    hp = [_pick(values, float(x)) for values, x in zip(space.values(kind), a[1:])]
    if kind == "pool":
        allowed = [p for p in space.pool_padding if p <= hp[0] // 2]
        hp[2] = min(hp[2], max(allowed)) if allowed else hp[2]
    return space.layer(kind, *hp)


# --------------------------------------------------------------------------------------------
# 3. Shapes, networks, costs
# --------------------------------------------------------------------------------------------

def output_sizes(arch: Sequence[Layer], size: int = IMAGE_SIZE) -> list[int]:
    """Spatial size after each layer (0 once collapsed; FC layers keep the last spatial size).

    Conv layers are unpadded: :math:`\\lfloor (H - k)/s \\rfloor + 1`; MaxPool:
    :math:`\\lfloor (H + 2p - k)/s \\rfloor + 1`.
    """
    out, h = [], size
    for layer in arch:
        if layer.kind == "conv":
            k, s, p = layer.hp[1], layer.hp[2], 0
        elif layer.kind == "pool":
            k, s, p = layer.hp[0], layer.hp[1], layer.hp[2]
        else:
            out.append(h)
            continue
        h = (h + 2 * p - k) // s + 1 if h + 2 * p >= k and h > 0 else 0
        out.append(h)
    return out


def collapses(arch: Sequence[Layer]) -> bool:
    """True when a Conv or MaxPool would receive a map smaller than its kernel (size < 1): the
    architecture cannot be built and gets the paper's penalty instead of training."""
    return any(h < 1 for h in output_sizes(arch))


class MaxPool2dChannelsLast(nn.MaxPool2d):
    """``nn.MaxPool2d`` computed in the channels-last layout, where PyTorch's CPU kernel vectorises over
    channels: the same maxima, 5-7x faster for the large kernels with stride 1 the search space allows
    (a 7x7, stride-1 pool after 112 filters took 90 % of a candidate's training time in NCHW)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.contiguous(memory_format=torch.channels_last))  # later layers accept it


def build_cnn(arch: Sequence[Layer], seed: int = 0, fast: bool = True) -> nn.Sequential:
    """The CNN of ``arch`` followed by a Linear head to 10 classes; initial weights fixed by ``seed``.

    Conv2d (no padding) is followed by ReLU (the paper does not say; our choice); an FC layer is
    Linear(bias) with its activation ("none": identity), with a Flatten before the first one.
    With ``fast`` (the default), the same function is computed faster on CPU: max-pools run in the
    channels-last layout (:class:`MaxPool2dChannelsLast`) and a conv's ReLU moves after the pools that
    follow it (max commutes with a monotone function); ``fast=False`` builds the textbook order
    conv -> ReLU -> pool with ``nn.MaxPool2d``, with the same weights. Raises ``ValueError`` for a
    collapsed architecture.
    """
    if collapses(arch):
        raise ValueError(f"architecture {arch_name(arch)} collapses (spatial sizes {output_sizes(arch)})")
    layers: list[nn.Module] = []
    channels, size, flat = 1, IMAGE_SIZE, None
    pool = MaxPool2dChannelsLast if fast else nn.MaxPool2d
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        kinds = [layer.kind for layer in arch] + ["head"]
        for i, (layer, h) in enumerate(zip(arch, output_sizes(arch))):
            if layer.kind in ("conv", "pool"):
                if layer.kind == "conv":
                    layers.append(nn.Conv2d(channels, layer.hp[0], layer.hp[1], stride=layer.hp[2]))
                    channels = layer.hp[0]
                else:
                    layers.append(pool(layer.hp[0], stride=layer.hp[1], padding=layer.hp[2]))
                size = h
                # fast: ReLU after the last of the pools that follow a conv (every pool follows a conv)
                if (layer.kind == "conv" and not fast) or (fast and kinds[i + 1] != "pool"):
                    layers.append(nn.ReLU())
            else:
                if flat is None:
                    layers.append(nn.Flatten())
                    flat = channels * size * size
                layers.append(nn.Linear(flat, layer.hp[0], bias=layer.hp[1]))
                if layer.hp[2] != "none":
                    layers.append(_ACTIVATION_MODULES[layer.hp[2]]())
                flat = layer.hp[0]
        if flat is None:
            layers.append(nn.Flatten())
            flat = channels * size * size
        layers.append(nn.Linear(flat, N_CLASSES))
        return nn.Sequential(*layers)


def flops_and_params(arch: Sequence[Layer]) -> tuple[int, int]:
    """Forward FLOPs on one 1x1x28x28 image (FlopCounterMode: 2 per multiply-add) and parameters."""
    net = build_cnn(arch)
    return count_flops(net, (1, IMAGE_SIZE, IMAGE_SIZE)), count_params(net)


# --------------------------------------------------------------------------------------------
# 4. Training one candidate
# --------------------------------------------------------------------------------------------

_DEVICE_PATTERN = re.compile(r"cpu|auto|cuda(:\d+)?")


def check_device(device: str) -> str:
    """``device`` if it is ``"cpu"``, ``"auto"``, ``"cuda"`` or ``"cuda:<index>"``, else ``ValueError``."""
    if not isinstance(device, str) or not _DEVICE_PATTERN.fullmatch(device):
        raise ValueError(f"'device' must be 'cpu', 'auto', 'cuda' or 'cuda:<index>'; got {device!r}")
    return device


def resolve_device(device: str) -> torch.device:
    """The torch device of a :class:`TrainConfig` ``device`` string.

    ``"cpu"`` touches no CUDA API; ``"auto"`` is ``cuda`` when ``torch.cuda.is_available()``, else
    ``cpu``; ``"cuda"`` / ``"cuda:<i>"`` without a visible GPU raise ``ValueError``. Resolving
    creates no CUDA context (``torch.cuda.is_available`` only counts devices), so the parent of a
    spawned pool may call it; the tensors go to the GPU inside the workers.
    """
    check_device(device)
    if device == "cpu":
        return torch.device("cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"'device' is {device!r} but torch.cuda.is_available() is False; use 'cpu' or 'auto'")
    return torch.device(device)


@dataclass(frozen=True)
class TrainConfig:
    """How a candidate is trained: ``n_train`` images, ``epochs``, minibatches of ``batch_size``,
    Adam(``lr``); scored on ``perf_batches`` validation batches of ``perf_batch_size`` images
    (the paper: 20,000 images, 5 epochs, batch 16, Adam 1e-3, 32 batches of 16), on ``device``
    (:func:`resolve_device`: ``"cpu"``, the default and the smoke and laptop scales' choice, gives
    bit-identical results run to run; ``"auto"`` takes a GPU when there is one)."""

    n_train: int = 20_000
    n_val: int = 10_000
    epochs: int = 5
    batch_size: int = 16
    lr: float = 1e-3
    perf_batches: int = 32
    perf_batch_size: int = 16
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("n_train", "n_val", "epochs", "batch_size", "perf_batches", "perf_batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"'{name}' must be an integer >= 1; got {v!r}")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise ValueError(f"'lr' must lie in (0, 1); got {self.lr!r}")
        if self.perf_batches * self.perf_batch_size > self.n_val:
            raise ValueError(f"'perf_batches' x 'perf_batch_size' = {self.perf_batches * self.perf_batch_size} "
                             f"must be <= 'n_val' = {self.n_val}")
        check_device(self.device)

    def key_fields(self) -> dict[str, Any]:
        """The fields that identify a result: all but ``device``, plus the resolved device type when
        it is not the CPU (a GPU computes slightly different numbers; CPU keys are those of before
        the field existed, so existing caches stay valid)."""
        fields = dataclasses.asdict(self)
        kind = resolve_device(fields.pop("device")).type
        return fields if kind == "cpu" else fields | {"device": kind}

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.key_fields(), sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True, eq=False)
class CandidateData:
    """Normalised float tensors (N, 1, 28, 28) and labels for training and validation."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    source: str

    def on(self, device: torch.device) -> bool:
        """Whether all four tensors live on ``device`` (``cuda`` without index: the current GPU)."""
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        return all(t.device == device for t in (self.x_train, self.y_train, self.x_val, self.y_val))

    def to(self, device: torch.device | str) -> CandidateData:
        """These data on ``device`` (``self`` when they are there already: no copy on the CPU)."""
        device = torch.device(device)
        if self.on(device):
            return self
        return dataclasses.replace(self, x_train=self.x_train.to(device), y_train=self.y_train.to(device),
                                   x_val=self.x_val.to(device), y_val=self.y_val.to(device))


def load_candidate_data(config: TrainConfig, split_seed: int = 0, data_dir: str | None = None,
                        download: bool | None = False) -> CandidateData:
    """MNIST through :func:`edgelearn.data.train_val_split` (offline: both parts from the 10k test set)."""
    train, val = train_val_split("mnist", config.n_train, config.n_val, seed=split_seed, data_dir=data_dir,
                                 download=download)
    return CandidateData(train.as_float(), train.labels, val.as_float(), val.labels,
                         source=f"mnist: train {train.source}; validation {val.source}")


def _seed_for(seed: int, arch: Sequence[Layer]) -> int:
    digest = hashlib.sha256(f"trl-hpo/{seed}/{arch_name(arch)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def evaluate_candidate(arch: Sequence[Layer], data: CandidateData, config: TrainConfig, seed: int) -> dict[str, Any]:
    """Train ``arch`` from scratch and score it (the environment step of TRL-HPO, Fig. 1).

    Training: ``config.epochs`` passes over the training tensors in a ``torch.randperm`` order
    (generator seeded from ``seed`` and the architecture), minibatches of ``config.batch_size``,
    Adam and cross-entropy. Scoring: accuracy on each of ``perf_batches`` consecutive batches of
    ``perf_batch_size`` validation images (the state's 32 values; one forward pass for all of them)
    and on the whole validation split. Runs on one torch thread, so results do not depend on the
    process that ran them. Returns ``perf`` (list), ``accuracy`` (mean of ``perf``),
    ``val_accuracy``, ``train_seconds``, ``flops``, ``params`` (plain Python numbers).

    Device (``config.device``, :func:`resolve_device`): model, data, minibatch indexing and
    validation all run there; the permutation is drawn on the CPU by the seeded generator and moved
    once per epoch. ``data`` not yet on the device are copied here (executors pass data they moved
    once per worker). On the CPU the network is :func:`build_cnn`'s ``fast`` one (channels-last
    max-pools); on a GPU it is the textbook conv -> ReLU -> ``nn.MaxPool2d`` order (``fast=False``),
    the same function with the same initial weights, since the channels-last pool is a CPU-kernel
    optimisation and would switch the following convolutions to channels-last on cuDNN. GPU results
    agree with CPU ones only up to floating-point reordering (and cuDNN need not be bitwise
    deterministic), so the cache keys them apart (:meth:`TrainConfig.key_fields`).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        device = resolve_device(config.device)
        data = data.to(device)
        run_seed = _seed_for(seed, arch)
        model = build_cnn(arch, run_seed, fast=device.type == "cpu").to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)  # one kernel per step: ~1.2x on CPU
        order_rng = torch.Generator().manual_seed(run_seed)
        x, y = data.x_train[:config.n_train], data.y_train[:config.n_train]
        start = time.perf_counter()
        model.train()
        for _ in range(config.epochs):
            order = torch.randperm(len(y), generator=order_rng).to(device)
            for first in range(0, len(y), config.batch_size):
                idx = order[first:first + config.batch_size]
                loss = F.cross_entropy(model(x[idx]), y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # kernels run asynchronously: time them to the end
        train_seconds = time.perf_counter() - start
        model.eval()
        with torch.inference_mode():
            n_perf = config.perf_batches * config.perf_batch_size
            pred = torch.cat([model(data.x_val[i:i + 1024]).argmax(1) for i in range(0, len(data.y_val), 1024)])
            hit = (pred == data.y_val).float()
            perf = hit[:n_perf].reshape(config.perf_batches, config.perf_batch_size).mean(1).cpu()
            val_accuracy = float(hit.mean())
        flops, params = flops_and_params(arch)
        return {"perf": [float(v) for v in perf], "accuracy": float(perf.mean()),
                "val_accuracy": val_accuracy, "train_seconds": train_seconds, "flops": flops,
                "params": params}
    finally:
        torch.set_num_threads(previous)


# --------------------------------------------------------------------------------------------
# 5. The cache and the executors
# --------------------------------------------------------------------------------------------

class CandidateCache:
    """Results keyed by (architecture, training config, data split, seed): no architecture is
    trained twice at the same scale and seed (the paper's open challenge A, a hash table).

    ``path``: an optional pickle file loaded at start and written by :meth:`save`.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.store: dict[str, dict[str, Any]] = {}
        self.hits = self.misses = 0
        if self.path is not None and self.path.is_file():
            self.store = pickle.loads(self.path.read_bytes())

    @staticmethod
    def key(arch: Sequence[Layer], config: TrainConfig, seed: int, data_tag: str = "") -> str:
        return f"{arch_name(arch)}#{config.key()}#{data_tag}#{seed}"

    def __len__(self) -> int:
        return len(self.store)

    def __contains__(self, key: str) -> bool:
        return key in self.store

    def get(self, key: str) -> dict[str, Any] | None:
        return self.store.get(key)

    def put(self, key: str, result: dict[str, Any]) -> None:
        self.store[key] = result

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(self.store))
        os.replace(tmp, self.path)


class Executor(Protocol):
    """Runs independent candidate evaluations and returns their results in order."""

    def map(self, archs: Sequence[Architecture], config: TrainConfig, seed: int) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


def _data_on_device(store: dict[str, Any], data: CandidateData, device: str) -> CandidateData:
    """``data`` on the device of ``device``, copied there once and kept in ``store`` (one device at a time)."""
    target = resolve_device(device)
    if target.type == "cpu":
        return data.to(target)
    if store.get("device") != str(target):
        store.pop("data", None)  # free the previous device's copy first
        store["data"], store["device"] = data.to(target), str(target)
    return store["data"]


class SerialExecutor:
    """Evaluates candidates one after the other in this process (on a GPU: data moved there once)."""

    def __init__(self, data: CandidateData) -> None:
        self.data = data
        self._moved: dict[str, Any] = {}

    def map(self, archs: Sequence[Architecture], config: TrainConfig, seed: int) -> list[dict[str, Any]]:
        data = _data_on_device(self._moved, self.data, config.device)
        return [evaluate_candidate(a, data, config, seed) for a in archs]

    def close(self) -> None:
        self._moved.clear()


_WORKER: dict[str, Any] = {}


def _worker_init(data: CandidateData) -> None:
    torch.set_num_threads(1)
    _WORKER["data"] = data


def _worker_ready(_: int) -> bool:
    return "data" in _WORKER


def _worker_eval(arch: Architecture, config: TrainConfig, seed: int) -> dict[str, Any]:
    moved = _WORKER.setdefault("moved", {})
    return evaluate_candidate(arch, _data_on_device(moved, _WORKER["data"], config.device), config, seed)


class ProcessExecutor:
    """A local pool of ``workers`` spawned processes, each holding the data tensors once.

    With a CUDA device the workers share the GPU: each moves its copy of the data there at its first
    candidate and keeps it (one CUDA context and one data copy per worker). The ``spawn`` start
    method means CUDA is initialised only inside the workers, never in a process that later forks;
    the parent hands them CPU tensors and itself at most asks ``torch.cuda.is_available()``.
    """

    def __init__(self, data: CandidateData, workers: int = 2) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"'workers' must be an integer >= 1; got {workers!r}")
        self.pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init, initargs=(data,))
        list(self.pool.map(_worker_ready, range(workers)))  # start the workers now, not inside a timed search

    def map(self, archs: Sequence[Architecture], config: TrainConfig, seed: int) -> list[dict[str, Any]]:
        futures = [self.pool.submit(_worker_eval, a, config, seed) for a in archs]
        return [f.result() for f in futures]

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


_RAY_WORKER: dict[str, Any] = {}


def _ray_eval(arch: Architecture, config: TrainConfig, seed: int, boxed_ref: list[Any]) -> dict[str, Any]:
    """A Ray task: the data ref comes boxed in a list (Ray does not resolve it), so that each Ray
    worker process fetches the data, and moves them to the device, once and not per task."""
    import ray

    ref = boxed_ref[0]
    if _RAY_WORKER.get("ref") != ref.hex():
        _RAY_WORKER.clear()
        _RAY_WORKER.update(ref=ref.hex(), data=ray.get(ref), moved={})
    return evaluate_candidate(arch, _data_on_device(_RAY_WORKER["moved"], _RAY_WORKER["data"], config.device),
                              config, seed)


def ray_task_options(device: str, workers: int | None = None, gpus_per_task: float | None = None) -> dict[str, Any]:
    """Resources of one Ray candidate task: one CPU, plus ``gpus_per_task`` GPUs (default
    ``1 / workers``, so ``workers`` tasks share a GPU) only when ``device`` is a CUDA device; an
    ``"auto"`` device counts as CUDA when this (driver) process sees a GPU."""
    check_device(device)
    wants_gpu = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if not wants_gpu:
        return {"num_cpus": 1}
    share = gpus_per_task if gpus_per_task is not None else 1.0 / max(int(workers or 1), 1)
    if not 0 < share <= 1:
        raise ValueError(f"'gpus_per_task' must lie in (0, 1]; got {share!r}")
    return {"num_cpus": 1, "num_gpus": share}


class RayExecutor:
    """Ray tasks (one CPU each) on a running Ray instance, or a local one started with ``num_cpus``;
    the data go to Ray's object store once, and to each Ray worker (and its device) once. On a
    cluster, call ``ray.init(address=...)`` first. With a CUDA device (or ``"auto"`` on a driver
    that sees a GPU) each task also requests ``gpus_per_task`` GPUs, by default ``1 / num_cpus``
    (:func:`ray_task_options`), and its config goes out with the concrete device; Ray starts its
    workers as fresh processes, so CUDA is initialised only inside them."""

    def __init__(self, data: CandidateData, num_cpus: int | None = None, gpus_per_task: float | None = None) -> None:
        import ray

        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        self.num_cpus, self.gpus_per_task = num_cpus, gpus_per_task
        self.remote = ray.remote(num_cpus=1)(_ray_eval)
        self.data_ref = ray.put(data)

    def map(self, archs: Sequence[Architecture], config: TrainConfig, seed: int) -> list[dict[str, Any]]:
        options = ray_task_options(config.device, self.num_cpus, self.gpus_per_task)
        if config.device == "auto":  # resolved here, where the GPU request is decided
            config = dataclasses.replace(config, device="cuda" if "num_gpus" in options else "cpu")
        remote = self.remote.options(**options) if "num_gpus" in options else self.remote
        return self.ray.get([remote.remote(a, config, seed, [self.data_ref]) for a in archs])

    def close(self) -> None:
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()


def make_executor(backend: str, data: CandidateData, workers: int = 1) -> Executor:
    """``"serial"``, ``"process"`` (a spawned pool of ``workers``) or ``"ray"`` (``num_cpus=workers``;
    on a CUDA device each task requests ``1 / workers`` GPUs). The device comes with each
    :class:`TrainConfig`; ``data`` stay on the CPU here and are moved inside the workers."""
    if backend == "serial" or (backend == "process" and workers == 1):
        return SerialExecutor(data)
    if backend == "process":
        return ProcessExecutor(data, workers)
    if backend == "ray":
        return RayExecutor(data, workers)
    raise ValueError(f"'backend' must be one of ['serial', 'process', 'ray']; got {backend!r}")


def evaluate_many(archs: Sequence[Architecture], executor: Executor, cache: CandidateCache,
                  config: TrainConfig, seed: int, data_tag: str = "") -> tuple[list[dict[str, Any]], list[bool]]:
    """Results of ``archs`` in order, training each distinct uncached architecture once, in parallel.

    Returns the results and, per entry, whether it was trained now (False: from the cache or a
    duplicate within the batch). Collapsed architectures must be filtered out before.
    """
    keys = [CandidateCache.key(a, config, seed, data_tag) for a in archs]
    todo: dict[str, Architecture] = {}
    for k, a in zip(keys, archs):
        if k in cache:
            cache.hits += 1
        elif k not in todo:
            todo[k] = tuple(a)
    if todo:
        results = executor.map(list(todo.values()), config, seed)
        for k, r in zip(todo, results):
            cache.put(k, r)
            cache.misses += 1
    trained, seen = [], set()
    for k in keys:
        trained.append(k in todo and k not in seen)
        seen.add(k)
    return [cache.get(k) for k in keys], trained  # type: ignore[misc]
