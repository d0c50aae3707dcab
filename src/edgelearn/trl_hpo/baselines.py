"""The baselines TRL-HPO is compared with: random search and a MetaQNN-style tabular Q-learner.

Both are policies of :func:`edgelearn.trl_hpo.trl_hpo.search_architectures` with the interface of
the TRL-HPO agent (``begin_episode`` / ``propose`` / ``observe`` / ``end_episode`` and a state dict
for checkpoints), over the same search space, decoding and stopping rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from edgelearn.core.rl import linear_schedule

from .space import N_ACTIONS, Architecture

if TYPE_CHECKING:
    from .trl_hpo import Transitions

StateKey = tuple[int, str]  # (depth, previous layer)


class RandomSearch:
    """Uniform actions in [0, 1]^4, decoded like the actor's: every layer type and value as likely
    as the decoding's bins make it. ``seed`` seeds its generator."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = torch.Generator().manual_seed(seed)

    def begin_episode(self, episode: int) -> str:
        self.episode = episode
        return self.name

    def propose(
        self, position: int, models: list[int], state: torch.Tensor, archs: Sequence[Architecture]
    ) -> torch.Tensor:
        return torch.rand(len(models), N_ACTIONS, generator=self.rng)

    def observe(self, step: Transitions) -> None:
        pass

    def end_episode(self) -> list[dict[str, float]]:
        return []

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.set_state(state["rng"])


class MetaQNN(RandomSearch):
    """A MetaQNN-style searcher (Baker et al. 2017): tabular Q-learning over layers, epsilon-greedy.

    State: (depth, previous layer); action: the next layer. Unseen actions have the optimistic
    initial value 0.5 (MetaQNN's). Greedy: the best seen action if its value is at least 0.5,
    else a fresh random layer; with probability epsilon (linear from 1 to 0.1 over the episodes)
    a random layer, drawn exactly as random search draws it. After each episode the Q-table is
    updated, with learning rate ``alpha`` and gamma = 1, on up to ``replay`` stored trajectories
    (the newest included), backwards; a trajectory's only reward is its return, the telescoped
    sum of TRL-HPO's rewards (the final accuracy, or minus 1 for a collapse).
    """

    name = "metaqnn"

    def __init__(
        self,
        episodes: int,
        seed: int = 0,
        alpha: float = 0.01,
        replay: int = 100,
        q_init: float = 0.5,
        eps_start: float = 1.0,
        eps_end: float = 0.1,
    ) -> None:
        super().__init__(seed)
        self.q: dict[StateKey, dict[str, float]] = {}
        self.actions: dict[tuple[StateKey, str], torch.Tensor] = {}  # (state, layer) -> an action decoding to it
        self.memory: list[list[tuple[StateKey, str, float | None]]] = []
        self.alpha, self.replay, self.q_init = alpha, replay, q_init
        self.epsilon = linear_schedule(eps_start, eps_end, max(episodes - 1, 1))
        self.episode = 0
        self.trajectories: dict[int, list[tuple[StateKey, str, torch.Tensor, float]]] = {}

    @staticmethod
    def state_key(depth: int, arch: Sequence[Any]) -> StateKey:
        return depth, str(arch[-1]) if arch else "input"

    def begin_episode(self, episode: int) -> str:
        self.trajectories = {}
        return super().begin_episode(episode)

    def choose(self, key: StateKey, random_action: torch.Tensor) -> torch.Tensor:
        """The action vector for state ``key``: ``random_action`` when exploring or nothing good is known."""
        row = self.q.get(key, {})
        explore = float(torch.rand(1, generator=self.rng)) < self.epsilon(self.episode)
        if explore or not row or max(row.values()) < self.q_init:
            return random_action
        return self.actions[key, max(row, key=row.get)]

    def propose(
        self, position: int, models: list[int], state: torch.Tensor, archs: Sequence[Architecture]
    ) -> torch.Tensor:
        random = super().propose(position, models, state, archs)
        return torch.stack([self.choose(self.state_key(position, arch), a) for a, arch in zip(random, archs)])

    def observe(self, step: Transitions) -> None:
        for j, i in enumerate(step.models):
            arch = step.archs[j]
            key = self.state_key(step.position, arch[:-1])
            self.trajectories.setdefault(i, []).append((key, str(arch[-1]), step.actions[j], float(step.reward[j])))

    def end_episode(self) -> list[dict[str, float]]:
        for i in sorted(self.trajectories):
            steps = self.trajectories[i]
            ret = 0.0
            for *_, reward in steps:
                ret += reward
            self.remember([(key, name) for key, name, _, _ in steps], [a for _, _, a, _ in steps], ret)
        self.learn()
        return []

    def remember(self, trajectory: list[tuple[StateKey, str]], actions: list[torch.Tensor], ret: float) -> None:
        """Store a model's trajectory (state, layer) with its return, and an action for each layer."""
        for (key, name), a in zip(trajectory, actions):
            self.actions.setdefault((key, name), a.clone())
        self.memory.append([(key, name, None) for key, name in trajectory[:-1]] + [(*trajectory[-1], ret)])

    def learn(self) -> None:
        """Q-learning, backwards, on up to ``replay`` stored trajectories (the newest included)."""
        picks = torch.randperm(len(self.memory), generator=self.rng)[: self.replay - 1].tolist()
        for i in sorted(set(picks) | {len(self.memory) - 1}):
            traj = self.memory[i]
            for j in reversed(range(len(traj))):
                key, name, ret = traj[j]
                if ret is None:  # bootstrap from the next state's best value (gamma = 1)
                    target = max([self.q_init, *self.q.get(traj[j + 1][0], {}).values()])
                else:
                    target = ret
                row = self.q.setdefault(key, {})
                old = row.get(name, self.q_init)
                row[name] = old + self.alpha * (target - old)

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"q": self.q, "actions": self.actions, "memory": self.memory}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.q, self.actions, self.memory = state["q"], state["actions"], state["memory"]
