r"""The baselines MA2ML is compared with: random search and a single agent over the joint space.

* :class:`RandomSearch` — uniform pipelines, no learning;
* :class:`SingleAgent` — one categorical policy over all :math:`\prod_i |\mathcal A_i|` pipelines,
  REINFORCE with a moving-average baseline: the centralised learner the poster's left panel
  argues against (its policy has as many parameters as the space has pipelines).

Both implement the searcher interface of :mod:`edgelearn.ma2ml.search` (``propose``,
``observe``, ``joint_policy``).
"""

from __future__ import annotations

import numpy as np
import torch

from edgelearn.ma2ml.ma2ml import RewardStandardiser, sample_categorical


class RandomSearch:
    """Uniformly random pipelines (no learning)."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        self.dims = tuple(dims)

    def propose(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.integers(0, d, batch_size) for d in self.dims], axis=1)

    def observe(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        return None

    def joint_policy(self) -> np.ndarray:
        return np.full(self.dims, 1.0 / np.prod(self.dims))


class SingleAgent:
    """One categorical policy over the joint space (prod(dims) actions), REINFORCE with a
    moving-average baseline of the standardised rewards."""

    def __init__(self, dims: tuple[int, ...], lr: float = 0.1, baseline_decay: float = 0.9) -> None:
        self.dims = tuple(dims)
        self.logits = torch.zeros(int(np.prod(dims)), requires_grad=True)
        self.opt = torch.optim.Adam([self.logits], lr=lr)
        self.baseline, self.decay, self.scale = 0.0, baseline_decay, RewardStandardiser()

    def propose(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack(np.unravel_index(sample_categorical(self.logits, batch_size, rng), self.dims), axis=1)

    def observe(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        z = torch.as_tensor(self.scale(rewards))
        flat = torch.as_tensor(np.ravel_multi_index(tuple(actions.T), self.dims))
        loss = -(torch.log_softmax(self.logits, -1)[flat] * (z - self.baseline)).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.baseline = self.decay * self.baseline + (1 - self.decay) * float(z.mean())

    def joint_policy(self) -> np.ndarray:
        return torch.softmax(self.logits, -1).detach().numpy().reshape(self.dims)
