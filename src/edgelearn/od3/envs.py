"""The environments of the OD3 chapter, as seeded gymnasium environments.

* ``"cartpole"`` — gymnasium's CartPole-v1 (4-dimensional vector observations; the laptop scale);
* ``"minatar:<game>"`` — a MinAtar game (Young & Tian 2019) through **MinAtar's own gymnasium
  registration** (``minatar.gym.register_envs``, ids such as ``MinAtar/Breakout-v1``: the minimal
  action set), observations made channel-first float by :class:`ChannelFirst`;
* ``"pong"`` — Atari Pong through ale-py with DQN's preprocessing (the paper scale).

Seed an environment through ``reset(seed=...)``; the training loop of :mod:`edgelearn.od3.od3`
wraps it in gymnasium's ``RecordEpisodeStatistics`` for the episode returns.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

MINATAR_MAX_STEPS = 10_000
"""Truncation of a MinAtar episode (gymnasium's ``TimeLimit``)."""


class ChannelFirst(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """MinAtar's ``HxWxC`` boolean maps as ``(C, H, W)`` float32 arrays of 0/1, the layout the networks take.

    MinAtar's environment seeds the game's own generator in ``reset(seed=...)`` (sticky actions and
    the game's randomness: a seeded episode is reproducible) but skips ``gymnasium.Env.reset``, so
    the environment's ``np_random`` stays unseeded and gymnasium's checker refuses it; the wrapper
    seeds that too (the game itself never draws from it).
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)  # lets gymnasium rebuild the env from its spec
        gym.ObservationWrapper.__init__(self, env)
        h, w, c = env.observation_space.shape
        self.observation_space = gym.spaces.Box(0.0, 1.0, (c, h, w), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            gym.Env.reset(self.unwrapped, seed=seed)
        return super().reset(seed=seed, options=options)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(observation.transpose(2, 0, 1), dtype=np.float32)


def minatar_env(game: str = "breakout", sticky_action_prob: float = 0.1) -> gym.Env:
    """MinAtar ``game`` (e.g. ``breakout``, ``space_invaders``) from MinAtar's gymnasium registration."""
    import minatar.gym

    if not 0 <= sticky_action_prob <= 1:
        raise ValueError(f"'sticky_action_prob' must lie in [0, 1], got {sticky_action_prob}")
    if not any(env_id.startswith("MinAtar/") for env_id in gym.registry):
        minatar.gym.register_envs()
    env_id = f"MinAtar/{game.title().replace('_', '')}-v1"
    if env_id not in gym.registry:
        raise ValueError(f"'name' names no MinAtar game: {game!r} (no {env_id} registered)")
    env = gym.make(env_id, max_episode_steps=MINATAR_MAX_STEPS, sticky_action_prob=sticky_action_prob)
    return ChannelFirst(env)


def atari_env(game: str = "ALE/Pong-v5") -> gym.Env:
    """Atari through ale-py with DQN's preprocessing: 84x84 greyscale, frame skip 4, 4 stacked frames."""
    import ale_py

    gym.register_envs(ale_py)
    env = gym.make(game, frameskip=1, repeat_action_probability=0.0)
    env = gym.wrappers.AtariPreprocessing(env, frame_skip=4, screen_size=84, noop_max=30, terminal_on_life_loss=False)
    return gym.wrappers.FrameStackObservation(env, 4)


def make_env(name: str) -> gym.Env:
    """``"cartpole"``, ``"minatar:<game>"`` (e.g. ``minatar:breakout``) or ``"pong"``; seed it via ``reset``."""
    if name == "cartpole":
        return gym.make("CartPole-v1")
    if isinstance(name, str) and name.startswith("minatar:"):
        return minatar_env(name.split(":", 1)[1])
    if name == "pong":
        return atari_env("ALE/Pong-v5")
    raise ValueError(f"'name' must be 'cartpole', 'minatar:<game>' or 'pong', got {name!r}")


def env_spaces(name: str) -> tuple[tuple[int, ...], int]:
    """The observation shape and the number of actions of environment ``name``."""
    env = make_env(name)
    shape, n = tuple(env.observation_space.shape), int(env.action_space.n)
    env.close()
    return shape, n
