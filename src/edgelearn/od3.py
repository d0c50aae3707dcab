r"""On-device DRL with distillation (OD3, Jang et al. 2020): a cloud DQN teacher distilled into an edge student.

The module reads top to bottom as the paper's method does:

1. **Environments** — :func:`make_env` builds a seeded gymnasium environment: CartPole-v1 (small vector
   observations, the laptop scale), a MinAtar game through :class:`MinAtarEnv` (10x10xC boolean maps,
   channel-first), or Atari Pong through ale-py with the usual ``AtariPreprocessing`` and
   ``FrameStackObservation`` wrappers (84x84x4, the paper scale).
2. **Policy networks** — the paper's *largenet* (conv 32-64-64, fc 512) and *smallnet* (conv 16-16-16,
   fc 128) in three layouts (:data:`LAYOUTS`): Nature-DQN convolutions for 84x84 frames, 3x3 convolutions
   for MinAtar's 10x10 maps, and a two-layer MLP for vectors. :class:`PolicyNetGenerator` is
   Algorithm 1, line 1: the largest network of a family that fits a budget of parameters or FLOPs.
3. **The OD3 loss** (eqs. 3-5) — :func:`od3_loss`: :math:`\mathrm{KL}(\mathrm{softmax}(q_T/\tau)\,\|\,
   \mathrm{softmax}(z_S))` averaged over a minibatch, written with log-probabilities.
4. **Training** — :func:`train`: one loop for the three runs of the paper. ``CLOUD`` and ``EDGE`` are
   DQN (eq. 2, a hard-updated target network) with largenet and smallnet; ``EDGE-OD3`` (Algorithm 1,
   lines 3-8) trains smallnet on the teacher's sharpened outputs for the states in its replay memory.
   Every run records the average training reward against timesteps, wall time and CPU time.
   A run lives on one torch device (:func:`resolve_device`): the smoke and laptop scales always run
   on the CPU (bit-reproducible), the paper scale on a GPU when there is one (``device="auto"``).
5. **Teacher cache** — :func:`cached_teacher` trains the cloud teacher once and keeps it on disk
   (weights on the CPU, so a teacher trained on a GPU loads anywhere), keyed by a hash of its
   configuration (the device excepted) and of this module's and ``rl.py``'s source.
6. **Convergence** — :func:`first_reach` and :func:`convergence_table` (the paper's Table 3).

Whose actions gather the student's states is not stated by the paper (eq. 4 speaks of "a dataset
sampled by the teacher", Algorithm 1 of the device training within each timestep). We let the
**student act** ε-greedily on the device (``actor="student"``), which is what an edge device that
learns while it acts does; ``actor="teacher"`` (the teacher acts, ε = 0.05) is the ablation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from edgelearn import rl
from edgelearn.costs import count_flops, count_params  # noqa: F401  (od3.count_* in the notebook)
from edgelearn.results import results_root
from edgelearn.scales import get_scale

METHODS = ("CLOUD", "EDGE", "EDGE-OD3")
CACHE_ENV = "EDGELEARN_OD3_CACHE"
DEVICES = ("cpu", "cuda", "cuda:<index>", "auto")
"""Valid ``device`` strings; ``auto`` is ``cuda`` when ``torch.cuda.is_available()``, else ``cpu``."""

# ---------------------------------------------------------------------------------------------
# 1. Environments
# ---------------------------------------------------------------------------------------------


class MinAtarEnv(gym.Env):
    """A gymnasium adapter for a MinAtar game (Young & Tian 2019) with channel-first observations.

    Observations are the game's 10x10xC boolean maps as a ``(C, 10, 10)`` float32 array of 0/1; the
    actions are the game's minimal action set. ``reset(seed=...)`` reseeds MinAtar's own generator
    (sticky actions and the game's randomness), so a seeded episode is reproducible.
    """

    metadata = {"render_modes": []}

    def __init__(self, game: str = "breakout", sticky_action_prob: float = 0.1, max_steps: int = 10_000) -> None:
        from minatar import Environment

        if not 0 <= sticky_action_prob <= 1:
            raise ValueError(f"'sticky_action_prob' must lie in [0, 1], got {sticky_action_prob}")
        self.game = Environment(game, sticky_action_prob=sticky_action_prob)
        self.actions = list(self.game.minimal_action_set())
        h, w, c = self.game.state_shape()
        self.observation_space = gym.spaces.Box(0.0, 1.0, (c, h, w), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(len(self.actions))
        self.max_steps, self.steps = max_steps, 0

    def _obs(self) -> np.ndarray:
        return np.ascontiguousarray(self.game.state().transpose(2, 0, 1), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self.game.seed(seed)
        self.game.reset()
        self.steps = 0
        return self._obs(), {}

    def step(self, action):
        reward, terminated = self.game.act(self.actions[int(action)])
        self.steps += 1
        return self._obs(), float(reward), bool(terminated), self.steps >= self.max_steps, {}


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
    if name.startswith("minatar:"):
        return MinAtarEnv(name.split(":", 1)[1])
    if name == "pong":
        return atari_env("ALE/Pong-v5")
    raise ValueError(f"'name' must be 'cartpole', 'minatar:<game>' or 'pong', got {name!r}")


def layout_for(env_name: str) -> str:
    """The network layout suited to an environment's observations."""
    return "mlp" if env_name == "cartpole" else "minatar" if env_name.startswith("minatar:") else "atari"


# ---------------------------------------------------------------------------------------------
# 2. Policy networks and PolicyNetGenerator (Algorithm 1, line 1)
# ---------------------------------------------------------------------------------------------

LARGENET: dict[str, tuple[int, ...]] = {"atari": (32, 64, 64, 512), "minatar": (32, 64, 64, 512), "mlp": (256, 256)}
"""The cloud teacher's widths per layout (conv filters..., fc units)."""
SMALLNET: dict[str, tuple[int, ...]] = {"atari": (16, 16, 16, 128), "minatar": (16, 16, 16, 128), "mlp": (64, 64)}
"""The edge student's widths per layout."""
LAYOUTS = ("atari", "minatar", "mlp")


class QNet(nn.Module):
    """A Q-network: three convolutions and two fully connected layers (ReLU between), or an MLP.

    ``atari``: Nature-DQN convolutions 8x8/4, 4x4/2, 3x3/1 on 84x84 uint8 frames (scaled by 1/255);
    ``minatar``: three 3x3/1 convolutions on 10x10 maps; ``mlp``: hidden layers of ``widths``.
    """

    def __init__(self, layout: str, widths: tuple[int, ...], obs_shape: tuple[int, ...], n_actions: int) -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"'layout' must be one of {LAYOUTS}, got {layout!r}")
        if any(int(w) < 1 for w in widths):
            raise ValueError(f"'widths' must be positive, got {widths}")
        self.layout, self.widths, self.scale = layout, tuple(int(w) for w in widths), 1.0
        if layout == "mlp":
            sizes = (int(np.prod(obs_shape)), *self.widths)
            layers: list[nn.Module] = [nn.Flatten()]
            for a, b in zip(sizes[:-1], sizes[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            self.body = nn.Sequential(*layers)
        else:
            if len(self.widths) != 4:
                raise ValueError(f"a convolutional layout needs 4 widths (3 conv, 1 fc), got {widths}")
            c1, c2, c3, fc = self.widths
            kernels = ((8, 4), (4, 2), (3, 1)) if layout == "atari" else ((3, 1), (3, 1), (3, 1))
            self.scale = 1 / 255 if layout == "atari" else 1.0
            convs: list[nn.Module] = []
            for cin, cout, (k, s) in zip((obs_shape[0], c1, c2), (c1, c2, c3), kernels):
                convs += [nn.Conv2d(cin, cout, k, s), nn.ReLU()]
            convs.append(nn.Flatten())
            with torch.no_grad():
                flat = nn.Sequential(*convs)(torch.zeros(1, *obs_shape)).shape[1]
            self.body = nn.Sequential(*convs, nn.Linear(flat, fc), nn.ReLU())
        self.head = nn.Linear(self.widths[-1], n_actions)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float() * self.scale if self.scale != 1.0 else obs.float()
        return self.head(self.body(x))


def paper_count(widths: tuple[int, ...], n_actions: int = 6) -> int:
    """A layout that reproduces the paper's parameter counts (6,716,748 and 432,492, Table 3).

    Nature-DQN kernels on 80x80x4 frames with TensorFlow's ``same`` padding (feature maps 20, 10, 10)
    give 3,358,374 and 216,246 parameters per network; the paper's counts are exactly twice these,
    as if the online and the target network were both counted. Our reading, not stated by the paper.
    """
    c1, c2, c3, fc = widths
    net = nn.Sequential(nn.Conv2d(4, c1, 8, 4, padding=2), nn.ReLU(), nn.Conv2d(c1, c2, 4, 2, padding=1), nn.ReLU(),
                        nn.Conv2d(c2, c3, 3, 1, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(c3 * 10 * 10, fc),
                        nn.ReLU(), nn.Linear(fc, n_actions))
    assert net[:6](torch.zeros(1, 4, 80, 80)).shape[2:] == (10, 10)
    return 2 * count_params(net)


@dataclass(frozen=True)
class PolicyNetGenerator:
    """Algorithm 1, line 1: the largest network of a family that fits a resource budget ``R``.

    The family scales the teacher's widths by a multiplier (each width rounded, at least 1); the
    candidates are tried from the largest down and the first that fits is returned.
    """

    layout: str
    obs_shape: tuple[int, ...]
    n_actions: int
    base: tuple[int, ...] | None = None  # widths at multiplier 1 (default: largenet of the layout)
    multipliers: tuple[float, ...] = (1.0, 0.75, 0.5, 0.375, 0.25, 0.1875, 0.125, 0.0625, 0.03125)

    def widths(self, multiplier: float) -> tuple[int, ...]:
        base = self.base or LARGENET[self.layout]
        return tuple(max(1, round(w * multiplier)) for w in base)

    def candidates(self) -> list[tuple[tuple[int, ...], int, int]]:
        """``(widths, parameters, FLOPs)`` of every candidate, largest first."""
        out = []
        for m in sorted(self.multipliers, reverse=True):
            net = QNet(self.layout, self.widths(m), self.obs_shape, self.n_actions)
            out.append((net.widths, count_params(net), count_flops(net, self.obs_shape)))
        return out

    def __call__(self, budget: float, unit: str = "params") -> QNet:
        if unit not in ("params", "flops"):
            raise ValueError(f"'unit' must be 'params' or 'flops', got {unit!r}")
        if not budget > 0:
            raise ValueError(f"'budget' must be a positive number of {unit}, got {budget!r}")
        cands = self.candidates()
        for widths, params, flops in cands:
            if (params if unit == "params" else flops) <= budget:
                return QNet(self.layout, widths, self.obs_shape, self.n_actions)
        smallest = cands[-1][1 if unit == "params" else 2]
        raise ValueError(f"'budget' of {budget:,.0f} {unit} is below the smallest network of the family "
                         f"({smallest:,} {unit})")


# ---------------------------------------------------------------------------------------------
# 3. The OD3 loss (eqs. 3-5)
# ---------------------------------------------------------------------------------------------


def od3_loss(student_logits: torch.Tensor, teacher_q: torch.Tensor, tau: float = 0.01) -> torch.Tensor:
    r"""Eq. 4-5 averaged over the batch: :math:`\mathrm{KL}(F_{sm}(q_T/\tau)\,\|\,F_{sm}(z_S))`.

    The teacher's Q-values are sharpened with temperature ``tau`` (eq. 3, :math:`\tau < 1`); the
    student's logits enter at temperature 1. The teacher is detached: only the student gets gradients.
    """
    if not tau > 0:
        raise ValueError(f"'tau' must be > 0, got {tau}")
    target = F.log_softmax(teacher_q.detach() / tau, dim=1)
    return F.kl_div(F.log_softmax(student_logits, dim=1), target, log_target=True, reduction="batchmean")


# ---------------------------------------------------------------------------------------------
# 4. Training: CLOUD / EDGE (DQN, eq. 2) and EDGE-OD3 (Algorithm 1)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (Table 2 of the paper at the paper scale)."""

    env: str = "cartpole"
    steps: int = 30_000              # training timesteps
    batch_size: int = 32             # mini-batch size
    update_every: int = 4            # "update frequency": env steps between SGD updates
    lr_start: float = 2.5e-4         # Adam, decayed linearly ...
    lr_end: float = 5e-5             # ... to this over the run
    eps_start: float = 1.0           # epsilon-greedy exploration, linearly ...
    eps_end: float = 0.1             # ... to this ...
    eps_fraction: float = 0.1        # ... over this fraction of the run
    buffer: int = 100_000            # replay memory
    gamma: float = 0.99
    learning_starts: int = 1_000     # steps of pure collection before the first update
    target_every: int = 1_000        # DQN: env steps between hard target updates
    huber: bool = True
    log_every: int = 1_000           # checkpoint period of the recorded curves
    window: int = 20                 # training episodes averaged into the "average reward"
    eval_episodes: int = 10          # final evaluation at epsilon = 0.05
    max_eval_steps: int = 10_000
    tau: float = 0.01                # OD3 temperature
    device: str = "cpu"              # where the run lives: one of DEVICES ("auto": a GPU if there is one)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "update_every", "buffer", "target_every", "log_every", "window"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"'{name}' must be >= 1, got {getattr(self, name)}")
        if not 0 < self.eps_fraction <= 1:
            raise ValueError(f"'eps_fraction' must lie in (0, 1], got {self.eps_fraction}")
        _check_device(self.device)


def _check_device(device: str | torch.device) -> str:
    """``device`` as a string if it names one of :data:`DEVICES`, else ``ValueError`` naming 'device'."""
    name = str(device)
    kind, colon, index = name.partition(":")
    if name in ("auto", "cpu") or (kind == "cuda" and (not colon or index.isdigit())):
        return name
    raise ValueError(f"'device' must be one of {', '.join(DEVICES)}, got {device!r}")


def resolve_device(device: str | torch.device) -> torch.device:
    """The torch device a run uses: ``"auto"`` is ``cuda`` if ``torch.cuda.is_available()``, else ``cpu``.

    Raises ``ValueError`` naming 'device' for an unknown string, or for ``cuda`` without a usable GPU.
    """
    name = _check_device(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"'device' is {name!r} but torch.cuda.is_available() is False: use 'cpu' or 'auto'")
    return torch.device(name)


@dataclass
class RunResult:
    """A trained network, its curve (one row per checkpoint) and its final evaluation returns."""

    net: QNet
    curve: pd.DataFrame
    eval_returns: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _spaces(env_name: str) -> tuple[tuple[int, ...], int]:
    env = make_env(env_name)
    shape, n = tuple(env.observation_space.shape), int(env.action_space.n)
    env.close()
    return shape, n


def build_net(env_name: str, size: str, seed: int = 0) -> QNet:
    """``size`` is ``"largenet"`` or ``"smallnet"``, in the layout that suits ``env_name``, its weights
    initialised from ``seed`` (the global torch generator is left untouched)."""
    if size not in ("largenet", "smallnet"):
        raise ValueError(f"'size' must be 'largenet' or 'smallnet', got {size!r}")
    layout = layout_for(env_name)
    shape, n = _spaces(env_name)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return QNet(layout, (LARGENET if size == "largenet" else SMALLNET)[layout], shape, n)


def train(net: QNet, cfg: TrainConfig, seed: int, teacher: QNet | None = None, actor: str = "student",
          label: str = "", device: str | torch.device | None = None) -> RunResult:
    """Train ``net`` for ``cfg.steps`` environment steps on ``device`` (``None``: ``cfg.device``).

    Without ``teacher``: DQN (Mnih et al. 2015; OD3 eq. 2) with the Huber TD loss, a target network
    copied every ``cfg.target_every`` steps, Adam with a linearly decaying learning rate.
    With ``teacher``: OD3 (Algorithm 1) — each update minimises :func:`od3_loss` between the teacher's
    sharpened Q-values and the student's outputs on a minibatch of stored states; no TD target,
    no target network. ``actor`` chooses whose ε-greedy actions gather the states.

    The networks (``net`` and ``teacher`` are moved there in place, the target network is made there),
    the replay memory (Atari frames as uint8), the observations and the evaluation all live on the
    device; the only per-step host-device synchronisation is reading the greedy action.
    """
    device = resolve_device(cfg.device if device is None else device)
    if actor not in ("student", "teacher"):
        raise ValueError(f"'actor' must be 'student' or 'teacher', got {actor!r}")
    if actor == "teacher" and teacher is None:
        raise ValueError("actor='teacher' needs a teacher")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = make_env(cfg.env)
    env.action_space.seed(seed)
    obs_np, _ = env.reset(seed=seed)
    obs_dtype = torch.uint8 if net.layout == "atari" else torch.float32
    memory = rl.ReplayBuffer(min(cfg.buffer, cfg.steps), tuple(env.observation_space.shape), obs_dtype=obs_dtype,
                             device=device, seed=seed)
    net.to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=cfg.lr_start, eps=1.5e-4, fused=True)
    n_updates = max(1, (cfg.steps - cfg.learning_starts) // cfg.update_every)
    scheduler = rl.linear_lr_scheduler(optimiser, cfg.lr_start, cfg.lr_end, n_updates)
    epsilon = rl.linear_schedule(cfg.eps_start, cfg.eps_end, max(1, int(cfg.eps_fraction * cfg.steps)))
    target_net = None
    if teacher is None:
        target_net = QNet(net.layout, net.widths, tuple(env.observation_space.shape), net.head.out_features)
        target_net.to(device)
        rl.hard_update(target_net, net)
        target_net.requires_grad_(False)
    else:
        teacher.to(device).eval().requires_grad_(False)
    acting = teacher if actor == "teacher" else net
    n_actions = int(env.action_space.n)
    uniforms = rng.random(cfg.steps)
    random_actions = rng.integers(n_actions, size=cfg.steps)
    rows, returns, episode_return, updates, last_loss = [], [], 0.0, 0, None
    wall0, cpu0 = time.perf_counter(), time.process_time()
    obs = torch.as_tensor(obs_np, dtype=obs_dtype, device=device)
    for t in range(cfg.steps):  # the hot path: no per-step allocation beyond the observation
        eps = 0.05 if actor == "teacher" else epsilon(t)
        if uniforms[t] < eps:
            action = int(random_actions[t])
        else:
            with torch.no_grad():
                action = int(acting(obs.unsqueeze(0)).argmax(dim=1))
        next_np, reward, terminated, truncated, _ = env.step(action)
        next_obs = torch.as_tensor(next_np, dtype=obs_dtype, device=device)
        rl.store_transition(memory, obs, action, reward, next_obs, terminated)
        episode_return += reward
        if terminated or truncated:
            returns.append(episode_return)
            episode_return = 0.0
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
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            optimiser.step()
            scheduler.step()
            updates += 1
            last_loss = loss.detach()  # read (a device sync) only at the checkpoints
        if target_net is not None and (t + 1) % cfg.target_every == 0:
            rl.hard_update(target_net, net)
        if (t + 1) % cfg.log_every == 0 or t + 1 == cfg.steps:
            recent = returns[-cfg.window:]
            rows.append({"step": t + 1, "wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0,
                         "reward": float(np.mean(recent)) if recent else float("nan"), "episodes": len(returns),
                         "updates": updates, "loss": float("nan") if last_loss is None else float(last_loss),
                         "epsilon": eps})
    env.close()
    curve = pd.DataFrame(rows).assign(run=label, seed=seed)
    net.eval()
    eval_returns = rl.evaluate(net, make_env(cfg.env), cfg.eval_episodes, epsilon=0.05, seed=seed + 10_000,
                               max_steps=cfg.max_eval_steps, device=device) if cfg.eval_episodes else np.zeros(0)
    net.train()
    return RunResult(net, curve, eval_returns)


# ---------------------------------------------------------------------------------------------
# 5. The teacher cache
# ---------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """``$EDGELEARN_OD3_CACHE``, else ``<results root>/od3/teacher_cache`` (follows EDGELEARN_RESULTS_DIR)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else results_root() / "od3" / "teacher_cache"


def teacher_key(cfg: TrainConfig, seed: int) -> str:
    """SHA-256 (16 hex digits) of the teacher's config (without its ``device``: a teacher trained on a
    GPU serves a CPU run), its seed and the source of od3.py and rl.py."""
    fields = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "device"}
    digest = hashlib.sha256(json.dumps({"cfg": fields, "seed": seed}, sort_keys=True).encode())
    for path in (Path(__file__), Path(rl.__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cached_teacher(cfg: TrainConfig, seed: int, device: str | torch.device | None = None) -> tuple[RunResult, bool]:
    """The CLOUD teacher (largenet trained by DQN) for ``cfg`` and ``seed``, from the cache or trained now,
    its network on ``device`` (``None``: ``cfg.device``, see :func:`train`).

    Returns the run and whether it came from the cache. The weights are stored on the CPU and loaded
    with ``map_location="cpu"``, so a cache made on a GPU loads on a CPU-only machine. Writes are atomic
    (temporary file, then rename).
    """
    device = resolve_device(cfg.device if device is None else device)
    path = cache_dir() / f"teacher_{teacher_key(cfg, seed)}.pt"
    net = build_net(cfg.env, "largenet", seed)
    if path.is_file():
        blob = torch.load(path, map_location="cpu", weights_only=False)
        net.load_state_dict(blob["state_dict"])
        return RunResult(net.to(device), pd.DataFrame(blob["curve"]), np.asarray(blob["eval_returns"])), True
    run = train(net, cfg, seed, label="CLOUD", device=device)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    state = {k: v.detach().cpu() for k, v in run.net.state_dict().items()}
    torch.save({"state_dict": state, "curve": run.curve.to_dict(orient="list"),
                "eval_returns": run.eval_returns.tolist(), "config": dataclasses.asdict(cfg), "seed": seed}, tmp)
    os.replace(tmp, path)
    return run, False


# ---------------------------------------------------------------------------------------------
# 6. Convergence (Table 3)
# ---------------------------------------------------------------------------------------------


def first_reach(curve: pd.DataFrame, threshold: float) -> tuple[float, float, float]:
    """``(step, wall_s, cpu_s)`` of the first checkpoint whose average reward reaches ``threshold``
    (NaN each when it never does)."""
    hit = curve[curve.reward >= threshold]
    if hit.empty:
        return math.nan, math.nan, math.nan
    row = hit.iloc[0]
    return float(row.step), float(row.wall_s), float(row.cpu_s)


def convergence_table(curves: pd.DataFrame, threshold: float, params: dict[str, int]) -> pd.DataFrame:
    """Table 3: per method and seed, parameters, size in % of CLOUD, and the first time and timestep
    at which the average training reward reaches ``threshold``."""
    rows = []
    for (method, seed), curve in curves.groupby(["method", "seed"]):
        step, wall, cpu = first_reach(curve.sort_values("step"), threshold)
        rows.append({"method": method, "seed": seed, "parameters": params[method],
                     "size_pct": 100 * params[method] / params["CLOUD"], "steps_to_converge": step,
                     "wall_s_to_converge": wall, "cpu_s_to_converge": cpu, "converged": not math.isnan(step),
                     "final_reward": float(curve.sort_values("step").reward.iloc[-1])})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Scales
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OD3Config:
    """One chapter run: the teacher's and the students' training, seeds, Case-2 sweeps.

    The device of the runs is ``teacher.device`` and ``student.device``: ``"cpu"`` at the smoke and laptop
    scales, ``"auto"`` (a GPU when there is one) at the paper scale, whose replay memory of 1e6 Atari
    transitions takes 56.4 GB (see :data:`SCALES`).
    """

    teacher: TrainConfig
    student: TrainConfig
    seeds: tuple[int, ...]              # seeds of CLOUD, EDGE and EDGE-OD3 (the teacher is seed 0's CLOUD run)
    sweep_steps: int                    # timesteps of each Case-2 run
    sweep_seeds: tuple[int, ...]
    batch_sizes: tuple[int, ...] = (32, 16, 8, 4)
    update_freqs: tuple[int, ...] = (4, 8, 16, 32)
    converge_fraction: float = 0.8      # convergence reward = this x CLOUD's final average reward
    ablation: bool = True               # the teacher-acting ablation


_CARTPOLE = TrainConfig(env="cartpole", steps=25_000, batch_size=32, update_every=4, lr_start=1e-3, lr_end=2e-4,
                        eps_start=1.0, eps_end=0.05, eps_fraction=0.2, buffer=25_000, gamma=0.99,
                        learning_starts=1_000, target_every=500, log_every=500, window=10, eval_episodes=5,
                        max_eval_steps=500)

SCALES: dict[str, OD3Config] = {
    "smoke": OD3Config(
        teacher=dataclasses.replace(_CARTPOLE, steps=1_500, learning_starts=200, log_every=250, eval_episodes=2,
                                    max_eval_steps=100),
        student=dataclasses.replace(_CARTPOLE, steps=1_000, learning_starts=200, log_every=250, eval_episodes=2,
                                    max_eval_steps=100),
        seeds=(0, 1), sweep_steps=500, sweep_seeds=(0,)),
    "laptop": OD3Config(teacher=dataclasses.replace(_CARTPOLE, steps=20_000),
                        student=dataclasses.replace(_CARTPOLE, steps=12_000),
                        seeds=(0, 1, 2, 3, 4), sweep_steps=8_000, sweep_seeds=(0, 1, 2)),
    # Pong with Table 2's hyper-parameters, on a GPU when there is one (device="auto"). The replay memory of
    # 1e6 transitions keeps obs and next_obs as 4x84x84 uint8 frames: 2 x 1e6 x 28,224 B = 56.4 GB (52.6 GiB)
    # on the device (an 80 GB GPU holds it; without a GPU it needs that much host memory), one run at a time.
    "paper": OD3Config(
        teacher=TrainConfig(env="pong", steps=3_000_000, batch_size=32, update_every=4, lr_start=2.5e-4,
                            lr_end=5e-5, eps_start=1.0, eps_end=0.1, eps_fraction=1_000_000 / 3_000_000,
                            buffer=1_000_000, gamma=0.99, learning_starts=50_000, target_every=10_000,
                            log_every=10_000, window=20, eval_episodes=10, max_eval_steps=27_000,
                            device="auto"),
        student=TrainConfig(env="pong", steps=3_000_000, batch_size=32, update_every=4, lr_start=2.5e-4,
                            lr_end=5e-5, eps_start=1.0, eps_end=0.1, eps_fraction=1_000_000 / 3_000_000,
                            buffer=1_000_000, gamma=0.99, learning_starts=50_000, target_every=10_000,
                            log_every=10_000, window=20, eval_episodes=10, max_eval_steps=27_000,
                            device="auto"),
        seeds=(0, 1, 2), sweep_steps=3_000_000, sweep_seeds=(0,)),
}


def scale_config(scale: str) -> OD3Config:
    """The configuration of ``scale`` (smoke, laptop or paper)."""
    return get_scale(SCALES, scale)
