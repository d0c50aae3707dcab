r"""The CNN search space of TRL-HPO (Shaer et al. 2024, Table I) and the decoding of the actor's actions.

The substrate the agent acts on, read top to bottom:

1. **The space as data.** :class:`Layer` (a Conv, FC or MaxPool layer and its three
   hyper-parameters) and :class:`SearchSpace` (Table I's value lists), validated: an impossible
   setting raises ``ValueError`` naming the parameter and its valid values.
2. **Decoding.** :func:`decode_action` maps the actor's four outputs :math:`a \in [0, 1]^4` to a
   layer: :math:`a_0` picks the type (the first layer is a Conv; after an FC only FC may follow;
   otherwise :math:`a_0 < 1/3` Conv, :math:`< 2/3` FC, else MaxPool) and :math:`a_1, a_2, a_3`
   pick its hyper-parameters, each by splitting :math:`[0, 1]` into equal bins, one per value
   (no wrap-around, every value reachable with the same probability under a uniform action).
3. **Shapes, networks, costs.** :func:`output_sizes` propagates the 28x28 input through the layers
   and :func:`collapses` flags an architecture whose spatial size falls below 1, before any
   training; :func:`build_cnn` builds the network with a Linear head to 10 classes (initial
   weights under :func:`edgelearn.core.seeding.seeded`); :func:`flops_and_params` counts it with
   :mod:`edgelearn.core.costs`.

Training a candidate, the candidate cache and the pool are in :mod:`edgelearn.trl_hpo.candidates`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from edgelearn.core.costs import count_flops, count_params
from edgelearn.core.seeding import seeded

IMAGE_SIZE = 28
N_CLASSES = 10
N_ACTIONS = 4
"""The actor's output: a type choice and three hyper-parameter choices, each in [0, 1]."""
KINDS: tuple[str, ...] = ("conv", "fc", "pool")
ACTIVATIONS: tuple[str, ...] = ("none", "relu", "leakyrelu", "tanh", "sigmoid", "elu", "gelu")
_ACTIVATION_MODULES = {
    "relu": nn.ReLU,
    "leakyrelu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}
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
        for name, low in (
            ("conv_filters", 1),
            ("conv_kernel", 1),
            ("conv_stride", 1),
            ("fc_neurons", 1),
            ("pool_kernel", 1),
            ("pool_stride", 1),
            ("pool_padding", 0),
        ):
            object.__setattr__(self, name, _int_values(name, getattr(self, name), low))
        bias = self.fc_bias
        if (
            isinstance(bias, (str, bool))
            or not isinstance(bias, Sequence)
            or not bias
            or not all(isinstance(b, (bool, np.bool_)) for b in bias)
            or len(set(bias)) != len(bias)
        ):
            raise ValueError(f"'fc_bias' must be a non-empty sequence of distinct booleans; got {bias!r}")
        object.__setattr__(self, "fc_bias", tuple(bool(b) for b in bias))
        acts = self.fc_activation
        if (
            isinstance(acts, str)
            or not isinstance(acts, Sequence)
            or not acts
            or any(a not in ACTIVATIONS for a in acts)
            or len(set(acts)) != len(acts)
        ):
            raise ValueError(f"'fc_activation' must be distinct names from {list(ACTIVATIONS)}; got {acts!r}")
        object.__setattr__(self, "fc_activation", tuple(acts))
        if (
            isinstance(self.max_layers, bool)
            or not isinstance(self.max_layers, (int, np.integer))
            or not 1 <= self.max_layers <= 32
        ):
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
            raise ValueError(
                f"pool 'padding' must be at most kernel // 2 = {hp[0] // 2} (PyTorch's MaxPool2d "
                f"rule); got padding {hp[2]} with kernel {hp[0]}"
            )
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
        return {
            f.name: list(getattr(self, f.name)) if isinstance(getattr(self, f.name), tuple) else getattr(self, f.name)
            for f in dataclasses.fields(self)
        }


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


def decode_action(
    action: Sequence[float] | torch.Tensor | np.ndarray, previous: str | None, space: SearchSpace
) -> Layer:
    """Map the actor's output :math:`a \\in [0, 1]^4` to a layer (paper Section IV; our binning).

    :math:`a_0` picks the type (:func:`layer_type`); :math:`a_1, a_2, a_3` pick the three
    hyper-parameters of :data:`HP_NAMES` by equal-width bins. A MaxPool padding larger than half
    its kernel (which PyTorch refuses) is lowered to ``kernel // 2``.
    """
    a = np.asarray(action.detach().cpu() if isinstance(action, torch.Tensor) else action, dtype=np.float64)
    if a.shape != (N_ACTIONS,) or not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
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
    with seeded(int(seed)):
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
