r"""MA2ML: multi-agent reinforcement learning for joint AutoML (AUG x NAS x HPO).

Paper: Wang et al., *Multi-Agent Automated Machine Learning* (CVPR 2023; the text we have is
the poster). Each AutoML module is an agent :math:`i` with a categorical policy
:math:`\pi_{\theta_i}(A_i)`; the joint policy is the product :math:`\pi_\Theta(A) = \prod_i
\pi_{\theta_i}(A_i)`, and every batch of pipelines sampled from it is trained and scored.
The state is trivial here: a pipeline is chosen in one step, so the poster's :math:`S_i`
plays no role.

Searchers (all implement :class:`Searcher`):

* :class:`RandomSearch` — uniform pipelines;
* :class:`SingleAgent` — one categorical policy over the whole joint space, REINFORCE with a
  moving-average baseline;
* :class:`MA2MLLite` — the per-agent gradient :math:`\nabla_{\theta_i} J = \mathbb E[\nabla
  \log \pi_i(A_i)(R - b)]` (poster, "MA2ML-Lite");
* :class:`MA2ML` — a centralised critic :math:`Q_\phi(A)` and, on-policy, the counterfactual
  baseline :math:`b(A_{-i}) = \mathbb E_{A_i \sim \pi_i} Q(A_i, A_{-i})` (poster, "credit
  assignment"); off-policy, the critic is fitted on the replay buffer and each agent maximises
  :math:`\mathbb E_{A_{-i} \sim \mathcal B}[\sum_a \pi_i(a) Q(a, A_{-i})] - \lambda\,
  \mathrm{KL}(\pi_i \| \rho_i)` with slowly updated target policies :math:`\rho_i` (poster,
  "off-policy learning"). The poster leaves the parameterisation, :math:`\lambda`, the critic
  and the update schedule open: the choices below are ours and :class:`MA2MLConfig` holds them.

Rewards are standardised with the running mean and standard deviation of every reward seen so
far before any learner uses them (our choice: accuracies differ by fractions of a percent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from edgelearn.scales import get_scale


# -- the benchmark the agents search -------------------------------------------------------
class Benchmark(Protocol):
    """Trains (or looks up) pipelines: ``dims`` choices per module."""

    dims: tuple[int, ...]

    def evaluate(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Validation accuracy and FLOPs of each pipeline (rows of ``actions``)."""
        ...


@dataclass
class TabularBenchmark:
    """A table of real training runs: accuracy per seed and FLOPs of every pipeline.

    ``evaluate`` returns the accuracy of one training seed drawn at random, so repeated
    evaluations of a pipeline vary as re-training it would.
    """

    accuracy: np.ndarray   # (n_seeds, *dims) validation accuracy
    flops: np.ndarray      # (*dims) forward FLOPs
    names: tuple[tuple[str, ...], ...] = ()

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(self.accuracy.shape[1:])

    @classmethod
    def from_frame(cls, df: pd.DataFrame, modules: Sequence[str] = ("aug", "arch", "hpo")) -> "TabularBenchmark":
        """From a tidy table with ``<module>_idx`` columns, ``seed``, ``val_accuracy``, ``flops``."""
        idx = [f"{m}_idx" for m in modules]
        missing = {*idx, "seed", "val_accuracy", "flops"} - set(df.columns)
        if missing:
            raise ValueError(f"the table lacks columns {sorted(missing)}")
        dims = tuple(int(df[c].max()) + 1 for c in idx)
        seeds = sorted(df.seed.unique())
        acc = np.full((len(seeds), *dims), np.nan)
        flops = np.full(dims, np.nan)
        s = df.seed.map({v: k for k, v in enumerate(seeds)}).to_numpy()
        where = tuple(df[c].to_numpy() for c in idx)
        acc[(s, *where)] = df.val_accuracy.to_numpy()
        flops[where] = df.flops.to_numpy()
        if np.isnan(acc).any():
            raise ValueError("the table does not cover every pipeline x seed")
        names = tuple(tuple(df.sort_values(c).drop_duplicates(c)[m].astype(str)) for m, c in zip(modules, idx)
                      ) if all(m in df for m in modules) else ()
        return cls(acc, flops, names)

    def mean_accuracy(self) -> np.ndarray:
        """Accuracy averaged over training seeds, shape ``dims``."""
        return self.accuracy.mean(axis=0)

    def evaluate(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        actions = check_actions(actions, self.dims)
        seeds = rng.integers(0, self.accuracy.shape[0], len(actions))
        where = tuple(actions.T)
        return self.accuracy[(seeds, *where)], self.flops[where]


class LiveBenchmark:
    """Trains each requested pipeline for real through ``train(actions_row, seed) -> (acc, flops)``,
    caching results by (pipeline, seed) so no pipeline is trained twice with the same seed."""

    def __init__(self, dims: tuple[int, ...], train: Callable[[tuple[int, ...], int], tuple[float, float]],
                 seeds: Sequence[int] = (0,)) -> None:
        self.dims, self.train, self.seeds = tuple(dims), train, tuple(seeds)
        self.cache: dict[tuple[tuple[int, ...], int], tuple[float, float]] = {}

    def evaluate(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        out = []
        for row in check_actions(actions, self.dims):
            key = (tuple(int(a) for a in row), int(rng.choice(self.seeds)))
            if key not in self.cache:
                self.cache[key] = self.train(*key)
            out.append(self.cache[key])
        acc, flops = np.array(out).T
        return acc, flops


def check_actions(actions: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    actions = np.asarray(actions, dtype=np.int64)
    if actions.ndim != 2 or actions.shape[1] != len(dims):
        raise ValueError(f"'actions' must have shape (batch, {len(dims)}), got {actions.shape}")
    if np.any(actions < 0) or np.any(actions >= np.asarray(dims)):
        raise ValueError(f"'actions' must index each module's choices: 0..{[d - 1 for d in dims]}")
    return actions


def flops_reward(accuracy: np.ndarray, flops: np.ndarray, constraint: float | None, w_over: float = -1.0,
                 w_under: float = 0.0) -> np.ndarray:
    """The poster's FLOPs-constrained reward :math:`R = \\mathrm{Acc}\\,(\\mathrm{FLOPs}/C)^w`, with
    :math:`w = w_{over}` above the constraint :math:`C` and :math:`w_{under}` below (MnasNet-style;
    the poster gives no value of :math:`w`). ``constraint=None`` gives the plain accuracy."""
    accuracy = np.asarray(accuracy, float)
    if constraint is None:
        return accuracy
    if not constraint > 0:
        raise ValueError(f"'constraint' must be > 0 FLOPs, got {constraint}")
    ratio = np.asarray(flops, float) / constraint
    return accuracy * ratio ** np.where(ratio > 1, w_over, w_under)


# -- searchers ---------------------------------------------------------------------------------
class Searcher(Protocol):
    """Proposes a batch of pipelines, then learns from their rewards."""

    def propose(self, batch_size: int, rng: np.random.Generator) -> np.ndarray: ...

    def observe(self, actions: np.ndarray, rewards: np.ndarray) -> None: ...


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


class _Standardiser:
    """Running mean and standard deviation of every reward seen (rewards -> z-scores)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def __call__(self, rewards: np.ndarray) -> np.ndarray:
        self.values.extend(np.asarray(rewards, float).tolist())
        mean, std = np.mean(self.values), np.std(self.values)
        return (np.asarray(rewards, float) - mean) / (std if std > 1e-12 else 1.0)


def _sample(logits: torch.Tensor, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    p = torch.softmax(logits, -1).detach().double().numpy()
    return rng.choice(len(p), size=batch_size, p=p / p.sum())


class SingleAgent:
    """One categorical policy over the joint space (prod(dims) actions), REINFORCE with a
    moving-average baseline: the baseline the poster's left panel argues against."""

    def __init__(self, dims: tuple[int, ...], lr: float = 0.1, baseline_decay: float = 0.9) -> None:
        self.dims = tuple(dims)
        self.logits = torch.zeros(int(np.prod(dims)), requires_grad=True)
        self.opt = torch.optim.Adam([self.logits], lr=lr)
        self.baseline, self.decay, self.scale = 0.0, baseline_decay, _Standardiser()

    def propose(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack(np.unravel_index(_sample(self.logits, batch_size, rng), self.dims), axis=1)

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


class _Agents:
    """One logit vector per module; the joint policy is their product."""

    def __init__(self, dims: tuple[int, ...], lr: float) -> None:
        self.dims = tuple(dims)
        self.logits = [torch.zeros(d, requires_grad=True) for d in dims]
        self.opt = torch.optim.Adam(self.logits, lr=lr)

    def propose(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([_sample(lg, batch_size, rng) for lg in self.logits], axis=1)

    def policies(self) -> list[np.ndarray]:
        return [torch.softmax(lg, -1).detach().numpy() for lg in self.logits]

    def joint_policy(self) -> np.ndarray:
        joint = np.ones(())
        for p in self.policies():
            joint = np.multiply.outer(joint, p)
        return joint


class MA2MLLite(_Agents):
    """Per-agent REINFORCE with a shared moving-average baseline (poster: MA2ML-Lite)."""

    def __init__(self, dims: tuple[int, ...], lr: float = 0.1, baseline_decay: float = 0.9) -> None:
        super().__init__(dims, lr)
        self.baseline, self.decay, self.scale = 0.0, baseline_decay, _Standardiser()

    def observe(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        z = torch.as_tensor(self.scale(rewards))
        a = torch.as_tensor(actions)
        log_prob = sum(torch.log_softmax(lg, -1)[a[:, i]] for i, lg in enumerate(self.logits))
        loss = -(log_prob * (z - self.baseline)).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.baseline = self.decay * self.baseline + (1 - self.decay) * float(z.mean())


def lite_gradient(logits: Sequence[torch.Tensor], actions: torch.Tensor, rewards: torch.Tensor,
                  baseline: float) -> list[torch.Tensor]:
    """The MA2ML-Lite estimate of :math:`\\nabla_{\\theta_i} J` from one batch (for tests and the book)."""
    log_prob = sum(torch.log_softmax(lg, -1)[actions[:, i]] for i, lg in enumerate(logits))
    return list(torch.autograd.grad((log_prob * (rewards - baseline)).mean(), list(logits)))


class Critic(nn.Module):
    """Centralised critic :math:`Q_\\phi(A)`: an MLP on the concatenated one-hot actions."""

    def __init__(self, dims: tuple[int, ...], hidden: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.dims = tuple(dims)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.net = nn.Sequential(nn.Linear(sum(dims), hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        one_hot = torch.cat([F.one_hot(actions[:, i], d).float() for i, d in enumerate(self.dims)], -1)
        return self.net(one_hot).squeeze(-1)

    def counterfactual(self, actions: torch.Tensor, agent: int) -> torch.Tensor:
        """:math:`Q(a, A_{-i})` for every choice ``a`` of ``agent``: shape (batch, dims[agent])."""
        n, d = len(actions), self.dims[agent]
        swapped = actions.repeat_interleave(d, 0).clone()
        swapped[:, agent] = torch.arange(d).repeat(n)
        return self(swapped).view(n, d)


def counterfactual_baseline(critic: Critic, policy: torch.Tensor, actions: torch.Tensor, agent: int) -> torch.Tensor:
    """COMA's baseline :math:`b(A_{-i}) = \\sum_a \\pi_i(a)\\, Q(a, A_{-i})` for each row of ``actions``."""
    return (critic.counterfactual(actions, agent) * policy).sum(-1)


def kl_divergence(pi_logits: torch.Tensor, rho_logits: torch.Tensor) -> torch.Tensor:
    """:math:`\\mathrm{KL}(\\pi \\| \\rho)` of two categorical distributions given by logits."""
    log_pi, log_rho = torch.log_softmax(pi_logits, -1), torch.log_softmax(rho_logits, -1)
    return (log_pi.exp() * (log_pi - log_rho)).sum(-1)


@dataclass(frozen=True)
class MA2MLConfig:
    """Our choices where the poster is silent."""

    lam: float = 0.1             # lambda, weight of KL(pi || rho)
    tau: float = 0.2             # target-policy update rate
    policy_lr: float = 0.1
    critic_lr: float = 1e-2
    critic_steps: int = 30       # critic gradient steps per batch
    policy_steps: int = 5        # policy gradient steps per batch
    minibatch: int = 64          # replay minibatch size
    hidden: int = 64             # critic width
    off_policy: bool = True      # False: on-policy counterfactual policy gradient on the current batch

    def __post_init__(self) -> None:
        if self.lam < 0 or not 0 < self.tau <= 1 or min(self.policy_lr, self.critic_lr) <= 0:
            raise ValueError("need lam >= 0, 0 < tau <= 1 and positive learning rates")
        if min(self.critic_steps, self.policy_steps, self.minibatch, self.hidden) < 1:
            raise ValueError("'critic_steps', 'policy_steps', 'minibatch' and 'hidden' must be >= 1")


class MA2ML(_Agents):
    """MA2ML: centralised critic, counterfactual credit assignment, KL-regularised off-policy updates."""

    def __init__(self, dims: tuple[int, ...], config: MA2MLConfig = MA2MLConfig(), seed: int = 0) -> None:
        super().__init__(dims, config.policy_lr)
        self.config = config
        self.critic = Critic(self.dims, config.hidden, seed)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=config.critic_lr)
        self.targets = [lg.detach().clone() for lg in self.logits]   # rho_i
        self.buffer_a: list[np.ndarray] = []
        self.buffer_r: list[float] = []
        self.scale = _Standardiser()
        self.gen = torch.Generator().manual_seed(seed)

    def target_joint_policy(self) -> np.ndarray:
        """The joint target policy :math:`\\rho = \\prod_i \\rho_i` (what the monotonicity theorem is about)."""
        joint = np.ones(())
        for target in self.targets:
            joint = np.multiply.outer(joint, torch.softmax(target, -1).numpy())
        return joint

    def _fit_critic(self, actions: torch.Tensor, rewards: torch.Tensor) -> None:
        for _ in range(self.config.critic_steps):
            idx = torch.randint(len(actions), (min(self.config.minibatch, len(actions)),), generator=self.gen)
            loss = F.mse_loss(self.critic(actions[idx]), rewards[idx])
            self.critic_opt.zero_grad()
            loss.backward()
            self.critic_opt.step()

    def observe(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        z = self.scale(rewards)
        self.buffer_a.extend(np.asarray(actions))
        self.buffer_r.extend(z.tolist())
        if self.config.off_policy:
            # Standardise the whole buffer with the current statistics so old rewards stay comparable.
            raw = np.asarray(self.scale.values)
            all_a = torch.as_tensor(np.array(self.buffer_a))
            all_z = torch.as_tensor((raw - raw.mean()) / (raw.std() if raw.std() > 1e-12 else 1.0)).float()
            self._fit_critic(all_a, all_z)
            self._kl_regularised_step(all_a)
        else:
            batch_a = torch.as_tensor(np.asarray(actions))
            self._fit_critic(batch_a, torch.as_tensor(z).float())
            self._counterfactual_step(batch_a)

    def _counterfactual_step(self, actions: torch.Tensor) -> None:
        """On-policy: :math:`\\nabla \\log\\pi_i(A_i)\\,[Q(A) - b(A_{-i})]` on the current batch."""
        with torch.no_grad():
            q = self.critic(actions)
        for _ in range(self.config.policy_steps):
            loss = 0.0
            for i, lg in enumerate(self.logits):
                pi = torch.softmax(lg, -1)
                with torch.no_grad():
                    advantage = q - counterfactual_baseline(self.critic, pi.detach(), actions, i)
                loss = loss - (torch.log_softmax(lg, -1)[actions[:, i]] * advantage).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()

    def _kl_regularised_step(self, actions: torch.Tensor) -> None:
        """Off-policy: maximise :math:`\\mathbb E_{A_{-i}\\sim\\mathcal B}[\\sum_a \\pi_i(a) Q(a, A_{-i})]
        - \\lambda\\,\\mathrm{KL}(\\pi_i\\|\\rho_i)` for every agent, then soft-update :math:`\\rho`."""
        for _ in range(self.config.policy_steps):
            idx = torch.randint(len(actions), (min(self.config.minibatch, len(actions)),), generator=self.gen)
            batch = actions[idx]
            loss = 0.0
            for i, lg in enumerate(self.logits):
                with torch.no_grad():
                    q_i = self.critic.counterfactual(batch, i)  # (batch, d_i)
                expected_q = (torch.softmax(lg, -1) * q_i).sum(-1).mean()
                loss = loss - expected_q + self.config.lam * kl_divergence(lg, self.targets[i])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        with torch.no_grad():
            for target, lg in zip(self.targets, self.logits):
                target.mul_(1 - self.config.tau).add_(self.config.tau * lg.detach())


# -- the search loop -----------------------------------------------------------------------------
def run_search(searcher: Searcher, benchmark: Benchmark, n_batches: int, batch_size: int, seed: int,
               constraint: float | None = None, mean_reward: np.ndarray | None = None) -> pd.DataFrame:
    """Run ``searcher`` for ``n_batches`` batches of ``batch_size`` pipelines.

    Returns one row per evaluated pipeline: batch, pipeline indices, observed accuracy, FLOPs and
    reward. With ``mean_reward`` (the table's seed-averaged reward, shape ``dims``) each row also
    carries the exact expected reward of the searcher's joint policy *before* the batch
    (``policy_value``) and, for MA2ML, of its joint target policy (``target_value``), which the
    monotonic-improvement check uses.
    """
    if n_batches < 1 or batch_size < 1:
        raise ValueError("'n_batches' and 'batch_size' must be >= 1")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_batches):
        value = float((searcher.joint_policy() * mean_reward).sum()) if mean_reward is not None else np.nan
        target = (float((searcher.target_joint_policy() * mean_reward).sum())  # type: ignore[attr-defined]
                  if mean_reward is not None and hasattr(searcher, "target_joint_policy") else np.nan)
        actions = searcher.propose(batch_size, rng)
        accuracy, flops = benchmark.evaluate(actions, rng)
        reward = flops_reward(accuracy, flops, constraint)
        searcher.observe(actions, reward)
        for a, acc, fl, r in zip(actions, accuracy, flops, reward):
            rows.append({"batch": k, **{f"a{i}": int(v) for i, v in enumerate(a)}, "accuracy": float(acc),
                         "flops": float(fl), "reward": float(r), "policy_value": value, "target_value": target})
    return pd.DataFrame(rows)


def top_k_curve(history: pd.DataFrame, true_value: np.ndarray, k: int) -> pd.DataFrame:
    """After each batch, the mean *true* value (seed-averaged table) of the best ``k`` distinct
    pipelines found so far, ranked by their observed rewards (the poster's top-k curves)."""
    cols = [c for c in history.columns if c.startswith("a") and c[1:].isdigit()]
    out, seen = [], {}
    for batch, group in history.groupby("batch"):
        for row in group.itertuples(index=False):
            key = tuple(getattr(row, c) for c in cols)
            seen[key] = max(seen.get(key, -np.inf), row.reward)
        best = sorted(seen, key=seen.get, reverse=True)[:k]
        out.append({"batch": batch, "top_k_true": float(np.mean([true_value[b] for b in best])),
                    "best_true": float(max(true_value[b] for b in seen)), "distinct": len(seen)})
    return pd.DataFrame(out)


# -- the book's experiments -----------------------------------------------------------------------
@dataclass(frozen=True)
class MA2MLScale:
    """Sizes of the MA2ML chapter's experiments (``notebooks/ma2ml.md``)."""

    table_scale: str            # which table (edgelearn.automl_table.TABLE_SCALES) or "live"
    n_seeds: int                # independent searches per method
    n_batches: int
    batch_size: int
    top_k: int
    lambdas: tuple[float, ...]  # sensitivity to lambda


SCALES: dict[str, MA2MLScale] = {
    "smoke": MA2MLScale(table_scale="live", n_seeds=2, n_batches=3, batch_size=2, top_k=2, lambdas=(0.0, 0.1)),
    "laptop": MA2MLScale(table_scale="laptop", n_seeds=20, n_batches=25, batch_size=4, top_k=5,
                         lambdas=(0.0, 0.03, 0.1, 0.3, 1.0)),
    "paper": MA2MLScale(table_scale="paper", n_seeds=50, n_batches=50, batch_size=8, top_k=10,
                        lambdas=(0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)),
}


def scale_config(scale: str) -> MA2MLScale:
    """The :class:`MA2MLScale` for ``scale`` (``smoke``, ``laptop`` or ``paper``)."""
    return get_scale(SCALES, scale)
