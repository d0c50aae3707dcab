r"""OD3 (Jang et al. 2020): a cloud DQN teacher distilled into an edge student, top to bottom.

1. **Configuration** — :class:`DQNConfig`: the hyper-parameters of one training run (the paper's
   Table 2 at the paper scale), its ``device`` included.
2. **The OD3 loss** (eqs. 3-5) — :func:`od3_loss`: :math:`\mathrm{KL}(\mathrm{softmax}(q_T/\kappa)\,\|\,
   \mathrm{softmax}(z_S))` averaged over a minibatch, written with log-probabilities.
3. **Training** — :func:`train`: one loop for the paper's three runs. ``CLOUD`` and ``EDGE`` are DQN
   (eq. 2, a hard-updated target network) with largenet and smallnet; ``EDGE-OD3`` (Algorithm 1,
   lines 3-8) trains smallnet on the teacher's sharpened outputs for the states in its replay memory.
   Every run records the average training reward (gymnasium's ``RecordEpisodeStatistics``) against
   timesteps, wall time and CPU time. A run lives on one torch device
   (:func:`edgelearn.core.devices.resolve_device`): the smoke, laptop and deciding scales on the CPU
   (bit-reproducible), the paper scale on a GPU when there is one (``device="auto"``).
4. **Teacher cache** — :func:`cached_teacher` trains the cloud teacher once and keeps it in a
   :class:`~edgelearn.core.store.DiskCache` keyed by its configuration (the device excepted) and the
   code fingerprint of this module and everything it imports (networks, environments, the DQN
   machinery of :mod:`edgelearn.core.rl`); weights are stored on the CPU, so a teacher trained on a
   GPU loads anywhere.
5. **Scales** — :data:`SCALES`: CartPole at the smoke and laptop scales, MinAtar Breakout with the
   convolutional nets at the deciding scale (``make record PAPER=od3``), Pong at the paper scale.

The environments are in :mod:`edgelearn.od3.envs`, the networks and PolicyNetGenerator (Algorithm 1,
line 1) in :mod:`edgelearn.od3.nets`, Table 3's convergence analysis in :mod:`edgelearn.od3.analysis`.

Whose actions gather the student's states is not stated by the paper (eq. 4 speaks of "a dataset
sampled by the teacher", Algorithm 1 of the device training within each timestep). We let the
**student act** ε-greedily on the device (``actor="student"``), which is what an edge device that
learns while it acts does; ``actor="teacher"`` (the teacher acts, ε = 0.05) is the ablation.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.optim.adam import adam

from edgelearn.core import rl
from edgelearn.core.devices import check_device, resolve_device
from edgelearn.core.scales import Scales
from edgelearn.core.seeding import numpy_generator
from edgelearn.core.store import DiskCache, results_root
from edgelearn.od3.envs import make_env
from edgelearn.od3.nets import QNet, build_net

METHODS = ("CLOUD", "EDGE", "EDGE-OD3")
CACHE_ENV = "EDGELEARN_OD3_CACHE"
TEACHER_MODULES = ("edgelearn.od3.od3",)
"""What a cached teacher depends on: this module and, through its imports, the networks, the
environments and the core's DQN machinery (an edit to any of them retrains the teachers)."""

# ---------------------------------------------------------------------------------------------
# 1. Configuration of a training run
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DQNConfig:
    """Hyper-parameters of one DQN or OD3 training run (Table 2 of the paper at the paper scale)."""

    env: str = "cartpole"
    steps: int = 30_000  # training timesteps
    batch_size: int = 32  # mini-batch size
    update_every: int = 4  # "update frequency": env steps between SGD updates
    lr_start: float = 2.5e-4  # Adam, decayed linearly ...
    lr_end: float = 5e-5  # ... to this over the run
    eps_start: float = 1.0  # epsilon-greedy exploration, linearly ...
    eps_end: float = 0.1  # ... to this ...
    eps_fraction: float = 0.1  # ... over this fraction of the run
    buffer: int = 100_000  # replay memory
    gamma: float = 0.99
    learning_starts: int = 1_000  # steps of pure collection before the first update
    target_every: int = 1_000  # DQN: env steps between hard target updates
    huber: bool = True
    log_every: int = 1_000  # checkpoint period of the recorded curves
    window: int = 20  # training episodes averaged into the "average reward"
    eval_episodes: int = 10  # final evaluation at epsilon = 0.05
    max_eval_steps: int = 10_000
    tau: float = 0.01  # OD3 temperature
    device: str = "cpu"  # where the run lives: one of core.devices.DEVICES ("auto": a GPU if there is one)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "update_every", "buffer", "target_every", "log_every", "window"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"'{name}' must be >= 1, got {getattr(self, name)}")
        if not 0 < self.eps_fraction <= 1:
            raise ValueError(f"'eps_fraction' must lie in (0, 1], got {self.eps_fraction}")
        check_device(self.device)


# ---------------------------------------------------------------------------------------------
# 2. The OD3 loss (eqs. 3-5)
# ---------------------------------------------------------------------------------------------


def od3_loss(student_logits: torch.Tensor, teacher_q: torch.Tensor, tau: float = 0.01) -> torch.Tensor:
    r"""Eq. 4-5 averaged over the batch: :math:`\mathrm{KL}(F_{sm}(q_T/\kappa)\,\|\,F_{sm}(z_S))`.

    The teacher's Q-values are sharpened with temperature ``tau`` (the book's :math:`\kappa`, the paper's
    :math:`\tau`; eq. 3, :math:`\kappa < 1`); the student's logits enter at temperature 1. The teacher is
    detached: only the student gets gradients.
    """
    if not tau > 0:
        raise ValueError(f"'tau' must be > 0, got {tau}")
    if student_logits.ndim != 2 or student_logits.shape != teacher_q.shape:
        raise ValueError(
            "'student_logits' and 'teacher_q' must both have shape (batch, actions): the student and the "
            f"teacher act in the same action space; got {tuple(student_logits.shape)} and {tuple(teacher_q.shape)}"
        )
    target = F.log_softmax(teacher_q.detach() / tau, dim=1)
    return F.kl_div(F.log_softmax(student_logits, dim=1), target, log_target=True, reduction="batchmean")


# ---------------------------------------------------------------------------------------------
# 3. Training: CLOUD / EDGE (DQN, eq. 2) and EDGE-OD3 (Algorithm 1)
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> None:
    """Scale the gradients of ``params`` so that their joint L2 norm is at most ``max_norm``: the arithmetic
    of ``torch.nn.utils.clip_grad_norm_`` (foreach per-tensor norms, their norm, the coefficient clamped at
    1), op for op and so bit for bit, without its per-call grouping and checks (a tenth of a small
    network's update on one CPU thread). The parameters must share one device and dtype."""
    grads = [p.grad for p in params if p.grad is not None]
    if grads:
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
        torch._foreach_mul_(grads, torch.clamp(float(max_norm) / (total + 1e-6), max=1.0))


@torch.no_grad()
def adam_step(optimiser: torch.optim.Adam) -> None:
    """``optimiser.step()`` for a fused :class:`torch.optim.Adam` of one parameter group, through torch's
    functional ``adam`` on the optimiser's own state: the same kernel and so bit for bit the same update,
    without ``Optimizer.step``'s per-call profiling hook and state gathering (a tenth of a small network's
    update on one CPU thread); then the gradients are released (``zero_grad(set_to_none=True)``). The
    first call goes through ``optimiser.step()``, which creates the state."""
    (group,) = optimiser.param_groups
    params = [p for p in group["params"] if p.grad is not None]
    if not group["fused"] or group["amsgrad"] or group["maximize"] or any(not optimiser.state[p] for p in params):
        optimiser.step()
    else:
        states = [optimiser.state[p] for p in params]
        beta1, beta2 = group["betas"]
        adam(
            params,
            [p.grad for p in params],
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [],
            [s["step"] for s in states],
            fused=True,
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
            decoupled_weight_decay=group.get("decoupled_weight_decay", False),
        )
    for p in params:
        p.grad = None


@dataclass
class RunResult:
    """A trained network, its curve (one row per checkpoint) and its final evaluation returns."""

    net: QNet
    curve: pd.DataFrame
    eval_returns: np.ndarray = field(default_factory=lambda: np.zeros(0))


def train(
    net: QNet,
    cfg: DQNConfig,
    seed: int,
    teacher: QNet | None = None,
    actor: str = "student",
    label: str = "",
    device: str | torch.device | None = None,
) -> RunResult:
    """Train ``net`` for ``cfg.steps`` environment steps on ``device`` (``None``: ``cfg.device``).

    Without ``teacher``: DQN (Mnih et al. 2015; OD3 eq. 2) with the Huber TD loss, a target network
    copied every ``cfg.target_every`` steps, Adam with a linearly decaying learning rate.
    With ``teacher``: OD3 (Algorithm 1) — each update minimises :func:`od3_loss` between the teacher's
    sharpened Q-values and the student's outputs on a minibatch of stored states; no TD target,
    no target network. ``actor`` chooses whose ε-greedy actions gather the states.

    All randomness comes from ``seed``: the environment's resets, one numpy generator for exploration
    and the replay memory's own generator (torch's global generator is not touched). The networks
    (``net`` and ``teacher`` are moved there in place, the target network is made there), the replay
    memory (Atari frames and MinAtar maps as uint8), the observations and the evaluation all live on the device; the
    only per-step host-device synchronisation is reading the greedy action.
    """
    device = resolve_device(cfg.device if device is None else device)
    if actor not in ("student", "teacher"):
        raise ValueError(f"'actor' must be 'student' or 'teacher', got {actor!r}")
    if actor == "teacher" and teacher is None:
        raise ValueError("actor='teacher' needs a teacher")
    rng = numpy_generator(seed)
    env = gym.wrappers.RecordEpisodeStatistics(make_env(cfg.env), buffer_length=cfg.window)
    obs_np, _ = env.reset(seed=seed)
    # Atari frames (0..255) and MinAtar maps (0/1) are stored exactly as uint8: a quarter of the memory
    obs_dtype = torch.uint8 if net.layout in ("atari", "minatar") else torch.float32
    memory = rl.ReplayBuffer(
        min(cfg.buffer, cfg.steps), tuple(env.observation_space.shape), obs_dtype=obs_dtype, device=device, seed=seed
    )
    net.to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=cfg.lr_start, eps=1.5e-4, fused=True)
    n_updates = max(1, (cfg.steps - cfg.learning_starts) // cfg.update_every)
    scheduler = rl.linear_lr_scheduler(optimiser, cfg.lr_start, cfg.lr_end, n_updates)
    epsilon = rl.linear_schedule(cfg.eps_start, cfg.eps_end, max(1, int(cfg.eps_fraction * cfg.steps)))
    target_net = None
    if teacher is None:
        target_net = copy.deepcopy(net).requires_grad_(False)
    else:
        teacher.to(device).eval().requires_grad_(False)
    acting = teacher if actor == "teacher" else net
    params = [p for p in net.parameters() if p.requires_grad]
    n_actions = int(env.action_space.n)
    uniforms = rng.random(cfg.steps)
    random_actions = rng.integers(n_actions, size=cfg.steps)
    rows, updates, last_loss = [], 0, None
    wall0, cpu0 = time.perf_counter(), time.process_time()
    obs = torch.as_tensor(obs_np, dtype=obs_dtype, device=device)
    for t in range(cfg.steps):  # the hot path: no per-step allocation beyond the observation
        eps = 0.05 if actor == "teacher" else epsilon(t)
        if uniforms[t] < eps:
            action = int(random_actions[t])
        else:
            with torch.inference_mode():
                action = int(acting(obs.unsqueeze(0)).argmax(dim=1))
        next_np, reward, terminated, truncated, _ = env.step(action)
        next_obs = torch.as_tensor(next_np, dtype=obs_dtype, device=device)
        rl.store_transition(memory, obs, action, reward, next_obs, terminated)
        if terminated or truncated:  # RecordEpisodeStatistics has recorded the episode's return
            next_obs = torch.as_tensor(env.reset()[0], dtype=obs_dtype, device=device)
        obs = next_obs
        if t >= cfg.learning_starts and t % cfg.update_every == 0:
            batch = memory.sample(cfg.batch_size)
            if teacher is None:
                loss, _ = rl.dqn_loss(net, target_net, batch, cfg.gamma, huber=cfg.huber)
            else:
                with torch.no_grad():
                    teacher_q = teacher(batch["obs"])
                loss = od3_loss(net(batch["obs"]), teacher_q, cfg.tau)
            loss.backward()
            clip_grad_norm(params, 10.0)
            adam_step(optimiser)  # and the gradients released
            scheduler.step()
            updates += 1
            last_loss = loss.detach()  # read (a device sync) only at the checkpoints
        if target_net is not None and (t + 1) % cfg.target_every == 0:
            rl.hard_update(target_net, net)
        if (t + 1) % cfg.log_every == 0 or t + 1 == cfg.steps:
            recent = env.return_queue  # the last cfg.window episodes' returns
            rows.append(
                {
                    "step": t + 1,
                    "wall_s": time.perf_counter() - wall0,
                    "cpu_s": time.process_time() - cpu0,
                    "reward": float(np.mean(recent)) if recent else float("nan"),
                    "episodes": env.episode_count,
                    "updates": updates,
                    "loss": float("nan") if last_loss is None else float(last_loss),
                    "epsilon": eps,
                }
            )
    env.close()
    curve = pd.DataFrame(rows).assign(run=label, seed=seed)
    net.eval()
    eval_returns = np.zeros(0)
    if cfg.eval_episodes:  # DQN's protocol: epsilon = 0.05
        with contextlib.closing(make_env(cfg.env)) as eval_env:
            eval_returns = rl.evaluate(
                net, eval_env, cfg.eval_episodes, 0.05, seed + 10_000, cfg.max_eval_steps, device
            )
    net.train()
    return RunResult(net, curve, eval_returns)


# ---------------------------------------------------------------------------------------------
# 4. The teacher cache
# ---------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """``$EDGELEARN_OD3_CACHE``, else ``<results root>/od3/teacher_cache`` (follows EDGELEARN_RESULTS_DIR)."""
    folder = os.environ.get(CACHE_ENV)
    return Path(folder) if folder else results_root() / "od3" / "teacher_cache"


def teacher_cache() -> DiskCache:
    """The cache of trained teachers in :func:`cache_dir`, under the code of :data:`TEACHER_MODULES`."""
    return DiskCache(cache_dir(), TEACHER_MODULES)


def teacher_spec(cfg: DQNConfig, seed: int) -> dict:
    """What identifies a teacher: its configuration without its ``device`` (a teacher trained on a
    GPU serves a CPU run) and its seed."""
    config = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "device"}
    return {"teacher": "CLOUD: largenet trained by DQN", "config": config, "seed": seed}


def cached_teacher(cfg: DQNConfig, seed: int, device: str | torch.device | None = None) -> tuple[RunResult, bool]:
    """The CLOUD teacher (largenet trained by DQN) for ``cfg`` and ``seed``, from :func:`teacher_cache`
    or trained now, its network on ``device`` (``None``: ``cfg.device``, see :func:`train`).

    Returns the run and whether it came from the cache. The weights are stored as CPU tensors, so a
    cache made on a GPU loads on a CPU-only machine; entries are written atomically.
    """
    device = resolve_device(cfg.device if device is None else device)
    cache, spec = teacher_cache(), teacher_spec(cfg, seed)
    net = build_net(cfg.env, "largenet", seed)
    stored = cache.get(spec)
    if stored is not None:
        net.load_state_dict(stored["state_dict"])
        return RunResult(net.to(device), pd.DataFrame(stored["curve"]), np.asarray(stored["eval_returns"])), True
    run = train(net, cfg, seed, label="CLOUD", device=device)
    state = {k: v.detach().cpu() for k, v in run.net.state_dict().items()}
    curve = run.curve.to_dict(orient="list")
    cache.put(spec, {"state_dict": state, "curve": curve, "eval_returns": run.eval_returns.tolist()})
    return run, False


# ---------------------------------------------------------------------------------------------
# 5. Scales
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OD3Config:
    """One chapter run: the teacher's and the students' training, seeds, Case-2 sweeps.

    The device of the runs is ``teacher.device`` and ``student.device``: ``"cpu"`` at the smoke, laptop and
    deciding scales, ``"auto"`` (a GPU when there is one) at the paper scale, whose replay memory of 1e6 Atari
    transitions takes 56.4 GB (see :data:`SCALES`).
    """

    teacher: DQNConfig
    student: DQNConfig
    seeds: tuple[int, ...]  # seeds of CLOUD, EDGE and EDGE-OD3 (the teacher is seed 0's CLOUD run)
    sweep_steps: int  # timesteps of each Case-2 run
    sweep_seeds: tuple[int, ...]
    batch_sizes: tuple[int, ...] = (32, 16, 8, 4)
    update_freqs: tuple[int, ...] = (4, 8, 16, 32)
    converge_fraction: float = 0.8  # convergence reward = this x CLOUD's final average reward
    ablation: bool = True  # the teacher-acting ablation


_CARTPOLE = DQNConfig(
    env="cartpole", steps=25_000, batch_size=32, update_every=4, lr_start=1e-3, lr_end=2e-4, eps_start=1.0,
    eps_end=0.05, eps_fraction=0.2, buffer=25_000, gamma=0.99, learning_starts=1_000, target_every=500,
    log_every=500, window=10, eval_episodes=5, max_eval_steps=500,
)  # fmt: skip
_SMOKE_RUN = dict(learning_starts=200, log_every=250, eval_episodes=2, max_eval_steps=100)
# The deciding scale: MinAtar Breakout (Young & Tian 2019) with the paper's largenet and smallnet in MinAtar's 3x3
# convolutional layout. Breakout is the MinAtar game closest to Pong: a paddle on the bottom row returns a ball, the
# one skill Pong asks for (Breakout adds bricks to aim at; the other games are about shooting, dodging or diving).
# Hyper-parameters (assumptions): Table 2's where they carry over (Adam 2.5e-4 -> 5e-5, mini-batch 32, an update
# every 4 steps, gamma 0.99, epsilon 1 -> 0.1), MinAtar's own DQN settings (its examples/dqn.py) where Table 2's are
# sized for Atari frames and 3 M steps: replay 100,000 (Pong: 1e6), 5,000 steps of collection before the first
# update (Pong: 50,000), target copied every 1,000 steps (Pong: 10,000), epsilon annealed over the first 100,000
# steps. MinAtar's DQN updates every step for 5 M frames; we keep Table 2's update every 4 (Case 2 sweeps from
# there). A uniformly random policy scores 0.41 per episode (300 episodes, sticky actions 0.1, 10 steps long), so a
# teacher at a few points has clearly learnt. Evaluation episodes end at MinAtar's 10,000-step truncation.
_BREAKOUT = DQNConfig(
    env="minatar:breakout", steps=300_000, batch_size=32, update_every=4, lr_start=2.5e-4, lr_end=5e-5, eps_start=1.0,
    eps_end=0.1, eps_fraction=100_000 / 300_000, buffer=100_000, gamma=0.99, learning_starts=5_000,
    target_every=1_000, log_every=2_500, window=20, eval_episodes=10, max_eval_steps=10_000,
)  # fmt: skip
# Pong with Table 2's hyper-parameters, on a GPU when there is one (device="auto"). The replay memory of
# 1e6 transitions keeps obs and next_obs as 4x84x84 uint8 frames: 2 x 1e6 x 28,224 B = 56.4 GB (52.6 GiB)
# on the device (an 80 GB GPU holds it; without a GPU it needs that much host memory), one run at a time.
# Expected time, from throughput measured on this project's 2-core CPU (2026-12-02, another job on both cores): ALE
# Pong with DQN's preprocessing steps at 1,930 steps per CPU-second (0.52 ms a step, frame skip 4); largenet trains
# on one CPU core at 60-80 steps/s. The scale trains 18 runs of 3 M steps (3 CLOUD, 3 EDGE, 3 EDGE-OD3, 3 for the
# ablation, and the 6 Case-2 settings besides BS32 on one seed: BS32 is that seed's EDGE-OD3 run), 54 M steps: 7.8 h
# of emulation alone. On a GPU, acting (about 0.3 ms) and one update every 4 steps (about 1 ms) are latency-bound,
# about 1.1 ms a step or 900 steps/s (assumed, not measured: no GPU here): about 55 min a run, 17 h in all, one run
# at a time (the replay memory); on CPUs alone 10-14 h a run.
_PONG = DQNConfig(
    env="pong", steps=3_000_000, batch_size=32, update_every=4, lr_start=2.5e-4, lr_end=5e-5, eps_start=1.0,
    eps_end=0.1, eps_fraction=1_000_000 / 3_000_000, buffer=1_000_000, gamma=0.99, learning_starts=50_000,
    target_every=10_000, log_every=10_000, window=20, eval_episodes=10, max_eval_steps=27_000, device="auto",
)  # fmt: skip

SCALES: Scales[OD3Config] = Scales(
    smoke=OD3Config(
        teacher=dataclasses.replace(_CARTPOLE, steps=1_500, **_SMOKE_RUN),
        student=dataclasses.replace(_CARTPOLE, steps=1_000, **_SMOKE_RUN),
        seeds=(0, 1),
        sweep_steps=500,
        sweep_seeds=(0,),
    ),
    # the book's build (make book): 3 seeds, Case 2 on 2, about a minute on a core
    laptop=OD3Config(
        teacher=dataclasses.replace(_CARTPOLE, steps=20_000),
        student=dataclasses.replace(_CARTPOLE, steps=10_000),
        seeds=(0, 1, 2),
        sweep_steps=5_000,
        sweep_seeds=(0, 1),
    ),
    paper=OD3Config(teacher=_PONG, student=_PONG, seeds=(0, 1, 2), sweep_steps=3_000_000, sweep_seeds=(0,)),
    # make record PAPER=od3 (2 workers). Teachers of 300,000 steps (epsilon annealed over the first 100,000),
    # students of 150,000 (annealed over the same 100,000), 3 seeds; Case 2 at the students' length on the same 3
    # seeds, so BS32 (= LF4) is the EDGE-OD3 run and both sweeps are paired by seed; the ablation on 3 seeds.
    # Why 300,000: two teachers of 600,000 steps recorded here (2026-12-02) averaged 4.5-5.9 over their last 20
    # episodes at 150,000-200,000 steps and 6.1-6.6 at 300,000, then went on at 5-9 without a clear trend (the
    # random policy: 0.41). Throughput measured on the project's 2-core machine (environment steps per second with
    # updates, one torch thread, another job on the other core): CLOUD 164 (174 alone), EDGE 468, EDGE-OD3 402
    # (student acts) or 338 (teacher acts), BS4 615, BS8 574, BS16 570, LF8 818, LF16 1,178, LF32 1,651. Work:
    # CLOUD 3 x 1,830 s, EDGE 3 x 340 s, EDGE-OD3 3 x 373 s, ablation 3 x 444 s, Case 2's 18 other runs
    # 3 x 1,169 s, evaluation episodes about 150 s: 12,600 CPU-s. On 2 workers: the teacher with a second CLOUD
    # run beside it (1,830 s), then the rest (8,960 CPU-s, 4,480 s): about 6,300 s = 1.75 h. (The first
    # estimate, 1.4-1.85 h for teachers of 600,000 steps, came from rates 1.9x these, measured on a faster
    # machine of an earlier session; on this one a run of it was stopped after 1 h, when its first two
    # teachers had finished, and the scale resized to fit the slower machine.) It decides what the laptop
    # scale cannot: a teacher that has learnt from map observations (well above the random 0.41), a
    # convolutional student with 6.6 % of its parameters, EDGE and EDGE-OD3 paired on 3 seeds, each sweep
    # setting paired on 3.
    deciding=OD3Config(
        teacher=_BREAKOUT,
        student=dataclasses.replace(_BREAKOUT, steps=150_000, eps_fraction=100_000 / 150_000),
        seeds=(0, 1, 2),
        sweep_steps=150_000,
        sweep_seeds=(0, 1, 2),
    ),
)
