"""DQN training throughput on CartPole-v1: edgelearn.od3.train against Stable-Baselines3's DQN.

Both train the same networks (the laptop scale's smallnet, MLP 64-64, and largenet, MLP 256-256)
with the same hyper-parameters: mini-batch 32, one gradient step every 4 environment steps after
1,000 steps of collection, replay 25,000, target network copied every 500 steps, Adam with the
learning rate falling linearly from 1e-3 to 2e-4, epsilon from 1 to 0.05 over the first 20 % of the
run, Huber loss, gradient norm clipped at 10. Throughput is environment steps per second, updates
included, on one CPU thread (higher is better); each contender's first run is a warm-up.

Run with ``python benchmarks/bench_od3.py`` (needs ``pip install -r benchmarks/requirements.txt``).
No timing is asserted anywhere.
"""

from __future__ import annotations

import dataclasses
import time

import torch

from edgelearn import od3

STEPS = 12_000
CFG = dataclasses.replace(od3.SCALES["laptop"].student, steps=STEPS, eval_episodes=0)


def ours(size: str, steps: int = STEPS) -> float:
    net = od3.build_net("cartpole", size, seed=0)
    start = time.perf_counter()
    od3.train(net, dataclasses.replace(CFG, steps=steps), seed=0)
    return steps / (time.perf_counter() - start)


def sb3(size: str, steps: int = STEPS) -> float:
    import gymnasium as gym
    from stable_baselines3 import DQN

    widths = list(od3.LARGENET["mlp"] if size == "largenet" else od3.SMALLNET["mlp"])
    lr0, lr1 = CFG.lr_start, CFG.lr_end
    model = DQN(
        "MlpPolicy",
        gym.make("CartPole-v1"),
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
        policy_kwargs={"net_arch": widths},
        seed=0,
        device="cpu",
        verbose=0,
    )
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - start)


def main() -> None:
    torch.set_num_threads(1)
    print(
        f"DQN on CartPole-v1, {STEPS:,} steps, update every {CFG.update_every}, batch {CFG.batch_size} "
        "(environment steps per second, updates included)"
    )
    for size in ("smallnet", "largenet"):
        ours(size, 2_000), sb3(size, 2_000)  # warm-up
        a, b = ours(size), sb3(size)
        print(
            f"  {size:<9s} ({'x'.join(map(str, od3.SMALLNET['mlp'] if size == 'smallnet' else od3.LARGENET['mlp']))})"
            f"   edgelearn {a:8,.0f} /s   Stable-Baselines3 {b:8,.0f} /s   ratio x{a / b:5.2f}"
        )


if __name__ == "__main__":
    main()
