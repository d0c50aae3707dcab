r"""Small deep-RL runs for the foundations chapter: DQN / Double DQN on CartPole-v1 and DDPG on Pendulum-v1.

Both are written top to bottom in one function each, from the shared pieces of :mod:`edgelearn.core.rl`
(:class:`~edgelearn.core.rl.ReplayBuffer`, :func:`~edgelearn.core.rl.dqn_loss` with
:func:`~edgelearn.core.rl.td_target`, :func:`~edgelearn.core.rl.hard_update`,
:func:`~edgelearn.core.rl.soft_update`, :class:`~edgelearn.core.rl.OrnsteinUhlenbeckNoise`,
:func:`~edgelearn.core.rl.linear_schedule`), so that the chapter's equations can be read off the code:

* :func:`train_dqn` — DQN (eq-rl-dqn-target) with uniform replay and a target network copied every
  ``target_period`` steps; ``double=True`` uses the Double DQN target (eq-rl-ddqn-target). Per episode it
  records the return, and how far the network's value of the start state, :math:`\max_a Q_\theta(s_0, a)`,
  lies above the discounted return that followed (the over-estimation of prop-rl-overestimation);
* :func:`train_ddpg` — DDPG (eq-rl-ddpg-critic, eq-rl-dpg) with soft target updates at rate :math:`\tau`
  and Ornstein-Uhlenbeck exploration noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from edgelearn.core.rl import (
    OrnsteinUhlenbeckNoise,
    ReplayBuffer,
    dqn_loss,
    epsilon_greedy,
    hard_update,
    linear_schedule,
    soft_update,
)
from edgelearn.core.seeding import derive_seed, seeded, torch_generator


def mlp(n_in: int, n_out: int, hidden: int, out: nn.Module | None = None) -> nn.Sequential:
    """Two hidden ReLU layers of ``hidden`` units; ``out`` (e.g. ``nn.Tanh()``) after the last layer."""
    layers = [nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_out)]
    return nn.Sequential(*layers, *([out] if out is not None else []))


@dataclass(frozen=True)
class DQNConfig:
    """DQN on CartPole-v1; ``steps`` environment steps in all, one update per step after ``warmup``."""

    steps: int = 10_000
    hidden: int = 64
    lr: float = 1e-3
    gamma: float = 0.99
    buffer: int = 10_000
    batch: int = 64
    warmup: int = 500
    target_period: int = 250
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_fraction: float = 0.3


def _check_steps(steps: int, warmup: int) -> None:
    if steps < 1 or warmup < 1:
        raise ValueError(f"need steps >= 1 and warmup >= 1, got {steps}, {warmup}")


def train_dqn(cfg: DQNConfig, seed: int, double: bool = False) -> pd.DataFrame:
    """Train (Double) DQN on CartPole-v1; one row per finished episode with ``step`` (when it ended),
    ``return``, ``q_start`` (max_a Q(s_0, a) when the episode began), ``discounted_return`` from s_0 and
    ``overestimation`` = q_start - discounted_return."""
    import gymnasium as gym

    _check_steps(cfg.steps, cfg.warmup)
    env = gym.make("CartPole-v1")
    n_obs, n_act = env.observation_space.shape[0], int(env.action_space.n)
    with seeded(derive_seed("foundations", "dqn", seed)):
        online = mlp(n_obs, n_act, cfg.hidden)
        target = mlp(n_obs, n_act, cfg.hidden)
    hard_update(target, online)
    opt = torch.optim.Adam(online.parameters(), lr=cfg.lr)
    buffer = ReplayBuffer(cfg.buffer, (n_obs,), seed=derive_seed("foundations", "dqn-replay", seed))
    generator = torch_generator(derive_seed("foundations", "dqn-explore", seed) % 2**32)
    epsilon = linear_schedule(cfg.eps_start, cfg.eps_end, max(1, int(cfg.eps_fraction * cfg.steps)))
    rows, rewards = [], []
    obs, _ = env.reset(seed=seed)
    obs_t = torch.as_tensor(obs, dtype=torch.float32)
    with torch.no_grad():
        q_start = float(online(obs_t).max())
    for step in range(cfg.steps):
        with torch.no_grad():
            action = int(epsilon_greedy(online(obs_t.unsqueeze(0)), epsilon(step), generator))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        next_t = torch.as_tensor(next_obs, dtype=torch.float32)
        buffer.add(obs_t, action, reward, next_t, terminated)  # a time-out is not a terminal state
        rewards.append(reward)
        obs_t = next_t
        if step >= cfg.warmup:
            loss, _ = dqn_loss(online, target, buffer.sample(cfg.batch), cfg.gamma, double=double)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if (step - cfg.warmup) % cfg.target_period == 0:
                hard_update(target, online)
        if terminated or truncated:
            discounted = float(np.sum(np.array(rewards) * cfg.gamma ** np.arange(len(rewards))))
            rows.append(
                {"step": step + 1, "return": float(sum(rewards)), "q_start": q_start, "discounted_return": discounted}
            )
            rewards = []
            obs, _ = env.reset()
            obs_t = torch.as_tensor(obs, dtype=torch.float32)
            with torch.no_grad():
                q_start = float(online(obs_t).max())
    env.close()
    df = pd.DataFrame(rows)
    df["overestimation"] = df.q_start - df.discounted_return
    df.insert(0, "method", "Double DQN" if double else "DQN")
    df.insert(1, "seed", seed)
    df.insert(2, "episode", np.arange(len(df)))
    return df


@dataclass(frozen=True)
class DDPGConfig:
    """DDPG on Pendulum-v1 (episodes of 200 steps; actions in [-2, 2])."""

    steps: int = 8_000
    hidden: int = 64
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    gamma: float = 0.99
    tau: float = 0.005
    buffer: int = 20_000
    batch: int = 64
    warmup: int = 1_000
    ou_reversion: float = 0.15
    ou_sigma: float = 0.2


def train_ddpg(cfg: DDPGConfig, seed: int) -> pd.DataFrame:
    r"""Train DDPG on Pendulum-v1; one row per episode with ``step`` and ``return``.

    Critic: regress :math:`Q_\theta(s, a)` on :math:`y = r + \gamma(1 - d)\,Q_{\bar\theta}(s', \mu_{\bar\phi}(s'))`;
    actor: ascend :math:`Q_\theta(s, \mu_\phi(s))` in :math:`\phi`; targets: soft updates at rate ``tau``;
    exploration: OU noise (mean reversion ``ou_reversion``, scale ``ou_sigma`` times the largest action)
    added to :math:`\mu_\phi(s)` and clipped, uniform random actions during the ``warmup``."""
    import gymnasium as gym

    _check_steps(cfg.steps, cfg.warmup)
    if not 0 < cfg.tau <= 1:
        raise ValueError(f"'tau' must lie in (0, 1], got {cfg.tau}")
    env = gym.make("Pendulum-v1")
    n_obs, n_act = env.observation_space.shape[0], env.action_space.shape[0]
    high = float(env.action_space.high[0])
    with seeded(derive_seed("foundations", "ddpg", seed)):
        actor, actor_target = (mlp(n_obs, n_act, cfg.hidden, nn.Tanh()) for _ in range(2))
        critic, critic_target = (mlp(n_obs + n_act, 1, cfg.hidden) for _ in range(2))
    hard_update(actor_target, actor)
    hard_update(critic_target, critic)
    actor_opt = torch.optim.Adam(actor.parameters(), lr=cfg.actor_lr)
    critic_opt = torch.optim.Adam(critic.parameters(), lr=cfg.critic_lr)
    buffer = ReplayBuffer(
        cfg.buffer, (n_obs,), seed=derive_seed("foundations", "ddpg-replay", seed) % 2**32,
        action_shape=(n_act,), action_dtype=torch.float32,
    )  # fmt: skip
    noise = OrnsteinUhlenbeckNoise(
        (n_act,), theta=cfg.ou_reversion, sigma=cfg.ou_sigma * high, seed=derive_seed("foundations", "ou", seed) % 2**32
    )
    rng = np.random.default_rng(derive_seed("foundations", "ddpg-warmup", seed))

    def q(net: nn.Module, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return net(torch.cat([s, a / high], dim=1)).squeeze(1)

    rows, episode_return = [], 0.0
    obs, _ = env.reset(seed=seed)
    for step in range(cfg.steps):
        if step < cfg.warmup:
            action = rng.uniform(-high, high, size=n_act)
        else:
            with torch.no_grad():
                mean = high * actor(torch.as_tensor(obs, dtype=torch.float32))
            action = np.clip((mean + noise.sample()).numpy(), -high, high)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        buffer.add(obs, action, reward, next_obs, terminated)
        episode_return += float(reward)
        obs = next_obs
        if step >= cfg.warmup:
            batch = buffer.sample(cfg.batch)
            with torch.no_grad():
                next_action = high * actor_target(batch["next_obs"])
                y = batch["reward"] + cfg.gamma * (1 - batch["done"]) * q(critic_target, batch["next_obs"], next_action)
            critic_loss = ((q(critic, batch["obs"], batch["action"]) - y) ** 2).mean()
            critic_opt.zero_grad()
            critic_loss.backward()
            critic_opt.step()
            actor_loss = -q(critic, batch["obs"], high * actor(batch["obs"])).mean()
            actor_opt.zero_grad()
            actor_loss.backward()  # reaches the critic's parameters too, but only the actor's optimiser steps
            actor_opt.step()
            soft_update(critic_target, critic, cfg.tau)
            soft_update(actor_target, actor, cfg.tau)
        if terminated or truncated:
            rows.append({"step": step + 1, "return": episode_return})
            episode_return = 0.0
            noise.reset()
            obs, _ = env.reset()
    env.close()
    df = pd.DataFrame(rows)
    df.insert(0, "method", "DDPG")
    df.insert(1, "seed", seed)
    df.insert(2, "episode", np.arange(len(df)))
    return df
