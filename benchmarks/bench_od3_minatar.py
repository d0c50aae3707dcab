"""DQN training throughput on MinAtar Breakout: edgelearn.od3.train against Stable-Baselines3's DQN.

Both train the same convolutional networks of the deciding scale (``od3.SCALES["deciding"]``):
smallnet (3x3 convolutions of 16, 16, 16 filters, 128 units) and largenet (32, 64, 64, 512) on
MinAtar's 4x10x10 maps, 3 actions. Stable-Baselines3 gets the identical stack through a custom
features extractor (the three convolutions, the hidden layer) and ``net_arch=[]`` (its Q-head is the
one output layer). Same settings as the deciding scale: mini-batch 32, one gradient step every 4
environment steps, replay 100,000, target network copied every 1,000 steps, Adam (eps 1.5e-4) with the
learning rate falling linearly from 2.5e-4 to 5e-5, epsilon from 1 to 0.1, Huber loss, gradient norm
clipped at 10; only the collection before the first update is shortened (1,000 steps instead of
5,000) so that a short run measures the steady state. Throughput is environment steps per second,
updates included, on one CPU thread (higher is better), by the wall clock and by the process's CPU
time (which a busy machine distorts less); each contender's first run is a warm-up.

Run with ``python benchmarks/bench_od3_minatar.py`` (needs ``pip install -r benchmarks/requirements.txt``).
No timing is asserted anywhere.
"""

from __future__ import annotations

import dataclasses
import time

import torch
from torch import nn

from edgelearn import od3
from edgelearn.od3.envs import make_env

ENV = "minatar:breakout"
STEPS = 6_000
CFG = dataclasses.replace(od3.SCALES["deciding"].student, steps=STEPS, learning_starts=1_000, eval_episodes=0)


def ours(size: str, steps: int = STEPS) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second) of edgelearn's DQN."""
    net = od3.build_net(ENV, size, seed=0)
    wall, cpu = time.perf_counter(), time.process_time()
    od3.train(net, dataclasses.replace(CFG, steps=steps), seed=0)
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def sb3_extractor():
    """A Stable-Baselines3 features extractor that is od3's QNet body (convolutions and hidden layer)."""
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class QNetBody(BaseFeaturesExtractor):
        def __init__(self, observation_space, size: str = "smallnet") -> None:
            net = od3.build_net(ENV, size, seed=0)
            super().__init__(observation_space, features_dim=net.widths[-1])
            self.body: nn.Module = net.body

        def forward(self, observations: torch.Tensor) -> torch.Tensor:
            return self.body(observations)

    return QNetBody


def sb3(size: str, steps: int = STEPS) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second) of Stable-Baselines3's DQN on the same network."""
    from stable_baselines3 import DQN

    lr0, lr1 = CFG.lr_start, CFG.lr_end
    model = DQN(
        "MlpPolicy",
        make_env(ENV),
        learning_rate=lambda p: lr1 + (lr0 - lr1) * p,
        buffer_size=CFG.buffer,
        learning_starts=CFG.learning_starts,
        batch_size=CFG.batch_size,
        gamma=CFG.gamma,
        train_freq=CFG.update_every,
        gradient_steps=1,
        target_update_interval=CFG.target_every,
        exploration_fraction=CFG.eps_fraction,
        exploration_initial_eps=CFG.eps_start,
        exploration_final_eps=CFG.eps_end,
        max_grad_norm=10.0,
        policy_kwargs={
            "features_extractor_class": sb3_extractor(),
            "features_extractor_kwargs": {"size": size},
            "net_arch": [],
            "normalize_images": False,
            "optimizer_kwargs": {"eps": 1.5e-4},
        },
        seed=0,
        device="cpu",
        verbose=0,
    )
    ours_net = od3.build_net(ENV, size, seed=0)
    theirs = sum(p.numel() for p in model.q_net.parameters())
    assert theirs == sum(p.numel() for p in ours_net.parameters()), "the two Q-networks differ"
    wall, cpu = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def main() -> None:
    torch.set_num_threads(1)
    print(
        f"DQN on MinAtar Breakout (4x10x10 maps), {STEPS:,} steps, update every {CFG.update_every}, batch "
        f"{CFG.batch_size} (environment steps per second, updates included; wall clock / CPU time)"
    )
    for size in ("smallnet", "largenet"):
        ours(size, 1_500), sb3(size, 1_500)  # warm-up
        (a, a_cpu), (b, b_cpu) = ours(size), sb3(size)
        widths = "-".join(map(str, od3.build_net(ENV, size).widths))
        print(
            f"  {size:<9s} ({widths:<13s}) edgelearn {a:6,.0f} / {a_cpu:6,.0f} /s   Stable-Baselines3 "
            f"{b:6,.0f} / {b_cpu:6,.0f} /s   ratio x{a / b:4.2f} / x{a_cpu / b_cpu:4.2f}"
        )


if __name__ == "__main__":
    main()
