"""Tests of the OD3 package: loss, networks, generator, replay, DQN, environments, devices, teacher cache."""

from __future__ import annotations

import dataclasses
import pickle
import warnings

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from edgelearn import od3
from edgelearn.core import rl, store
from edgelearn.core.costs import count_flops, count_params

TINY = dataclasses.replace(
    od3.SCALES["smoke"].student,
    steps=300,
    learning_starts=50,
    log_every=100,
    target_every=40,
    eval_episodes=1,
    max_eval_steps=50,
)


# --- the OD3 loss (eqs. 3-5) ------------------------------------------------------------------


def test_kl_zero_when_student_matches_sharpened_teacher_up_to_a_shift():
    q = torch.randn(16, 6)
    tau = 0.01
    z = q / tau + torch.randn(16, 1) * 5.0  # a per-row shift leaves the softmax unchanged
    assert od3.od3_loss(z, q, tau).item() == pytest.approx(0.0, abs=1e-5)


def test_kl_positive_otherwise_and_matches_the_definition():
    g = torch.Generator().manual_seed(0)
    q, z = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    tau = 0.5
    p_t = torch.softmax(q / tau, 1)
    expected = (p_t * (p_t.log() - torch.log_softmax(z, 1))).sum(1).mean()
    loss = od3.od3_loss(z, q, tau)
    assert loss.item() > 0
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_wrt_student_logits_is_difference_of_softmaxes():
    q, z = torch.randn(5, 3), torch.randn(5, 3, requires_grad=True)
    od3.od3_loss(z, q, 0.1).backward()
    expected = (torch.softmax(z.detach(), 1) - torch.softmax(q / 0.1, 1)) / 5  # batchmean divides by 5
    assert torch.allclose(z.grad, expected, atol=1e-6)


def test_gradients_flow_only_to_the_student():
    teacher, student = od3.build_net("cartpole", "largenet"), od3.build_net("cartpole", "smallnet")
    obs = torch.randn(32, 4)
    od3.od3_loss(student(obs), teacher(obs), 0.01).backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in student.parameters())


def test_bad_tau_or_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="tau"):
        od3.od3_loss(torch.zeros(1, 2), torch.zeros(1, 2), 0.0)
    for student, teacher in (((4, 6), (4, 3)), ((4, 6), (3, 6)), ((6,), (6,))):
        with pytest.raises(ValueError, match=r"'student_logits' and 'teacher_q'.*\(batch, actions\)"):
            od3.od3_loss(torch.zeros(student), torch.zeros(teacher))


# --- networks and PolicyNetGenerator ----------------------------------------------------------


def test_network_shapes_and_paper_counts():
    atari = od3.QNet("atari", od3.LARGENET["atari"], (4, 84, 84), 6)
    assert atari(torch.zeros(2, 4, 84, 84, dtype=torch.uint8)).shape == (2, 6)
    assert count_params(atari) == 1_687_206  # the Nature-DQN layout
    minatar = od3.QNet("minatar", od3.SMALLNET["minatar"], (4, 10, 10), 3)
    assert minatar(torch.zeros(2, 4, 10, 10)).shape == (2, 3)
    assert od3.paper_count(od3.LARGENET["atari"]) == 6_716_748
    assert od3.paper_count(od3.SMALLNET["atari"]) == 432_492


@pytest.mark.parametrize("unit", ["params", "flops"])
def test_generator_returns_the_largest_network_within_budget(unit):
    gen = od3.PolicyNetGenerator("minatar", (4, 10, 10), 3)
    cands = gen.candidates()
    col = 1 if unit == "params" else 2
    budget = (cands[2][col] + cands[3][col]) // 2  # between the third and fourth candidates
    net = gen(budget, unit)
    measured = count_params(net) if unit == "params" else count_flops(net, (4, 10, 10))
    assert measured <= budget and net.widths == cands[3][0]
    assert gen(cands[0][col], unit).widths == od3.LARGENET["minatar"]


@pytest.mark.parametrize("budget", [0, -5, float("nan"), 10])
def test_generator_bad_budgets_raise(budget):
    with pytest.raises(ValueError, match="budget"):
        od3.PolicyNetGenerator("mlp", (4,), 2)(budget)


def test_generator_bad_unit_raises():
    with pytest.raises(ValueError, match="unit"):
        od3.PolicyNetGenerator("mlp", (4,), 2)(1e6, unit="bytes")


# --- replay, schedules, target network, determinism -------------------------------------------


def test_replay_sampling_shapes():
    memory = rl.ReplayBuffer(100, (4, 10, 10), seed=0)
    for i in range(30):
        memory.add(torch.full((4, 10, 10), float(i)), i % 3, 1.0, torch.zeros(4, 10, 10), False)
    batch = memory.sample(8)
    assert batch["obs"].shape == (8, 4, 10, 10) and batch["action"].shape == (8,)
    assert batch["reward"].shape == batch["done"].shape == (8,)
    assert set(batch["obs"][:, 0, 0, 0].tolist()) <= set(range(30))


def test_lr_scheduler_decays_linearly():
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = rl.linear_lr_scheduler(opt, 2.5e-4, 5e-5, 10)
    lrs = []
    for _ in range(12):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(2.5e-4) and lrs[10] == pytest.approx(5e-5) and lrs[11] == pytest.approx(5e-5)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


@pytest.mark.parametrize("layout", ["mlp", "minatar"])
def test_forward_and_adam_step_are_the_modules_and_optimizer_step_bit_for_bit(layout):
    """QNet.forward calls each layer's operation directly and adam_step calls torch's functional fused Adam:
    both must give exactly what nn.Sequential and Adam(fused=True).step() + zero_grad give."""
    env = "cartpole" if layout == "mlp" else "minatar:breakout"
    ours, theirs = od3.build_net(env, "smallnet", seed=2), od3.build_net(env, "smallnet", seed=2)
    shape = (4,) if layout == "mlp" else (4, 10, 10)
    data = torch.rand((6, 8, *shape), generator=torch.Generator().manual_seed(0))
    opts = [torch.optim.Adam(n.parameters(), lr=1e-3, eps=1.5e-4, fused=True) for n in (ours, theirs)]
    scheduler = rl.linear_lr_scheduler(opts[0], 1e-3, 1e-4, 4)
    for x in data:
        y = ours(x)
        assert torch.equal(y, theirs.head(theirs.body(x)))
        y.square().mean().backward()
        theirs.head(theirs.body(x)).square().mean().backward()
        od3.od3.adam_step(opts[0])
        opts[1].param_groups[0]["lr"] = opts[0].param_groups[0]["lr"]
        opts[1].step()
        opts[1].zero_grad(set_to_none=True)
        scheduler.step()
        assert all(p.grad is None for p in ours.parameters())
        assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), theirs.parameters()))
    assert opts[0].state_dict()["state"].keys() == opts[1].state_dict()["state"].keys()
    for a, b in zip(opts[0].state_dict()["state"].values(), opts[1].state_dict()["state"].values()):
        assert all(torch.equal(a[k], b[k]) for k in ("step", "exp_avg", "exp_avg_sq"))


def test_target_network_updates_on_schedule(monkeypatch):
    calls = []
    original = rl.hard_update
    monkeypatch.setattr(rl, "hard_update", lambda t, s: (calls.append(1), original(t, s)))
    run = od3.train(od3.build_net("cartpole", "smallnet"), dataclasses.replace(TINY, eval_episodes=0), seed=0)
    assert len(calls) == TINY.steps // TINY.target_every  # a copy every target_every steps (the first at creation)
    assert run.curve.updates.iloc[-1] > 0


def test_dqn_is_deterministic_for_a_fixed_seed():
    a = od3.train(od3.build_net("cartpole", "smallnet"), TINY, seed=3)
    b = od3.train(od3.build_net("cartpole", "smallnet"), TINY, seed=3)
    cols = ["step", "reward", "episodes", "updates", "loss"]
    assert a.curve[cols].equals(b.curve[cols])
    assert all(torch.equal(p, q) for p, q in zip(a.net.parameters(), b.net.parameters()))
    assert np.array_equal(a.eval_returns, b.eval_returns)
    assert a.curve.updates.iloc[-1] == sum(
        t >= TINY.learning_starts and t % TINY.update_every == 0 for t in range(TINY.steps)
    )


def test_od3_training_runs_and_leaves_teacher_unchanged():
    teacher = od3.build_net("cartpole", "largenet")
    before = [p.clone() for p in teacher.parameters()]
    run = od3.train(od3.build_net("cartpole", "smallnet"), TINY, seed=0, teacher=teacher)
    assert all(torch.equal(p, q) for p, q in zip(before, teacher.parameters()))
    assert np.isfinite(run.curve.loss.iloc[-1])
    ablation = od3.train(od3.build_net("cartpole", "smallnet"), TINY, seed=0, teacher=teacher, actor="teacher")
    assert len(ablation.curve) == len(run.curve)
    with pytest.raises(ValueError, match="actor"):
        od3.train(od3.build_net("cartpole", "smallnet"), TINY, seed=0, actor="cloud")


def test_evaluate_is_seeded():
    net = od3.build_net("cartpole", "smallnet")
    a = rl.evaluate(net, od3.make_env("cartpole"), 3, epsilon=0.05, seed=1, max_steps=50)
    b = rl.evaluate(net, od3.make_env("cartpole"), 3, epsilon=0.05, seed=1, max_steps=50)
    assert a.shape == (3,) and np.array_equal(a, b) and (a <= 50).all()


# --- environments -----------------------------------------------------------------------------


def test_minatar_comes_from_its_own_registration_and_passes_the_env_checker():
    env = od3.make_env("minatar:breakout")
    assert env.unwrapped.spec.id == "MinAtar/Breakout-v1" and env.action_space.n == 3  # the minimal action set
    assert env.spec.max_episode_steps == 10_000
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")  # our ChannelFirst
        check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 10, 10) and obs.dtype == np.float32 and set(np.unique(obs)) <= {0.0, 1.0}
    first = [env.step(i % 3)[0] for i in range(20)]
    env.reset(seed=0)
    assert all(np.array_equal(o, env.step(i % 3)[0]) for i, o in enumerate(first))


def test_pong_preprocessing_shape():
    env = od3.make_env("pong")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8 and env.action_space.n == 6
    env.close()


@pytest.mark.parametrize("name", ["doom", "minatar:doom", "Pong"])
def test_bad_env_name_raises(name):
    with pytest.raises(ValueError, match="name"):
        od3.make_env(name)


def test_scales_validate():
    assert od3.SCALES["paper"].teacher.env == "pong"
    with pytest.raises(ValueError, match="scale"):
        od3.SCALES["huge"]


@pytest.mark.parametrize("env_name", ["minatar:breakout", "pong"])
def test_convolutional_layouts_train_a_few_steps(env_name):
    cfg = dataclasses.replace(
        TINY, env=env_name, steps=120, learning_starts=60, log_every=60, buffer=200, eval_episodes=0
    )
    teacher = od3.build_net(env_name, "largenet")
    run = od3.train(od3.build_net(env_name, "smallnet"), cfg, seed=0, teacher=teacher)
    assert run.net.layout == od3.layout_for(env_name) and run.curve.updates.iloc[-1] == 15
    assert np.isfinite(run.curve.loss.iloc[-1])


# --- devices and seeding -----------------------------------------------------------------------


def test_scales_choose_their_device():
    assert od3.SCALES["smoke"].teacher.device == od3.SCALES["smoke"].student.device == "cpu"
    assert od3.SCALES["laptop"].teacher.device == od3.SCALES["laptop"].student.device == "cpu"
    assert od3.SCALES["paper"].teacher.device == od3.SCALES["paper"].student.device == "auto"


def test_an_od3_run_on_the_cpu_is_bit_identical_across_runs():
    cfg = od3.SCALES["smoke"].student
    teacher = od3.build_net("cartpole", "largenet", 0)
    runs = [
        od3.train(od3.build_net("cartpole", "smallnet", 1), cfg, seed=1, teacher=teacher, device="cpu")
        for _ in range(2)
    ]
    cols = ["step", "reward", "episodes", "updates", "loss", "epsilon"]
    assert runs[0].curve[cols].equals(runs[1].curve[cols]) and runs[0].curve.updates.iloc[-1] > 0
    assert all(torch.equal(p, q) for p, q in zip(runs[0].net.parameters(), runs[1].net.parameters()))
    assert np.array_equal(runs[0].eval_returns, runs[1].eval_returns)
    assert all(p.device.type == "cpu" for p in runs[1].net.parameters())
    other = od3.train(od3.build_net("cartpole", "smallnet", 2), cfg, seed=2, teacher=teacher, device="cpu")
    assert not other.curve[cols].equals(runs[0].curve[cols])  # the seed matters


def test_networks_and_training_leave_the_global_torch_generator_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = od3.build_net("cartpole", "smallnet", seed=5)
    od3.train(a, dataclasses.replace(TINY, eval_episodes=0), seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    b, c = od3.build_net("cartpole", "smallnet", seed=5), od3.build_net("cartpole", "smallnet", seed=6)
    assert all(torch.equal(p, q) for p, q in zip(b.parameters(), od3.build_net("cartpole", "smallnet", 5).parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(b.parameters(), c.parameters()))


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "tpu", "", "CPU"])
def test_unknown_device_raises(device):
    with pytest.raises(ValueError, match="device"):
        dataclasses.replace(TINY, device=device)
    with pytest.raises(ValueError, match="device"):
        od3.train(od3.build_net("cartpole", "smallnet"), TINY, seed=0, device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised when no GPU is usable")
def test_cuda_without_a_gpu_raises():
    with pytest.raises(ValueError, match="device"):
        od3.train(od3.build_net("cartpole", "smallnet"), TINY, seed=0, device="cuda")


# --- the teacher cache ------------------------------------------------------------------------

CACHE_CFG = dataclasses.replace(TINY, steps=120, learning_starts=40, eval_episodes=1)


def test_teacher_cache_hits_on_the_second_call(tmp_path, monkeypatch):
    monkeypatch.setenv(od3.CACHE_ENV, str(tmp_path))
    run, hit = od3.cached_teacher(CACHE_CFG, 0)
    assert not hit and len(list(tmp_path.glob("*.pkl"))) == 1
    again, hit = od3.cached_teacher(CACHE_CFG, 0)
    assert hit and again.curve.equals(run.curve) and np.array_equal(again.eval_returns, run.eval_returns)
    assert all(torch.equal(p, q) for p, q in zip(run.net.parameters(), again.net.parameters()))
    cache = od3.teacher_cache()
    key = cache.key(od3.teacher_spec(CACHE_CFG, 0))
    assert key != cache.key(od3.teacher_spec(dataclasses.replace(CACHE_CFG, lr_start=5e-4), 0))
    assert key != cache.key(od3.teacher_spec(CACHE_CFG, 1))
    assert key == cache.key(od3.teacher_spec(dataclasses.replace(CACHE_CFG, device="auto"), 0))  # device not keyed


def test_teacher_cache_depends_on_the_code_that_trains_a_teacher_and_nothing_else():
    files = od3.teacher_cache().fingerprint.files
    assert {"edgelearn.od3.od3", "edgelearn.od3.nets", "edgelearn.od3.envs", "edgelearn.core.rl"} <= set(files)
    assert not any(m.startswith(("edgelearn.ats", "edgelearn.ma2ml", "edgelearn.od3.analysis")) for m in files)


def test_a_teacher_cached_by_other_code_misses(tmp_path, monkeypatch):
    monkeypatch.setenv(od3.CACHE_ENV, str(tmp_path))
    run, hit = od3.cached_teacher(CACHE_CFG, 0)
    assert not hit
    real = store.code_fingerprint

    def edited_nets(modules):  # as if edgelearn/od3/nets.py had been edited since
        fp = real(modules)
        return store.Fingerprint(fp.modules, {**fp.files, "edgelearn.od3.nets": "000000000000"})

    monkeypatch.setattr(store, "code_fingerprint", edited_nets)
    again, hit = od3.cached_teacher(CACHE_CFG, 0)
    assert not hit and len(list(tmp_path.glob("*.pkl"))) == 2  # retrained under the new code, stored beside
    assert again.curve[["step", "reward", "loss"]].equals(run.curve[["step", "reward", "loss"]])
    monkeypatch.setattr(store, "code_fingerprint", real)
    assert od3.cached_teacher(CACHE_CFG, 0)[1]  # the first code's entry is still there for the first code


def test_teacher_cache_stores_cpu_tensors_and_loads_on_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv(od3.CACHE_ENV, str(tmp_path))
    run, hit = od3.cached_teacher(CACHE_CFG, 0, device="cpu")
    (path,) = tmp_path.glob("*.pkl")
    stored = pickle.loads(path.read_bytes())["state_dict"]  # as a CPU-only machine unpickles it
    assert not hit and stored.keys() == run.net.state_dict().keys()
    assert all(v.device.type == "cpu" for v in stored.values())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without a GPU
    again, hit = od3.cached_teacher(dataclasses.replace(CACHE_CFG, device="auto"), 0)
    assert hit and again.curve.equals(run.curve)
    assert all(p.device.type == "cpu" for p in again.net.parameters())
    assert all(torch.equal(p, q) for p, q in zip(run.net.parameters(), again.net.parameters()))


def _capture_buffers(monkeypatch) -> list[rl.ReplayBuffer]:
    made = []

    class Spy(rl.ReplayBuffer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(rl, "ReplayBuffer", Spy)
    return made


def test_atari_frames_are_stored_as_uint8_on_the_run_device(monkeypatch):
    made = _capture_buffers(monkeypatch)
    cfg = dataclasses.replace(TINY, env="pong", steps=80, learning_starts=40, log_every=40, buffer=100, eval_episodes=0)
    od3.train(od3.build_net("pong", "smallnet"), cfg, seed=0, device="cpu")
    (memory,) = made
    assert memory.obs.dtype == memory.next_obs.dtype == torch.uint8 and memory.obs.device.type == "cpu"
    assert int(memory.obs[: len(memory)].max()) > 1  # raw 0..255 pixels, scaled inside the network


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_cuda_keeps_everything_on_the_gpu(tmp_path, monkeypatch):
    made = _capture_buffers(monkeypatch)
    dqn = od3.train(od3.build_net("cartpole", "smallnet"), TINY, seed=0, device="cuda")
    assert all(p.is_cuda for p in dqn.net.parameters())
    assert np.isfinite(dqn.curve.loss.iloc[-1]) and dqn.eval_returns.shape == (TINY.eval_episodes,)
    cfg = dataclasses.replace(
        TINY, env="pong", steps=300, learning_starts=100, log_every=100, buffer=300, eval_episodes=0
    )
    teacher = od3.build_net("pong", "largenet")
    run = od3.train(od3.build_net("pong", "smallnet"), cfg, seed=0, teacher=teacher, device="cuda")
    assert all(p.is_cuda for p in run.net.parameters()) and all(p.is_cuda for p in teacher.parameters())
    assert all(m.obs.is_cuda and m.action.is_cuda for m in made) and made[1].obs.dtype == torch.uint8  # pong's
    assert np.isfinite(run.curve.loss.iloc[-1])
    monkeypatch.setenv(od3.CACHE_ENV, str(tmp_path))
    gpu_run, _ = od3.cached_teacher(CACHE_CFG, 0, device="cuda")
    (path,) = tmp_path.glob("*.pkl")
    assert all(v.device.type == "cpu" for v in pickle.loads(path.read_bytes())["state_dict"].values())
    cpu_run, hit = od3.cached_teacher(CACHE_CFG, 0, device="cpu")
    assert hit and all(torch.equal(p.cpu(), q) for p, q in zip(gpu_run.net.parameters(), cpu_run.net.parameters()))
