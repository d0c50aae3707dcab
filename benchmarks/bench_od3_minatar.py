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
updates included, on one CPU thread (higher is better), by the process's CPU time (which a busy machine
distorts less than the wall clock). The contenders alternate over ``ROUNDS`` rounds after a warm-up run
each, and the median of the rounds' ratios is reported: on a shared virtual machine one run's speed
varies by 20 % from one minute to the next, so a single pair of runs decides nothing.

**The floor.** Both contenders spend most of their time in the same oneDNN convolutions. The floor is the
CPU time of the operations that any DQN with these settings must run, each measured alone at its best
(minimum over repeats) and summed with the counts of the run: the 6,000 environment steps (with resets),
one batch-1 forward per greedy action, and per update the sample from a uint8 replay memory, the online
forward and backward, the target network's forward, the Huber loss, the gradient clipping and Adam's
fused step. ``SB3 / floor`` is the largest speed-up over Stable-Baselines3 that any implementation made of
PyTorch's operations could reach on this machine; ``floor / edgelearn`` is how close edgelearn comes to it.

Run with ``python benchmarks/bench_od3_minatar.py`` (needs ``pip install -r benchmarks/requirements.txt``).
No timing is asserted anywhere.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
import timeit

import torch
from torch import nn

from edgelearn import od3
from edgelearn.core import rl
from edgelearn.core.seeding import numpy_generator
from edgelearn.od3.envs import make_env

ENV = "minatar:breakout"
STEPS = 6_000
ROUNDS = 3
RATIOS = (lambda o, s, f: s / o, lambda o, s, f: s / f, lambda o, s, f: f / o)
"""Per round, from the CPU seconds of edgelearn, SB3 and the floor: the speed-up over SB3, the largest possible
speed-up (SB3 / floor) and how close edgelearn comes to the floor."""
CFG = dataclasses.replace(od3.SCALES["deciding"].student, steps=STEPS, learning_starts=1_000, eval_episodes=0)


def ours(size: str, steps: int = STEPS) -> float:
    """CPU seconds of edgelearn's DQN for ``steps`` environment steps."""
    net = od3.build_net(ENV, size, seed=0)
    cpu = time.process_time()
    od3.train(net, dataclasses.replace(CFG, steps=steps), seed=0)
    return time.process_time() - cpu


def best(fn, number: int) -> float:
    """The best CPU time of one call of ``fn`` (minimum over 5 repeats of ``number`` calls)."""
    return min(timeit.repeat(fn, timer=time.process_time, number=number, repeat=5)) / number


def floor(size: str, steps: int = STEPS) -> float:
    """CPU seconds of the operations any DQN run of ``steps`` steps with these settings must execute (see the
    module's docstring), each timed alone at its best and counted as often as the run executes it."""
    env = make_env(ENV)
    env.reset(seed=0)
    actions = numpy_generator(1).integers(3, size=steps)

    def environment() -> None:
        for a in actions:
            _, _, terminated, truncated, _ = env.step(int(a))
            if terminated or truncated:
                env.reset()

    cpu = time.process_time()
    environment()
    t_env = time.process_time() - cpu
    # greedy steps of the run: edgelearn's epsilon draws (od3.train), the same schedule as SB3's
    uniforms = numpy_generator(0).random(steps)
    epsilon = rl.linear_schedule(CFG.eps_start, CFG.eps_end, max(1, int(CFG.eps_fraction * steps)))
    n_greedy = sum(uniforms[t] >= epsilon(t) for t in range(steps))
    n_updates = len(range(CFG.learning_starts, steps, CFG.update_every))

    net, target = od3.build_net(ENV, size, seed=0), od3.build_net(ENV, size, seed=1).requires_grad_(False)
    obs = torch.zeros((1, 4, 10, 10), dtype=torch.uint8)
    memory = rl.ReplayBuffer(steps, (4, 10, 10), obs_dtype=torch.uint8, seed=0)
    maps = torch.rand((steps, 4, 10, 10), generator=torch.Generator().manual_seed(0)) < 0.1
    memory.add(maps, torch.zeros(steps, dtype=torch.long), torch.zeros(steps), maps, torch.zeros(steps))
    optimiser = torch.optim.Adam(net.parameters(), lr=CFG.lr_start, eps=1.5e-4, fused=True)
    params = list(net.parameters())

    def act() -> int:
        with torch.inference_mode():
            return int(net(obs).argmax(dim=1))

    def update() -> None:
        loss, _ = rl.dqn_loss(net, target, memory.sample(CFG.batch_size), CFG.gamma)
        loss.backward()
        od3.od3.clip_grad_norm(params, 10.0)
        od3.od3.adam_step(optimiser)

    update()  # creates Adam's state
    return t_env + n_greedy * best(act, 500) + n_updates * best(update, 50)


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


def sb3(size: str, steps: int = STEPS) -> float:
    """CPU seconds of Stable-Baselines3's DQN on the same network for ``steps`` environment steps."""
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
    cpu = time.process_time()
    model.learn(total_timesteps=steps)
    return time.process_time() - cpu


def main() -> None:
    torch.set_num_threads(1)
    print(
        f"DQN on MinAtar Breakout (4x10x10 maps), {STEPS:,} steps, update every {CFG.update_every}, batch "
        f"{CFG.batch_size}: environment steps per CPU second, updates included; {ROUNDS} alternating rounds"
    )
    for size in ("smallnet", "largenet"):
        ours(size, 1_500), sb3(size, 1_500)  # warm-up
        rounds = [(ours(size), sb3(size), floor(size)) for _ in range(ROUNDS)]  # CPU seconds, each round
        a, b = (statistics.median(STEPS / r[i] for r in rounds) for i in (0, 1))
        ratio, ceiling, reach = (statistics.median(f(*r) for r in rounds) for f in RATIOS)
        widths = "-".join(map(str, od3.build_net(ENV, size).widths))
        print(
            f"  {size:<9s} ({widths:<13s}) edgelearn {a:5,.0f} /s   Stable-Baselines3 {b:5,.0f} /s   "
            f"ratio x{ratio:4.2f} (rounds: {', '.join(f'x{r[1] / r[0]:.2f}' for r in rounds)})"
        )
        print(
            f"  {'':<25s} SB3 / floor x{ceiling:4.2f}: the most any implementation could gain; edgelearn reaches "
            f"{reach:4.0%} of the floor (medians of the rounds)"
        )


if __name__ == "__main__":
    main()
