r"""TRL-HPO: a transformer actor-critic (DDPG) that builds CNNs layer by layer (Shaer et al. 2024).

The search space, action decoding and candidate training live in :mod:`edgelearn.cnn_space`; this
module holds the agent and the search. It reads top to bottom:

1. **Configuration.** :class:`TRLConfig`, one per scale in :data:`SCALES`; :func:`scale_config`.
2. **State.** The static Intermediate Model Representation :class:`IMR`,
   :math:`\mathrm{IMR}(a, p) = \tanh(W_1 a + W_2 p)` with :math:`a \in [0,1]^4` the action and
   :math:`p \in [0,1]^{32}` the per-batch validation accuracies; the state is 6 slots x 64,
   initialised to -1, slot :math:`t` holding :math:`\mathrm{IMR}(a_t, p_t)` after step :math:`t`.
3. **Networks.** :class:`AttentionBlock` (multi-head self-attention that returns its softmax
   weights, then a position-wise FFN, each with a residual and LayerNorm), :class:`TransformerStack`
   (embedding x :math:`\sqrt{d}`, sinusoidal positions, 2 blocks), :class:`Actor` (sigmoid, 4 outputs)
   and :class:`Critic` (tanh, 1 output; the action enters as a seventh token).
4. **DDPG.** :class:`Agent`: target networks, Ornstein-Uhlenbeck noise, replay, and
   :meth:`Agent.update` (critic regression on :math:`y = r + \gamma(1-d)Q'(s', \mu'(s'))`, actor
   ascent on :math:`Q(s, \mu(s))`, soft target updates).
5. **The environment step.** :func:`step_rewards`: the progressive reward
   :math:`r_t = \overline{p_t - p_{t-1}}` (:math:`p_{-1} = 0`), the collapse penalty, the stopping rules.
6. **The search.** :func:`run_search` runs TRL-HPO (``policy="trl"``) or random search over the same
   space with the same stopping rules (``policy="random"``), or a MetaQNN-style tabular
   Q-learner (:class:`MetaQNN`, ``policy="metaqnn"``), episodes of ``models_per_episode``
   models generated in parallel (one executor batch per layer position), with a candidate cache,
   tqdm progress, and a checkpoint after every episode from which a killed run resumes.
7. **Analysis.** :func:`negative_reward_pairs` (Fig. 2), :func:`attention_differences` (Fig. 3),
   :func:`best_so_far` (accuracy against wall time and against trained candidates).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from edgelearn.cnn_space import (Architecture, CandidateCache, Executor, SearchSpace, TrainConfig,
                                 arch_name, collapses, decode_action, evaluate_many)
from edgelearn.rl import OrnsteinUhlenbeckNoise, ReplayBuffer, linear_schedule, soft_update
from edgelearn.scales import check_scale

N_ACTIONS = 4
POLICIES = ("trl", "random", "metaqnn")


# --------------------------------------------------------------------------------------------
# 1. Configuration
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TRLConfig:
    """Every knob of a search (paper Section IV and the authors' code, see NOTES).

    ``episodes`` of ``models_per_episode`` models; ``opt_rounds`` DDPG updates per episode once the
    replay buffer holds ``warmup`` transitions (the paper: when the 20,000-slot buffer is full);
    exploration noise during the first ``explore_fraction`` of the episodes, then exploitation.
    Candidates train on ``train.device`` (:class:`~edgelearn.cnn_space.TrainConfig`): ``"cpu"`` at the
    smoke and laptop scales (deterministic), ``"auto"`` at the paper scale (a GPU when there is one);
    the agent itself always runs on the CPU (see :class:`Agent`).
    """

    train: TrainConfig = TrainConfig()
    space: SearchSpace = SearchSpace()
    episodes: int = 300
    models_per_episode: int = 10
    opt_rounds: int = 5
    buffer_size: int = 20_000
    warmup: int = 20_000
    batch_size: int = 16
    actor_lr: float = 1e-5
    critic_lr: float = 1e-4
    tau: float = 0.01
    gamma: float = 1.0
    ou_theta: float = 0.15
    ou_sigma: float = 0.2
    explore_fraction: float = 0.8
    min_improvement: float = 1e-3
    min_accuracy: float = 0.6
    penalty: float = -1.0
    d_model: int = 64
    n_blocks: int = 2
    n_heads: int = 4
    expansion: int = 4
    dropout: float = 0.2
    seeds: tuple[int, ...] = (0,)
    workers: int = 3
    backend: str = "process"

    def __post_init__(self) -> None:
        ints = {"episodes": 1, "models_per_episode": 1, "opt_rounds": 0, "buffer_size": 1, "warmup": 1,
                "batch_size": 1, "d_model": 1, "n_blocks": 1, "n_heads": 1, "expansion": 1, "workers": 1}
        for name, low in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ValueError(f"'{name}' must be an integer >= {low}; got {v!r}")
        for name, lo, hi in (("actor_lr", 0, 1), ("critic_lr", 0, 1), ("tau", 0, 1), ("gamma", 0, 1),
                             ("explore_fraction", 0, 1), ("min_improvement", -1, 1), ("min_accuracy", 0, 1),
                             ("dropout", 0, 1), ("ou_theta", 0, 10), ("ou_sigma", 0, 10)):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise ValueError(f"'{name}' must lie in [{lo}, {hi}]; got {v!r}")
        if self.tau == 0 or self.actor_lr == 0 or self.critic_lr == 0:
            raise ValueError("'tau', 'actor_lr' and 'critic_lr' must be > 0")
        if self.d_model % self.n_heads:
            raise ValueError(f"'d_model' ({self.d_model}) must be divisible by 'n_heads' ({self.n_heads})")
        if self.warmup > self.buffer_size:
            raise ValueError(f"'warmup' must be <= 'buffer_size' = {self.buffer_size}; got {self.warmup}")
        if not -1 <= self.penalty <= 0:
            raise ValueError(f"'penalty' must lie in [-1, 0]; got {self.penalty}")
        if self.backend not in ("serial", "process", "ray"):
            raise ValueError(f"'backend' must be one of ['serial', 'process', 'ray']; got {self.backend!r}")
        if not self.seeds or not all(isinstance(s, int) and s >= 0 for s in self.seeds):
            raise ValueError(f"'seeds' must be a non-empty tuple of integers >= 0; got {self.seeds!r}")

    @property
    def max_layers(self) -> int:
        return self.space.max_layers

    def key(self) -> str:
        """A hash of the configuration (checkpoints of another configuration are refused); the
        training config enters through :meth:`TrainConfig.key_fields` (a CPU run keeps its key)."""
        fields = dataclasses.asdict(self) | {"train": self.train.key_fields()}
        spec = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha256(spec.encode()).hexdigest()[:12]


SCALES: dict[str, TRLConfig] = {
    "smoke": TRLConfig(train=TrainConfig(n_train=256, n_val=512, epochs=1), episodes=2, models_per_episode=3,
                       warmup=4, buffer_size=64, seeds=(0,), workers=1, backend="serial"),
    # timed on the 2-core machine: about 0.5 s per candidate at 500 images, one epoch
    "laptop": TRLConfig(train=TrainConfig(n_train=500, n_val=600, epochs=1), episodes=5, models_per_episode=4,
                        warmup=16, buffer_size=2_000, seeds=(0, 1, 2), workers=2, backend="process"),
    # 300 x 10 candidates of 5 epochs on 20,000 images: for a GPU machine or a cluster ("auto": cuda if present)
    "paper": TRLConfig(train=TrainConfig(n_train=20_000, n_val=10_000, epochs=5, device="auto"), episodes=300,
                       models_per_episode=10, seeds=(0,), workers=3, backend="process"),
}


def scale_config(scale: str) -> TRLConfig:
    """The :class:`TRLConfig` of ``scale`` (``smoke``, ``laptop`` or ``paper``)."""
    return SCALES[check_scale(scale)]


# --------------------------------------------------------------------------------------------
# 2-3. State representation and the transformer actor and critic
# --------------------------------------------------------------------------------------------

class IMR(nn.Module):
    """The static Intermediate Model Representation: tanh(W1 a + W2 p) -> d values, never trained."""

    def __init__(self, n_perf: int, d_model: int = 64, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.linear = nn.Linear(N_ACTIONS + n_perf, d_model)
        self.requires_grad_(False)

    def forward(self, action: torch.Tensor, perf: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(torch.cat([action, perf], dim=-1)))


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """:math:`PE_{(pos, 2i)} = \\sin(pos / 10000^{2i/d})`, :math:`PE_{(pos, 2i+1)} = \\cos(\\cdot)` (Vaswani et al.)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10_000.0) * torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    pe = torch.zeros(length, d_model)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


class AttentionBlock(nn.Module):
    """Multi-head self-attention (no causal mask) then a position-wise FFN d -> e*d -> d, each with
    dropout, a residual connection and LayerNorm. Returns the output and the softmax attention
    weights (batch, heads, query, key)."""

    def __init__(self, d_model: int, n_heads: int, expansion: int, dropout: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=0.0, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, expansion * d_model), nn.ReLU(),
                                 nn.Linear(expansion * d_model, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out, weights = self.attn(x, x, x, need_weights=True, average_attn_weights=False)
        h = self.norm1(x + self.drop(out))
        return self.norm2(h + self.drop(self.ffn(h))), weights, out


class TransformerStack(nn.Module):
    """Embedding (Linear, scaled by sqrt(d)) + sinusoidal positions + ``n_blocks`` attention blocks."""

    def __init__(self, length: int, d_in: int, cfg: TRLConfig) -> None:
        super().__init__()
        self.embed = nn.Linear(d_in, cfg.d_model)
        self.scale = math.sqrt(cfg.d_model)
        self.register_buffer("positions", sinusoidal_positions(length, cfg.d_model))
        self.blocks = nn.ModuleList(AttentionBlock(cfg.d_model, cfg.n_heads, cfg.expansion, cfg.dropout)
                                    for _ in range(cfg.n_blocks))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        x = self.drop(self.embed(tokens) * self.scale + self.positions)
        weights, outputs = [], []
        for block in self.blocks:
            x, w, o = block(x)
            weights.append(w)
            outputs.append(o)
        return x, weights, outputs


class Actor(nn.Module):
    """mu(s): the 6 x 64 state through the stack, flattened, Linear -> sigmoid: an action in [0, 1]^4."""

    def __init__(self, cfg: TRLConfig) -> None:
        super().__init__()
        self.stack = TransformerStack(cfg.max_layers, cfg.d_model, cfg)
        self.head = nn.Linear(cfg.max_layers * cfg.d_model, N_ACTIONS)

    def forward(self, state: torch.Tensor, return_attention: bool = False):
        h, weights, outputs = self.stack(state)
        action = torch.sigmoid(self.head(h.flatten(1)))
        return (action, weights, outputs) if return_attention else action


class Critic(nn.Module):
    """Q(s, a) in [-1, 1]: the 6 state tokens and an action token through the stack, Linear -> tanh."""

    def __init__(self, cfg: TRLConfig) -> None:
        super().__init__()
        self.action_embed = nn.Linear(N_ACTIONS, cfg.d_model)
        self.stack = TransformerStack(cfg.max_layers + 1, cfg.d_model, cfg)
        self.head = nn.Linear((cfg.max_layers + 1) * cfg.d_model, 1)

    def forward(self, state: torch.Tensor, action: torch.Tensor, return_attention: bool = False):
        tokens = torch.cat([state, self.action_embed(action)[:, None, :]], dim=1)
        h, weights, _ = self.stack(tokens)
        q = torch.tanh(self.head(h.flatten(1))).squeeze(1)
        return (q, weights) if return_attention else q


# --------------------------------------------------------------------------------------------
# 4. DDPG
# --------------------------------------------------------------------------------------------

class Agent:
    """DDPG (Lillicrap et al. 2016) with the transformer actor and critic, their target copies,
    Adam (actor 1e-5, critic 1e-4), a replay buffer and Ornstein-Uhlenbeck noise.

    The agent stays on the CPU whatever ``cfg.train.device`` says: actor and critic have about
    0.1 M parameters each and see minibatches of 16 states of 6 x 64 values, a few updates per
    episode, so a GPU would gain nothing next to the candidates' training (which is what
    ``device`` moves) and would cost a CUDA context in the search process, which also spawns the
    workers. Candidate results come back as Python floats, so nothing crosses devices here.
    """

    def __init__(self, cfg: TRLConfig, seed: int = 0) -> None:
        self.cfg = cfg
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.actor, self.critic = Actor(cfg), Critic(cfg)
            self.actor_target, self.critic_target = Actor(cfg), Critic(cfg)
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.actor_target.requires_grad_(False)
        self.critic_target.requires_grad_(False)
        self.imr = IMR(cfg.train.perf_batches, cfg.d_model, seed=seed)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.buffer = ReplayBuffer(cfg.buffer_size, (cfg.max_layers, cfg.d_model), seed=seed,
                                   action_shape=(N_ACTIONS,), action_dtype=torch.float32)
        self.noise = OrnsteinUhlenbeckNoise((cfg.models_per_episode, N_ACTIONS), cfg.ou_theta, cfg.ou_sigma,
                                            seed=seed + 1)
        self.dropout_rng = torch.Generator().manual_seed(seed + 2)
        self.updates = 0

    def initial_state(self, n: int) -> torch.Tensor:
        return torch.full((n, self.cfg.max_layers, self.cfg.d_model), -1.0)

    @torch.no_grad()
    def act(self, state: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The deterministic action mu(s) (networks in eval mode), plus ``noise``, clipped to [0, 1]."""
        self.actor.eval()
        action = self.actor(state)
        return action if noise is None else (action + noise).clamp(0.0, 1.0)

    def update(self) -> dict[str, float]:
        """One DDPG step on a minibatch: critic to y = r + gamma (1 - d) Q'(s', mu'(s')), actor up
        the critic's gradient, then soft target updates with tau."""
        cfg = self.cfg
        batch = self.buffer.sample(cfg.batch_size)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=self.dropout_rng)))
            self.actor.train()
            self.critic.train()
            with torch.no_grad():
                self.actor_target.eval()
                self.critic_target.eval()
                next_q = self.critic_target(batch["next_obs"], self.actor_target(batch["next_obs"]))
                target = batch["reward"] + cfg.gamma * (1.0 - batch["done"]) * next_q
            critic_loss = F.mse_loss(self.critic(batch["obs"], batch["action"]), target)
            self.critic_opt.zero_grad(set_to_none=True)
            critic_loss.backward()
            self.critic_opt.step()
            actor_loss = -self.critic(batch["obs"], self.actor(batch["obs"])).mean()
            self.actor_opt.zero_grad(set_to_none=True)
            actor_loss.backward()
            self.actor_opt.step()
        soft_update(self.actor_target, self.actor, cfg.tau)
        soft_update(self.critic_target, self.critic, cfg.tau)
        self.updates += 1
        return {"critic_loss": critic_loss.item(), "actor_loss": actor_loss.item()}

    def state_dict(self) -> dict[str, Any]:
        return {"actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
                "actor_target": self.actor_target.state_dict(), "critic_target": self.critic_target.state_dict(),
                "actor_opt": self.actor_opt.state_dict(), "critic_opt": self.critic_opt.state_dict(),
                "buffer": {k: getattr(self.buffer, k) for k in ("obs", "next_obs", "action", "reward", "done",
                                                                  "position", "size")},
                "buffer_rng": self.buffer.generator.get_state(), "noise_rng": self.noise.generator.get_state(),
                "noise_state": self.noise.state, "dropout_rng": self.dropout_rng.get_state(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ("actor", "critic", "actor_target", "critic_target", "actor_opt", "critic_opt"):
            getattr(self, name).load_state_dict(state[name])
        for k, v in state["buffer"].items():
            setattr(self.buffer, k, v)
        self.buffer.generator.set_state(state["buffer_rng"])
        self.noise.generator.set_state(state["noise_rng"])
        self.noise.state = state["noise_state"]
        self.dropout_rng.set_state(state["dropout_rng"])
        self.updates = state["updates"]


# --------------------------------------------------------------------------------------------
# 5. The environment step: progressive reward and stopping rules
# --------------------------------------------------------------------------------------------

def step_rewards(perf: torch.Tensor, prev_perf: torch.Tensor, collapsed: torch.Tensor, depth: int,
                 cfg: TRLConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Rewards and done flags of a batch of steps (paper Section IV).

    ``perf`` and ``prev_perf``: (n, 32) per-batch validation accuracies after and before the new
    layer (zeros before the first). Reward :math:`r_t = \\frac{1}{32}\\sum_b (p_{t,b} - p_{t-1,b})`, so that
    with :math:`\\gamma = 1` the return telescopes to the final model's accuracy; a collapsed
    architecture gets ``cfg.penalty``. Done: collapse, ``depth`` (layers so far) = max layers,
    reward < ``min_improvement``, or accuracy < ``min_accuracy``.
    """
    reward = (perf - prev_perf).mean(dim=1)
    reward = torch.where(collapsed, torch.full_like(reward, cfg.penalty), reward)
    accuracy = perf.mean(dim=1)
    done = collapsed | (reward < cfg.min_improvement) | (accuracy < cfg.min_accuracy) | (depth >= cfg.max_layers)
    return reward, done


# --------------------------------------------------------------------------------------------
# 6. The search
# --------------------------------------------------------------------------------------------

class MetaQNN:
    """A MetaQNN-style searcher (Baker et al. 2017): tabular Q-learning over layers, epsilon-greedy.

    State: (depth, previous layer); action: the next layer. Unseen actions have the optimistic
    initial value 0.5 (MetaQNN's). Greedy: the best seen action if its value is at least 0.5,
    else a fresh random layer; with probability epsilon (linear from 1 to 0.1 over the episodes)
    a random layer, drawn exactly as random search draws it. After each episode the Q-table is
    updated, with learning rate ``alpha`` and gamma = 1, on up to ``replay`` stored trajectories
    (the newest included), backwards; a trajectory's only reward is its return, the telescoped
    sum of TRL-HPO's rewards (the final accuracy, or minus 1 for a collapse).
    """

    def __init__(self, episodes: int, alpha: float = 0.01, replay: int = 100, q_init: float = 0.5,
                 eps_start: float = 1.0, eps_end: float = 0.1) -> None:
        self.q: dict[tuple[Any, str], dict[str, float]] = {}
        self.actions: dict[tuple[Any, str], torch.Tensor] = {}  # (state, layer) -> an action that decodes to it
        self.memory: list[list[tuple[Any, str, Any]]] = []
        self.alpha, self.replay, self.q_init = alpha, replay, q_init
        self.epsilon = linear_schedule(eps_start, eps_end, max(episodes - 1, 1))

    @staticmethod
    def state_key(depth: int, arch: Sequence[Any]) -> tuple[int, str]:
        return depth, str(arch[-1]) if arch else "input"

    def propose(self, key: tuple[int, str], random_action: torch.Tensor, episode: int,
                rng: torch.Generator) -> torch.Tensor:
        """The action vector for state ``key``: ``random_action`` when exploring or nothing good is known."""
        row = self.q.get(key, {})
        explore = float(torch.rand(1, generator=rng)) < self.epsilon(episode)
        if explore or not row or max(row.values()) < self.q_init:
            return random_action
        return self.actions[key, max(row, key=row.get)]

    def remember(self, trajectory: list[tuple[Any, str, Any]], actions: list[torch.Tensor], ret: float) -> None:
        for (key, name, _), a in zip(trajectory, actions):
            self.actions.setdefault((key, name), a.clone())
        self.memory.append([(k, n, None) for k, n, _ in trajectory[:-1]] + [(*trajectory[-1][:2], ret)])

    def learn(self, rng: torch.Generator) -> None:
        picks = torch.randperm(len(self.memory), generator=rng)[:self.replay - 1].tolist()
        for i in sorted(set(picks) | {len(self.memory) - 1}):
            traj = self.memory[i]
            for j in reversed(range(len(traj))):
                key, name, ret = traj[j]
                if ret is None:  # bootstrap from the next state's best value (gamma = 1)
                    nxt = self.q.get(traj[j + 1][0], {})
                    target = max([self.q_init, *nxt.values()])
                else:
                    target = ret
                row = self.q.setdefault(key, {})
                old = row.get(name, self.q_init)
                row[name] = old + self.alpha * (target - old)


@dataclass
class SearchResult:
    """What a search produced: one row per generated layer (``steps``), the terminal state of every
    model (``final_states``, for the attention analysis), DDPG losses and the agent (None for random)."""

    steps: pd.DataFrame
    final_states: torch.Tensor
    losses: pd.DataFrame
    agent: Agent | None
    wall_seconds: float
    cache_hits: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _checkpoint_save(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def run_search(cfg: TRLConfig, seed: int, executor: Executor, cache: CandidateCache, policy: str = "trl",
               data_tag: str = "", budget: int | None = None, checkpoint: str | os.PathLike | None = None,
               progress: bool = False, stop_after: int | None = None) -> SearchResult:
    """TRL-HPO (``policy="trl"``), random search (``"random"``) or MetaQNN (``"metaqnn"``) over ``cfg.space``.

    Each episode generates ``cfg.models_per_episode`` models in parallel, one layer position at a
    time: the actor (or a uniform draw) proposes a layer for every unfinished model, collapsed
    architectures get the penalty, the others are trained through ``executor`` (distinct, uncached
    ones only) and scored; transitions go to the replay buffer. TRL-HPO then runs ``cfg.opt_rounds``
    DDPG updates once the buffer holds ``cfg.warmup`` transitions; OU noise is added during the first
    ``cfg.explore_fraction`` of the episodes (exploration), not after (exploitation).

    ``budget``: stop after the episode in which this many candidates have been trained (a baseline
    at TRL-HPO's budget; then at most ``20 * cfg.episodes`` episodes, since cache hits are free). ``checkpoint``: a file
    written after every episode; an existing one of the same configuration, seed and policy is
    resumed (at most the running episode is lost). ``stop_after``: end after this many episodes
    of this call (to test resuming). Wall time counts the search only, resumed runs included.
    """
    if policy not in POLICIES:
        raise ValueError(f"'policy' must be one of {list(POLICIES)}; got {policy!r}")
    agent = Agent(cfg, seed) if policy == "trl" else None
    meta = MetaQNN(cfg.episodes) if policy == "metaqnn" else None
    imr = agent.imr if agent is not None else IMR(cfg.train.perf_batches, cfg.d_model, seed=seed)
    rng = torch.Generator().manual_seed(seed + 10_000)
    rows: list[dict[str, Any]] = []
    finals: list[torch.Tensor] = []
    losses: list[dict[str, Any]] = []
    episode, trained_total, elapsed = 0, 0, 0.0
    key = {"config": cfg.key(), "seed": seed, "policy": policy, "budget": budget, "data": data_tag}
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.is_file():
        saved = torch.load(path, weights_only=False)
        if saved["key"] != key:
            raise ValueError(f"checkpoint {path} belongs to another run ({saved['key']}); expected {key}")
        rows, finals, losses = saved["rows"], saved["finals"], saved["losses"]
        episode, trained_total, elapsed = saved["episode"], saved["trained_total"], saved["elapsed"]
        rng.set_state(saved["rng"])
        if meta is not None:
            meta.q, meta.actions, meta.memory = saved["metaqnn"]
        if agent is not None:
            agent.load_state_dict(saved["agent"])
        for k, v in saved["cache"].items():
            cache.put(k, v)
    n_explore = int(cfg.explore_fraction * cfg.episodes)  # the first 80 % of the episodes explore
    total = None if budget is not None else cfg.episodes
    bar = tqdm(total=total, initial=episode, disable=not progress, desc=f"{policy} seed {seed}", leave=False)
    start, done_here, d = time.perf_counter() - elapsed, 0, cfg.d_model
    M, L = cfg.models_per_episode, cfg.max_layers
    while (episode < cfg.episodes if budget is None else trained_total < budget and episode < 20 * cfg.episodes):
        if stop_after is not None and done_here >= stop_after:
            break
        explore = policy == "trl" and episode < n_explore
        phase = policy if policy != "trl" else ("explore" if explore else "exploit")
        trajectories: list[list] = [[] for _ in range(M)]
        traj_actions: list[list] = [[] for _ in range(M)]
        returns = [0.0] * M
        state = torch.full((M, L, d), -1.0)
        prev_perf = torch.zeros(M, cfg.train.perf_batches)
        archs: list[list] = [[] for _ in range(M)]
        active = torch.ones(M, dtype=torch.bool)
        if agent is not None:
            agent.noise.reset()
        for t in range(L):
            idx = torch.nonzero(active).flatten()
            if len(idx) == 0:
                break
            if agent is not None:
                noise = agent.noise.sample()[idx] if explore else None
                actions = agent.act(state[idx], noise)
            else:
                actions = torch.rand(len(idx), N_ACTIONS, generator=rng)
                if meta is not None:
                    actions = torch.stack([meta.propose(meta.state_key(t, archs[i]), a, episode, rng)
                                           for a, i in zip(actions, idx.tolist())])
            layers = [decode_action(a, archs[i][-1].kind if archs[i] else None, cfg.space)
                      for a, i in zip(actions, idx.tolist())]
            cands: list[Architecture] = [tuple(archs[i]) + (layer,) for layer, i in zip(layers, idx.tolist())]
            collapsed = torch.tensor([collapses(c) for c in cands])
            good = [c for c, bad in zip(cands, collapsed.tolist()) if not bad]
            results, trained = evaluate_many(good, executor, cache, cfg.train, seed, data_tag) if good else ([], [])
            res_iter, tr_iter = iter(results), iter(trained)
            perf = torch.zeros(len(idx), cfg.train.perf_batches)
            info = []
            for j, bad in enumerate(collapsed.tolist()):
                if bad:
                    info.append((None, False))
                else:
                    r = next(res_iter)
                    perf[j] = torch.tensor(r["perf"])
                    info.append((r, next(tr_iter)))
            reward, done = step_rewards(perf, prev_perf[idx], collapsed, t + 1, cfg)
            next_state = state[idx].clone()
            next_state[:, t] = imr(actions, perf)
            if agent is not None:
                agent.buffer.add(state[idx], actions, reward, next_state, done.float())
            now = time.perf_counter() - start
            for j, i in enumerate(idx.tolist()):
                r, was_trained = info[j]
                trained_total += int(was_trained)
                rows.append({"policy": policy, "seed": seed, "episode": episode, "model": i, "step": t,
                             "phase": phase, "arch": arch_name(cands[j]), "kind": cands[j][-1].kind,
                             "prev_kind": cands[j][-2].kind if t > 0 else "input",
                             "collapsed": bool(collapsed[j]), "trained": bool(was_trained),
                             "reward": float(reward[j]), "accuracy": float(perf[j].mean()),
                             "val_accuracy": float(r["val_accuracy"]) if r else 0.0,
                             "flops": int(r["flops"]) if r else 0, "params": int(r["params"]) if r else 0,
                             "train_seconds": float(r["train_seconds"]) if r else 0.0,
                             "done": bool(done[j]), "wall_s": now, "n_trained": trained_total,
                             **{f"a{k}": float(actions[j, k]) for k in range(N_ACTIONS)}})
                if meta is not None:
                    trajectories[i].append((meta.state_key(t, archs[i]), str(cands[j][-1]), None))
                    traj_actions[i].append(actions[j])
                    returns[i] += float(reward[j])
                archs[i] = list(cands[j])
            state[idx] = next_state
            prev_perf[idx] = perf
            active[idx[done]] = False
        finals.append(state.clone())
        if meta is not None:
            for i in range(M):
                meta.remember(trajectories[i], traj_actions[i], returns[i])
            meta.learn(rng)
        if agent is not None and len(agent.buffer) >= cfg.warmup:
            for _ in range(cfg.opt_rounds):
                losses.append({"episode": episode, "update": agent.updates, **agent.update()})
        episode += 1
        done_here += 1
        bar.update(1)
        if path is not None:
            _checkpoint_save(path, {"key": key, "rows": rows, "finals": finals, "losses": losses, "episode": episode,
                                    "trained_total": trained_total, "elapsed": time.perf_counter() - start,
                                    "rng": rng.get_state(), "agent": agent.state_dict() if agent else None,
                                    "metaqnn": (meta.q, meta.actions, meta.memory) if meta else None,
                                    "cache": dict(cache.store)})
    bar.close()
    steps = pd.DataFrame(rows)
    return SearchResult(steps, torch.cat(finals) if finals else torch.empty(0, L, d), pd.DataFrame(losses), agent,
                        time.perf_counter() - start, cache.hits)


# --------------------------------------------------------------------------------------------
# 7. Analysis
# --------------------------------------------------------------------------------------------

KIND_LABEL = {"conv": "Conv", "fc": "FC", "pool": "MaxPool", "input": "input"}


def negative_reward_pairs(steps: pd.DataFrame) -> pd.DataFrame:
    """Fig. 2: the (previous layer, layer) pairs of trained layers with a negative reward, counted.

    Collapsed layers (penalty, never trained) are left out; their count is in ``collapsed``.
    """
    neg = steps[(steps.reward < 0) & ~steps.collapsed]
    pairs = (neg.prev_kind.map(KIND_LABEL) + "→" + neg.kind.map(KIND_LABEL)).value_counts()
    out = pairs.rename_axis("pair").reset_index(name="count")
    out["share"] = out["count"] / max(int(out["count"].sum()), 1)
    return out


@torch.no_grad()
def slot_attention(actor: Actor, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention each of the 6 slots receives in the actor's first block, for each state.

    Returns (true, authors'): ``true`` is the softmax attention weight received by slot j, averaged
    over heads and query positions (rows sum to 1); ``authors'`` is the quantity of the authors'
    code: a softmax over positions of the first block's attention output, averaged over features.
    """
    actor.eval()
    _, weights, outputs = actor(states, return_attention=True)
    received = weights[0].mean(dim=(1, 2))  # (n, key)
    proxy = torch.softmax(outputs[0].mean(dim=2), dim=1)
    return received, proxy


def attention_differences(result: SearchResult) -> pd.DataFrame:
    """Fig. 3: for every model with a trained negative-reward layer, the attention on its best-reward
    layer minus the attention on each negative-reward layer (final actor, the model's final state)."""
    if result.agent is None or result.steps.empty:
        return pd.DataFrame(columns=["seed", "episode", "model", "best_step", "neg_step", "diff_attention",
                                     "diff_authors"])
    received, proxy = slot_attention(result.agent.actor, result.final_states)
    M = result.agent.cfg.models_per_episode
    rows = []
    for (episode, model), g in result.steps.groupby(["episode", "model"]):
        g = g[~g.collapsed]
        neg = g[g.reward < 0]
        if neg.empty:
            continue
        best = int(g.loc[g.reward.idxmax(), "step"])
        n = int(episode) * M + int(model)
        for s in neg.step.astype(int):
            rows.append({"seed": int(g.seed.iloc[0]), "episode": int(episode), "model": int(model), "best_step": best,
                         "neg_step": s, "diff_attention": float(received[n, best] - received[n, s]),
                         "diff_authors": float(proxy[n, best] - proxy[n, s])})
    return pd.DataFrame(rows, columns=["seed", "episode", "model", "best_step", "neg_step", "diff_attention",
                                       "diff_authors"])


def best_so_far(steps: pd.DataFrame, metric: str = "val_accuracy") -> pd.DataFrame:
    """Best ``metric`` among the trained candidates so far, against wall time and trained count."""
    s = steps[~steps.collapsed].sort_values(["wall_s", "n_trained"])
    return pd.DataFrame({"policy": s.policy.values, "seed": s.seed.values, "wall_s": s.wall_s.values,
                         "n_trained": s.n_trained.values, "best": s[metric].cummax().values})
