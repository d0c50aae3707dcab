"""OD3's policy networks: largenet and smallnet in three layouts, and PolicyNetGenerator (Algorithm 1, line 1).

The paper's *largenet* (conv 32-64-64, fc 512) is the cloud teacher, its *smallnet* (conv 16-16-16,
fc 128) the edge student. :data:`LAYOUTS`: Nature-DQN convolutions for 84x84 Atari frames, 3x3
convolutions for MinAtar's 10x10 maps, a two-layer MLP for vector observations (CartPole).
:class:`PolicyNetGenerator` returns the largest network of a family that fits a budget of
parameters or FLOPs; :func:`paper_count` reproduces the paper's parameter counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgelearn.core.costs import count_flops, count_params
from edgelearn.core.seeding import seeded
from edgelearn.od3.envs import env_spaces

LAYOUTS = ("atari", "minatar", "mlp")
LARGENET: dict[str, tuple[int, ...]] = {"atari": (32, 64, 64, 512), "minatar": (32, 64, 64, 512), "mlp": (256, 256)}
"""The cloud teacher's widths per layout (conv filters..., fc units)."""
SMALLNET: dict[str, tuple[int, ...]] = {"atari": (16, 16, 16, 128), "minatar": (16, 16, 16, 128), "mlp": (64, 64)}
"""The edge student's widths per layout."""


class QNet(nn.Module):
    """A Q-network: three convolutions and two fully connected layers (ReLU between), or an MLP.

    ``atari``: Nature-DQN convolutions 8x8/4, 4x4/2, 3x3/1 on 84x84 uint8 frames (scaled by 1/255);
    ``minatar``: three 3x3/1 convolutions on 10x10 maps; ``mlp``: hidden layers of ``widths``.
    """

    def __init__(self, layout: str, widths: tuple[int, ...], obs_shape: tuple[int, ...], n_actions: int) -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"'layout' must be one of {LAYOUTS}, got {layout!r}")
        if any(int(w) < 1 for w in widths):
            raise ValueError(f"'widths' must be positive, got {widths}")
        self.layout, self.widths, self.scale = layout, tuple(int(w) for w in widths), 1.0
        if layout == "mlp":
            sizes = (int(np.prod(obs_shape)), *self.widths)
            layers: list[nn.Module] = [nn.Flatten()]
            for a, b in zip(sizes[:-1], sizes[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            self.body = nn.Sequential(*layers)
        else:
            if len(self.widths) != 4:
                raise ValueError(f"a convolutional layout needs 4 widths (3 conv, 1 fc), got {widths}")
            c1, c2, c3, fc = self.widths
            kernels = ((8, 4), (4, 2), (3, 1)) if layout == "atari" else ((3, 1), (3, 1), (3, 1))
            self.scale = 1 / 255 if layout == "atari" else 1.0
            convs: list[nn.Module] = []
            for cin, cout, (k, s) in zip((obs_shape[0], c1, c2), (c1, c2, c3), kernels):
                convs += [nn.Conv2d(cin, cout, k, s), nn.ReLU()]
            convs.append(nn.Flatten())
            with torch.no_grad():
                flat = nn.Sequential(*convs)(torch.zeros(1, *obs_shape)).shape[1]
            self.body = nn.Sequential(*convs, nn.Linear(flat, fc), nn.ReLU())
        self.head = nn.Linear(self.widths[-1], n_actions)
        # the body's convolutions (no padding) and fully connected layers, in order, for forward (plain tuples:
        # the modules stay registered once, in body)
        self._convs = tuple(m for m in self.body if isinstance(m, nn.Conv2d))
        self._fcs = tuple(m for m in self.body if isinstance(m, nn.Linear))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float() * self.scale if self.scale != 1.0 else obs.float()
        # each layer's own operation, called directly: the arithmetic of calling the modules of ``body`` in
        # turn, without nn.Module's per-call bookkeeping or a per-layer type test (together about a tenth of a
        # small network's training time on one CPU thread)
        for conv in self._convs:
            x = F.relu(F.conv2d(x, conv.weight, conv.bias, conv.stride))
        x = x.flatten(1)
        for fc in self._fcs:
            x = F.relu(F.linear(x, fc.weight, fc.bias))
        return F.linear(x, self.head.weight, self.head.bias)


def paper_count(widths: tuple[int, ...], n_actions: int = 6) -> int:
    """A layout that reproduces the paper's parameter counts (6,716,748 and 432,492, Table 3).

    Nature-DQN kernels on 80x80x4 frames with TensorFlow's ``same`` padding (feature maps 20, 10, 10)
    give 3,358,374 and 216,246 parameters per network; the paper's counts are exactly twice these,
    as if the online and the target network were both counted. Our reading, not stated by the paper.
    """
    c1, c2, c3, fc = widths
    net = nn.Sequential(
        nn.Conv2d(4, c1, 8, 4, padding=2),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 4, 2, padding=1),
        nn.ReLU(),
        nn.Conv2d(c2, c3, 3, 1, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(c3 * 10 * 10, fc),
        nn.ReLU(),
        nn.Linear(fc, n_actions),
    )
    assert net[:6](torch.zeros(1, 4, 80, 80)).shape[2:] == (10, 10)
    return 2 * count_params(net)


@dataclass(frozen=True)
class PolicyNetGenerator:
    """Algorithm 1, line 1: the largest network of a family that fits a resource budget ``R``.

    The family scales the teacher's widths by a multiplier (each width rounded, at least 1); the
    candidates are tried from the largest down and the first that fits is returned.
    """

    layout: str
    obs_shape: tuple[int, ...]
    n_actions: int
    base: tuple[int, ...] | None = None  # widths at multiplier 1 (default: largenet of the layout)
    multipliers: tuple[float, ...] = (1.0, 0.75, 0.5, 0.375, 0.25, 0.1875, 0.125, 0.0625, 0.03125)

    def widths(self, multiplier: float) -> tuple[int, ...]:
        base = self.base or LARGENET[self.layout]
        return tuple(max(1, round(w * multiplier)) for w in base)

    def candidates(self) -> list[tuple[tuple[int, ...], int, int]]:
        """``(widths, parameters, FLOPs)`` of every candidate, largest first."""
        out = []
        for m in sorted(self.multipliers, reverse=True):
            net = QNet(self.layout, self.widths(m), self.obs_shape, self.n_actions)
            out.append((net.widths, count_params(net), count_flops(net, self.obs_shape)))
        return out

    def __call__(self, budget: float, unit: str = "params") -> QNet:
        if unit not in ("params", "flops"):
            raise ValueError(f"'unit' must be 'params' or 'flops', got {unit!r}")
        if not budget > 0:
            raise ValueError(f"'budget' must be a positive number of {unit}, got {budget!r}")
        cands = self.candidates()
        for widths, params, flops in cands:
            if (params if unit == "params" else flops) <= budget:
                return QNet(self.layout, widths, self.obs_shape, self.n_actions)
        smallest = cands[-1][1 if unit == "params" else 2]
        raise ValueError(
            f"'budget' of {budget:,.0f} {unit} is below the smallest network of the family ({smallest:,} {unit})"
        )


def layout_for(env_name: str) -> str:
    """The network layout suited to an environment's observations."""
    return "mlp" if env_name == "cartpole" else "minatar" if env_name.startswith("minatar:") else "atari"


def build_net(env_name: str, size: str, seed: int = 0) -> QNet:
    """``size`` is ``"largenet"`` or ``"smallnet"``, in the layout that suits ``env_name``, its weights
    initialised from ``seed`` (the caller's torch generator is left untouched)."""
    if size not in ("largenet", "smallnet"):
        raise ValueError(f"'size' must be 'largenet' or 'smallnet', got {size!r}")
    layout = layout_for(env_name)
    shape, n = env_spaces(env_name)
    with seeded(seed):
        return QNet(layout, (LARGENET if size == "largenet" else SMALLNET)[layout], shape, n)
