r"""MA2ML: multi-agent reinforcement learning for joint AutoML (AUG x NAS x HPO).

Paper: Wang et al., *Multi-Agent Automated Machine Learning* (CVPR 2023; the text we have is
the poster). Each AutoML module is an agent :math:`i` with a categorical policy
:math:`\pi_{\theta_i}(A_i)`; the joint policy is the product :math:`\pi_\Theta(A) = \prod_i
\pi_{\theta_i}(A_i)`, and every batch of pipelines sampled from it is trained and scored.
The state is trivial here: a pipeline is chosen in one step, so the poster's :math:`S_i`
plays no role.

The file reads top to bottom as the method:

1. :class:`MA2MLConfig` (our choices where the poster is silent) and the sizes of the book's
   experiments, :data:`SCALES`;
2. the reward: the poster's FLOPs-constrained reward (:func:`flops_reward`) and the running
   standardisation every learner applies (:class:`RewardStandardiser`);
3. the per-module agents (:class:`ModuleAgents`) and **MA2ML-Lite** (:class:`MA2MLLite`), the
   per-agent gradient :math:`\nabla_{\theta_i} J = \mathbb E[\nabla \log \pi_i(A_i)(R - b)]`
   (poster, "MA2ML-Lite");
4. the centralised critic :math:`Q_\phi(A)` (:class:`CentralCritic`) and, on-policy, the
   counterfactual baseline :math:`b(A_{-i}) = \mathbb E_{A_i \sim \pi_i} Q(A_i, A_{-i})`
   (:func:`counterfactual_baseline`; poster, "credit assignment");
5. the KL-regularised target policies (:func:`kl_divergence`) and **MA2ML** (:class:`MA2ML`):
   off-policy, the critic is fitted on the replay buffer and each agent maximises
   :math:`\mathbb E_{A_{-i} \sim \mathcal B}[\sum_a \pi_i(a) Q(a, A_{-i})] - \lambda\,
   \mathrm{KL}(\pi_i \| \bar\pi_i)` with slowly updated target policies :math:`\bar\pi_i` (poster,
   "off-policy learning").

The poster leaves the parameterisation, :math:`\lambda`, the critic and the update schedule
open: the choices below are ours. The baselines (random search, a single agent over the joint
space) are in :mod:`edgelearn.ma2ml.baselines`; the benchmarks the searchers query and the
search loop in :mod:`edgelearn.ma2ml.search`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgelearn.core.scales import Scales
from edgelearn.core.seeding import seeded, torch_generator

# --------------------------------------------------------------------------------------------
# 1. Configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MA2MLConfig:
    """Our choices where the poster is silent."""

    lam: float = 0.1  # lambda, weight of KL(pi || rho)
    tau: float = 0.2  # target-policy update rate
    policy_lr: float = 0.1
    critic_lr: float = 1e-2
    critic_steps: int = 30  # critic gradient steps per batch
    policy_steps: int = 5  # policy gradient steps per batch
    minibatch: int = 64  # replay minibatch size
    hidden: int = 64  # critic width
    off_policy: bool = True  # False: on-policy counterfactual policy gradient on the current batch

    def __post_init__(self) -> None:
        if self.lam < 0 or not 0 < self.tau <= 1 or min(self.policy_lr, self.critic_lr) <= 0:
            raise ValueError("need lam >= 0, 0 < tau <= 1 and positive learning rates")
        if min(self.critic_steps, self.policy_steps, self.minibatch, self.hidden) < 1:
            raise ValueError("'critic_steps', 'policy_steps', 'minibatch' and 'hidden' must be >= 1")


@dataclass(frozen=True)
class MA2MLScale:
    """Sizes of the MA2ML chapter's experiments (``notebooks/ma2ml.md``)."""

    table_scale: str  # which joint table (edgelearn.ma2ml.TABLE_SCALES) or "live"
    n_seeds: int  # independent searches per method
    n_batches: int
    batch_size: int
    top_k: int
    lambdas: tuple[float, ...]  # sensitivity to lambda


SCALES: Scales[MA2MLScale] = Scales(
    smoke=MA2MLScale(table_scale="live", n_seeds=2, n_batches=3, batch_size=2, top_k=2, lambdas=(0.0, 0.1)),
    # the book's build (make book): about a minute of 2 cores' work (one MA2ML search takes about 1 s)
    laptop=MA2MLScale(table_scale="laptop", n_seeds=12, n_batches=25, batch_size=4, top_k=5, lambdas=(0.0, 0.1, 1.0)),
    # paper (configured for a GPU): its table dominates, about 20 h on 2 CPU cores (TABLE_SCALES["paper"]);
    # the searches, 50 batches of 8, would take about 15 min on 2 cores (1.7x the deciding scale's).
    paper=MA2MLScale(
        table_scale="paper",
        n_seeds=50,
        n_batches=50,
        batch_size=8,
        top_k=10,
        lambdas=(0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
    ),
    # deciding: the searches of laptop on the deciding table (TABLE_SCALES["deciding"]: 30 epochs, a space
    # where every module matters), 2.5x the searches (50 per method: paired intervals about 1.6x narrower),
    # 30 batches of 4 (120 of the 240 pipelines, half the space, so that the searchers can still differ),
    # and the paper's lambdas. Measured beside another 2-core job: 26 s of searches per seed (MA2ML's 2 s
    # each), 1,300 s for 50 seeds, so about 5-10 min on 2 workers after the table (about 86 min).
    deciding=MA2MLScale(
        table_scale="deciding",
        n_seeds=50,
        n_batches=30,
        batch_size=4,
        top_k=5,
        lambdas=(0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
    ),
)
"""The chapter's experiment sizes per scale (``SCALES["laptop"]``)."""


# --------------------------------------------------------------------------------------------
# 2. The reward
# --------------------------------------------------------------------------------------------


def flops_reward(
    accuracy: np.ndarray, flops: np.ndarray, constraint: float | None, w_over: float = -1.0, w_under: float = 0.0
) -> np.ndarray:
    r"""The poster's FLOPs-constrained reward :math:`R = \mathrm{Acc}\,(\mathrm{FLOPs}/C)^w`, with
    :math:`w = w_{over}` above the constraint :math:`C` and :math:`w_{under}` below (MnasNet-style;
    the poster gives no value of :math:`w`). ``constraint=None`` gives the plain accuracy."""
    accuracy = np.asarray(accuracy, float)
    if constraint is None:
        return accuracy
    if not constraint > 0:
        raise ValueError(f"'constraint' must be > 0 FLOPs, got {constraint}")
    ratio = np.asarray(flops, float) / constraint
    return accuracy * ratio ** np.where(ratio > 1, w_over, w_under)


class RewardStandardiser:
    """Running mean and standard deviation of every reward seen (rewards -> z-scores).

    Every learner standardises its rewards before using them (our choice: accuracies differ by
    fractions of a percent); ``values`` holds every raw reward seen so far.
    """

    def __init__(self) -> None:
        self.values: list[float] = []

    def __call__(self, rewards: np.ndarray) -> np.ndarray:
        self.values.extend(np.asarray(rewards, float).tolist())
        mean, std = np.mean(self.values), np.std(self.values)
        return (np.asarray(rewards, float) - mean) / (std if std > 1e-12 else 1.0)


# --------------------------------------------------------------------------------------------
# 3. Per-module agents and MA2ML-Lite
# --------------------------------------------------------------------------------------------


def sample_categorical(logits: torch.Tensor, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """``batch_size`` draws from the categorical distribution ``softmax(logits)``, with ``rng``."""
    p = torch.softmax(logits, -1).detach().double().numpy()
    return rng.choice(len(p), size=batch_size, p=p / p.sum())


class ModuleAgents:
    r"""One agent per AutoML module, each a logit vector :math:`\theta_i` of a categorical policy
    :math:`\pi_i`; the joint policy is their product. Starts uniform."""

    def __init__(self, dims: tuple[int, ...], lr: float) -> None:
        self.dims = tuple(dims)
        self.logits = [torch.zeros(d, requires_grad=True) for d in dims]
        self.opt = torch.optim.Adam(self.logits, lr=lr)

    def propose(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """``batch_size`` pipelines (rows of module indices), each agent sampling its own choice."""
        return np.stack([sample_categorical(lg, batch_size, rng) for lg in self.logits], axis=1)

    def policies(self) -> list[np.ndarray]:
        r"""Each agent's policy :math:`\pi_i` as probabilities."""
        return [torch.softmax(lg, -1).detach().numpy() for lg in self.logits]

    def joint_policy(self) -> np.ndarray:
        r"""The product policy :math:`\pi_\Theta(A) = \prod_i \pi_i(A_i)`, shape ``dims``."""
        joint = np.ones(())
        for p in self.policies():
            joint = np.multiply.outer(joint, p)
        return joint


def lite_gradient(
    logits: Sequence[torch.Tensor], actions: torch.Tensor, rewards: torch.Tensor, baseline: float
) -> list[torch.Tensor]:
    r"""The MA2ML-Lite estimate of :math:`\nabla_{\theta_i} J` from one batch:
    :math:`\frac1B \sum_b \nabla_{\theta_i} \log \pi_i(A_{b,i})\,(R_b - b)` for every agent."""
    log_prob = sum(torch.log_softmax(lg, -1)[actions[:, i]] for i, lg in enumerate(logits))
    return list(torch.autograd.grad((log_prob * (rewards - baseline)).mean(), list(logits)))


class MA2MLLite(ModuleAgents):
    """Per-agent REINFORCE with a shared moving-average baseline (poster: MA2ML-Lite).

    :meth:`observe` takes one Adam step along :func:`lite_gradient` of the standardised rewards,
    then moves the baseline toward their mean.
    """

    def __init__(self, dims: tuple[int, ...], lr: float = 0.1, baseline_decay: float = 0.9) -> None:
        super().__init__(dims, lr)
        self.baseline, self.decay, self.scale = 0.0, baseline_decay, RewardStandardiser()

    def observe(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        z = torch.as_tensor(self.scale(rewards))
        gradients = lite_gradient(self.logits, torch.as_tensor(actions), z, self.baseline)
        for lg, gradient in zip(self.logits, gradients):
            lg.grad = -gradient  # the optimiser descends: ascend J
        self.opt.step()
        self.baseline = self.decay * self.baseline + (1 - self.decay) * float(z.mean())


# --------------------------------------------------------------------------------------------
# 4. The centralised critic and the counterfactual baseline
# --------------------------------------------------------------------------------------------


class CentralCritic(nn.Module):
    r"""Centralised critic :math:`Q_\phi(A)`: an MLP on the concatenated one-hot actions of all agents.

    Its initial weights are fixed by ``seed`` (drawn inside :func:`edgelearn.core.seeding.seeded`).
    """

    def __init__(self, dims: tuple[int, ...], hidden: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.dims = tuple(dims)
        with seeded(seed):
            self.net = nn.Sequential(nn.Linear(sum(dims), hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        one_hot = torch.cat([F.one_hot(actions[:, i], d).float() for i, d in enumerate(self.dims)], -1)
        return self.net(one_hot).squeeze(-1)

    def counterfactual(self, actions: torch.Tensor, agent: int) -> torch.Tensor:
        r""":math:`Q(a, A_{-i})` for every choice ``a`` of ``agent``: shape (batch, dims[agent])."""
        n, d = len(actions), self.dims[agent]
        swapped = actions.repeat_interleave(d, 0).clone()
        swapped[:, agent] = torch.arange(d).repeat(n)
        return self(swapped).view(n, d)


def counterfactual_baseline(
    critic: CentralCritic, policy: torch.Tensor, actions: torch.Tensor, agent: int
) -> torch.Tensor:
    r"""COMA's baseline :math:`b(A_{-i}) = \sum_a \pi_i(a)\, Q(a, A_{-i})` for each row of ``actions``."""
    return (critic.counterfactual(actions, agent) * policy).sum(-1)


# --------------------------------------------------------------------------------------------
# 5. KL-regularised target policies and MA2ML
# --------------------------------------------------------------------------------------------


def kl_divergence(pi_logits: torch.Tensor, rho_logits: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathrm{KL}(\pi \| \bar\pi)` of two categorical distributions given by logits."""
    log_pi, log_rho = torch.log_softmax(pi_logits, -1), torch.log_softmax(rho_logits, -1)
    return (log_pi.exp() * (log_pi - log_rho)).sum(-1)


class MA2ML(ModuleAgents):
    """MA2ML: centralised critic, counterfactual credit assignment, KL-regularised off-policy updates.

    ``seed`` fixes the critic's initial weights and the generator of its replay minibatches.
    """

    def __init__(self, dims: tuple[int, ...], config: MA2MLConfig = MA2MLConfig(), seed: int = 0) -> None:
        super().__init__(dims, config.policy_lr)
        self.config = config
        self.critic = CentralCritic(self.dims, config.hidden, seed)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=config.critic_lr)
        self.targets = [lg.detach().clone() for lg in self.logits]  # rho_i
        self.buffer_a: list[np.ndarray] = []
        self.buffer_r: list[float] = []
        self.scale = RewardStandardiser()
        self.gen = torch_generator(seed)

    def target_joint_policy(self) -> np.ndarray:
        r"""The joint target policy :math:`\bar\pi = \prod_i \bar\pi_i`, the anchor of the KL term."""
        joint = np.ones(())
        for target in self.targets:
            joint = np.multiply.outer(joint, torch.softmax(target, -1).numpy())
        return joint

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
        self._update_targets()

    def _fit_critic(self, actions: torch.Tensor, rewards: torch.Tensor) -> None:
        r"""Regress :math:`Q_\phi` on the (standardised) rewards, minibatches drawn from ``actions``."""
        for _ in range(self.config.critic_steps):
            idx = torch.randint(len(actions), (min(self.config.minibatch, len(actions)),), generator=self.gen)
            loss = F.mse_loss(self.critic(actions[idx]), rewards[idx])
            self.critic_opt.zero_grad()
            loss.backward()
            self.critic_opt.step()

    def _counterfactual_step(self, actions: torch.Tensor) -> None:
        r"""On-policy: :math:`\nabla \log\pi_i(A_i)\,[Q(A) - b(A_{-i})]` on the current batch."""
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
        r"""Off-policy: maximise :math:`\mathbb E_{A_{-i}\sim\mathcal B}[\sum_a \pi_i(a) Q(a, A_{-i})]
        - \lambda\,\mathrm{KL}(\pi_i\|\bar\pi_i)` for every agent (then :meth:`_update_targets`)."""
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

    @torch.no_grad()
    def _update_targets(self) -> None:
        r"""Soft update of the target policies, :math:`\bar\pi_i \leftarrow (1-\tau)\bar\pi_i + \tau\pi_i` (in
        logits), after every batch in both variants: off-policy they anchor the KL term; on-policy
        they only lag the policies (the monotonicity check tracks the sampling policies :math:`\pi_i`)."""
        for target, lg in zip(self.targets, self.logits):
            target.mul_(1 - self.config.tau).add_(self.config.tau * lg.detach())
