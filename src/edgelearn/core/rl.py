r"""Shared deep-RL machinery: replay memories, (Double) DQN updates, exploration schedules.

Written once for the OD3 chapter (a DQN teacher distilled into an on-device student) and the
ATS/PTS chapter (a Double DQN scheduler with prioritised replay).

* :class:`ReplayBuffer` — a circular memory of transitions kept as preallocated tensors;
  adding and sampling are vectorised (no per-transition Python); discrete or continuous actions.
* :class:`PrioritizedReplayBuffer` — proportional prioritisation (Schaul et al. 2016):
  :math:`P(i) = p_i^\alpha / \sum_k p_k^\alpha` with :math:`p_i = |\delta_i| + \epsilon`, and
  importance weights :math:`w_i = (N\,P(i))^{-\beta} / \max_j w_j`.
* :func:`td_target` — DQN's target :math:`r + \gamma (1 - d) \max_a Q_{\bar\theta}(s', a)`
  (Mnih et al. 2015, eq. 2 of OD3) or Double DQN's
  :math:`r + \gamma (1 - d)\, Q_{\bar\theta}(s', \arg\max_a Q_\theta(s', a))` (van Hasselt et al. 2016).
* :func:`dqn_loss` — the Huber (or squared) TD loss, optionally importance-weighted.
* :func:`linear_schedule`, :func:`exponential_schedule` — :math:`\varepsilon` and learning-rate
  schedules; :func:`epsilon_greedy`; :func:`soft_update` / :func:`hard_update` of target networks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Batch = dict[str, torch.Tensor]


class ReplayBuffer:
    """Circular replay memory of ``capacity`` transitions ``(obs, action, reward, next_obs, done)``."""

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        obs_dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
        seed: int = 0,
        action_shape: tuple[int, ...] = (),
        action_dtype: torch.dtype = torch.long,
    ) -> None:
        """``action_shape=()`` and ``torch.long``: discrete actions (DQN); e.g. ``(4,)`` and
        ``torch.float32``: continuous action vectors (DDPG)."""
        if int(capacity) != capacity or capacity < 1:
            raise ValueError(f"'capacity' must be an integer >= 1, got {capacity!r}")
        if any(int(d) != d or d < 1 for d in action_shape):
            raise ValueError(f"'action_shape' must hold integers >= 1, got {action_shape!r}")
        self.capacity, self.device = int(capacity), torch.device(device)
        self.obs = torch.zeros((self.capacity, *obs_shape), dtype=obs_dtype, device=self.device)
        self.next_obs = torch.zeros_like(self.obs)
        self.action = torch.zeros((self.capacity, *action_shape), dtype=action_dtype, device=self.device)
        self.reward = torch.zeros(self.capacity, device=self.device)
        self.done = torch.zeros(self.capacity, device=self.device)
        self.generator = torch.Generator().manual_seed(seed)
        self.position, self.size = 0, 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action, reward, next_obs, done) -> torch.Tensor:
        """Store a batch of transitions (leading dimension = number of transitions); return their slots."""
        obs = torch.as_tensor(obs, dtype=self.obs.dtype, device=self.device)
        if obs.shape[1:] != self.obs.shape[1:]:
            obs = obs.unsqueeze(0)  # a single transition
        n = obs.shape[0]
        if obs.shape[1:] != self.obs.shape[1:] or n > self.capacity:
            raise ValueError(f"'obs' must have shape (n, {tuple(self.obs.shape[1:])}) with n <= capacity")
        slots = (self.position + torch.arange(n, device=self.device)) % self.capacity
        self.obs[slots] = obs
        self.next_obs[slots] = torch.as_tensor(next_obs, dtype=self.obs.dtype, device=self.device).reshape(obs.shape)
        self.action[slots] = (
            torch.as_tensor(action, device=self.device).reshape(n, *self.action.shape[1:]).to(self.action.dtype)
        )
        self.reward[slots] = torch.as_tensor(reward, dtype=torch.float32, device=self.device).reshape(n)
        self.done[slots] = torch.as_tensor(done, dtype=torch.float32, device=self.device).reshape(n)
        self.position = (self.position + n) % self.capacity
        self.size = min(self.size + n, self.capacity)
        return slots

    def _gather(self, idx: torch.Tensor) -> Batch:
        # index_select copies the same rows as ``tensor[idx]`` with less per-call overhead
        return {
            "obs": self.obs.index_select(0, idx),
            "action": self.action.index_select(0, idx),
            "reward": self.reward.index_select(0, idx),
            "next_obs": self.next_obs.index_select(0, idx),
            "done": self.done.index_select(0, idx),
            "index": idx,
        }

    def sample(self, batch_size: int) -> Batch:
        """A uniformly random minibatch (with replacement) of stored transitions."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = torch.randint(self.size, (batch_size,), generator=self.generator).to(self.device)
        return self._gather(idx)


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritised replay (Schaul et al. 2016); new transitions get the maximal priority."""

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        alpha: float = 0.6,
        beta: float = 0.4,
        eps: float = 1e-6,
        **kwargs,
    ) -> None:
        super().__init__(capacity, obs_shape, **kwargs)
        if not alpha >= 0 or not beta >= 0:
            raise ValueError(f"'alpha' and 'beta' must be >= 0, got {alpha}, {beta}")
        self.alpha, self.beta, self.eps = alpha, beta, eps
        self.priority = np.zeros(self.capacity)  # p_i ** alpha
        # scratch arrays for sample(): P(i) and its running sum, reused instead of two fresh
        # capacity-sized arrays (and their page faults) per minibatch
        self._probs = np.empty(self.capacity)
        self._cumulative = np.empty(self.capacity)
        self.max_priority = 1.0
        self.rng = np.random.default_rng(int(self.generator.initial_seed()))

    def add(self, obs, action, reward, next_obs, done) -> torch.Tensor:
        slots = super().add(obs, action, reward, next_obs, done)
        self.priority[slots.cpu().numpy()] = self.max_priority**self.alpha
        return slots

    def probabilities(self) -> np.ndarray:
        """:math:`P(i)` over the stored transitions."""
        p = self.priority[: self.size]
        return p / p.sum()

    def sample(self, batch_size: int, beta: float | None = None) -> Batch:
        """A minibatch drawn with :math:`P(i)`, with importance weights under ``"weight"``."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        beta = self.beta if beta is None else beta
        # inverse-CDF draw: the first i whose running sum of P exceeds u * sum(P), u ~ U[0, 1);
        # the same arithmetic as probabilities() and np.cumsum, written into the scratch arrays
        p = self.priority[: self.size]
        probs = np.divide(p, p.sum(), out=self._probs[: self.size])
        cumulative = np.cumsum(probs, out=self._cumulative[: self.size])
        idx = np.minimum(np.searchsorted(cumulative, self.rng.random(batch_size) * probs.sum()), self.size - 1)
        weight = (self.size * probs[idx]) ** (-beta)
        batch = self._gather(torch.as_tensor(idx, device=self.device))
        batch["weight"] = torch.as_tensor(weight / weight.max(), dtype=torch.float32, device=self.device)
        return batch

    def update_priorities(self, index: torch.Tensor, td_error: torch.Tensor) -> None:
        """Set :math:`p_i = |\\delta_i| + \\epsilon` for the sampled transitions."""
        p = np.abs(td_error.detach().cpu().numpy()) + self.eps
        self.priority[index.cpu().numpy()] = p**self.alpha
        self.max_priority = max(self.max_priority, float(p.max()))


@torch.no_grad()
def td_target(batch: Batch, target_net: nn.Module, gamma: float, online_net: nn.Module | None = None) -> torch.Tensor:
    """The (Double) DQN target; with ``online_net`` the online network picks the next action."""
    next_q = target_net(batch["next_obs"])
    if online_net is None:
        best = next_q.max(dim=1).values
    else:
        best = next_q.gather(1, online_net(batch["next_obs"]).argmax(dim=1, keepdim=True)).squeeze(1)
    return batch["reward"] + gamma * (1.0 - batch["done"]) * best


def dqn_loss(
    online_net: nn.Module, target_net: nn.Module, batch: Batch, gamma: float, double: bool = False, huber: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """TD loss of ``online_net`` on ``batch`` (OD3 eq. 1); returns the loss and the TD errors.

    With a ``"weight"`` entry (prioritised replay) each transition's loss is importance-weighted.
    """
    q = online_net(batch["obs"]).gather(1, batch["action"].unsqueeze(1)).squeeze(1)
    target = td_target(batch, target_net, gamma, online_net if double else None)
    per_sample = F.smooth_l1_loss(q, target, reduction="none") if huber else F.mse_loss(q, target, reduction="none")
    weight = batch.get("weight")
    loss = (per_sample * weight).mean() if weight is not None else per_sample.mean()
    return loss, (target - q).detach()


def linear_schedule(start: float, end: float, steps: int) -> Callable[[int], float]:
    """``start`` falling linearly to ``end`` over ``steps`` steps, then constant."""
    if steps < 1:
        raise ValueError(f"'steps' must be >= 1, got {steps}")
    return lambda t: end + (start - end) * max(0.0, 1.0 - t / steps)


def exponential_schedule(start: float, end: float, decay: float) -> Callable[[int], float]:
    """:math:`\\varepsilon_t = \\varepsilon_{end} + (\\varepsilon_{start} - \\varepsilon_{end})\\,\\mathrm{decay}^t`."""
    if not 0 < decay <= 1:
        raise ValueError(f"'decay' must lie in (0, 1], got {decay}")
    return lambda t: end + (start - end) * decay**t


def decay_for(start: float, end: float, steps: int, remaining: float = 0.01) -> float:
    """The per-step decay at which an exponential schedule has covered all but ``remaining`` of
    the way from ``start`` to ``end`` after ``steps`` steps (e.g. over ATS's 350 episodes)."""
    if steps < 1 or not 0 < remaining < 1:
        raise ValueError("need steps >= 1 and 0 < remaining < 1")
    return math.exp(math.log(remaining) / steps)


def epsilon_greedy(q_values: torch.Tensor, epsilon: float, generator: torch.Generator) -> torch.Tensor:
    """Greedy actions of a batch of Q-value rows, each replaced by a uniform one with probability epsilon."""
    greedy = q_values.argmax(dim=1)
    n, k = q_values.shape
    explore = torch.rand(n, generator=generator) < epsilon
    random = torch.randint(k, (n,), generator=generator)
    return torch.where(explore.to(greedy.device), random.to(greedy.device), greedy)


@torch.no_grad()
def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """:math:`\\bar\\theta \\leftarrow (1 - \\tau)\\bar\\theta + \\tau\\theta` (``tau = 1``: a copy)."""
    if not 0 < tau <= 1:
        raise ValueError(f"'tau' must lie in (0, 1], got {tau}")
    for t, s in zip(target.parameters(), source.parameters()):
        t.mul_(1 - tau).add_(s, alpha=tau)


def hard_update(target: nn.Module, source: nn.Module) -> None:
    """Copy ``source``'s parameters into ``target`` (DQN's periodic target update)."""
    target.load_state_dict(source.state_dict())


class OrnsteinUhlenbeckNoise:
    r"""Temporally correlated exploration noise (Uhlenbeck & Ornstein 1930; DDPG, Lillicrap et al. 2016):
    :math:`x_{t+1} = x_t + \omega(\bar x - x_t)\,\Delta t + \sigma\sqrt{\Delta t}\,\varepsilon_t`,
    :math:`\varepsilon_t \sim \mathcal N(0, I)`, for ``shape`` independent processes (eq-rl-ou). The mean
    reversion :math:`\omega` is the argument ``theta`` and the long-run mean :math:`\bar x` is ``mu``: the book
    keeps :math:`\theta` for network parameters and :math:`\mu` for a deterministic actor (book/notation.md)."""

    def __init__(
        self,
        shape: tuple[int, ...],
        theta: float = 0.15,
        sigma: float = 0.2,
        mu: float = 0.0,
        dt: float = 1.0,
        seed: int = 0,
    ) -> None:
        if not theta >= 0 or not sigma >= 0 or not dt > 0:
            raise ValueError(f"need theta >= 0, sigma >= 0, dt > 0; got {theta}, {sigma}, {dt}")
        self.shape, self.theta, self.sigma, self.mu, self.dt = tuple(shape), theta, sigma, mu, dt
        self.generator = torch.Generator().manual_seed(seed)
        self.reset()

    def reset(self) -> None:
        """Restart every process at its mean."""
        self.state = torch.full(self.shape, float(self.mu))

    def sample(self) -> torch.Tensor:
        """Advance the processes one step and return their values."""
        eps = torch.randn(self.shape, generator=self.generator)
        self.state = self.state + self.theta * (self.mu - self.state) * self.dt + self.sigma * math.sqrt(self.dt) * eps
        return self.state.clone()


def linear_lr_scheduler(
    optimizer: torch.optim.Optimizer, start: float, end: float, steps: int
) -> torch.optim.lr_scheduler.LinearLR:
    """Learning rate falling linearly from ``start`` to ``end`` over ``steps`` scheduler steps, then constant
    (e.g. OD3's 2.5e-4 to 5e-5): torch's :class:`~torch.optim.lr_scheduler.LinearLR`, with the
    optimiser's learning rate first set to ``start``."""
    if steps < 1 or not start > 0 or not end > 0:
        raise ValueError(f"need steps >= 1 and positive rates, got steps={steps}, start={start}, end={end}")
    for group in optimizer.param_groups:
        group["lr"] = start
    return torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0, end_factor=end / start, total_iters=steps)


@torch.no_grad()
def evaluate(
    q_net: nn.Module,
    env,
    episodes: int,
    epsilon: float = 0.05,
    seed: int = 0,
    max_steps: int | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Undiscounted returns of ``episodes`` episodes of ``q_net`` acting epsilon-greedily (DQN's evaluation
    protocol uses epsilon = 0.05) in a gymnasium ``env``; episode ``i`` is reset with ``seed + i``.
    ``max_steps`` caps an episode's length; observations go to ``device`` (that of ``q_net``; ``None``: left
    where ``torch.as_tensor`` puts them, on the CPU)."""
    if episodes < 1:
        raise ValueError(f"'episodes' must be >= 1, got {episodes}")
    if not 0 <= epsilon <= 1:
        raise ValueError(f"'epsilon' must lie in [0, 1], got {epsilon}")
    rng = np.random.default_rng(seed)
    n_actions = int(env.action_space.n)
    returns = np.zeros(episodes)
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        done, steps = False, 0
        while not done and (max_steps is None or steps < max_steps):
            if rng.random() < epsilon:
                action = int(rng.integers(n_actions))
            else:
                action = int(q_net(torch.as_tensor(np.asarray(obs), device=device).unsqueeze(0)).argmax(dim=1))
            obs, reward, terminated, truncated, _ = env.step(action)
            returns[i] += reward
            steps += 1
            done = terminated or truncated
    return returns


def store_transition(
    buffer: ReplayBuffer, obs: torch.Tensor, action: int, reward: float, next_obs: torch.Tensor, done: bool
) -> int:
    """Store one transition in ``buffer`` by direct writes into its preallocated tensors (no conversion
    or allocation: the per-step fast path of a training loop); returns its slot. ``obs`` and ``next_obs``
    must already have the buffer's observation shape. Prioritised buffers need :meth:`ReplayBuffer.add`."""
    if isinstance(buffer, PrioritizedReplayBuffer):
        raise ValueError("store_transition does not set priorities: use PrioritizedReplayBuffer.add")
    slot = buffer.position
    buffer.obs[slot] = obs
    buffer.next_obs[slot] = next_obs
    buffer.action[slot] = action
    buffer.reward[slot] = reward
    buffer.done[slot] = float(done)
    buffer.position = (slot + 1) % buffer.capacity
    buffer.size = min(buffer.size + 1, buffer.capacity)
    return slot
