"""Tests of TRL-HPO (edgelearn.cnn_space, edgelearn.trl_hpo): fast, on tiny data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from edgelearn import cnn_space as cs
from edgelearn import trl_hpo as trl

SPACE = cs.SearchSpace()
TINY = cs.TrainConfig(n_train=64, n_val=64, epochs=1, perf_batches=4, perf_batch_size=16)


@pytest.fixture(scope="module")
def data() -> cs.CandidateData:
    return cs.load_candidate_data(TINY)


class CountingExecutor(cs.SerialExecutor):
    def __init__(self, data):
        super().__init__(data)
        self.calls = 0

    def map(self, archs, config, seed):
        self.calls += len(archs)
        return super().map(archs, config, seed)


def random_arch(rng: np.random.Generator, n: int) -> list[cs.Layer]:
    arch = []
    for _ in range(n):
        arch.append(cs.decode_action(rng.random(4), arch[-1].kind if arch else None, SPACE))
    return arch


def test_decoding_respects_order_rules_and_ranges():
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(300):
        arch = random_arch(rng, 6)
        assert arch[0].kind == "conv"
        for prev, layer in zip(arch, arch[1:]):
            if prev.kind == "fc":
                assert layer.kind == "fc"
        for layer in arch:
            kinds.add(layer.kind)
            for value, allowed in zip(layer.hp, SPACE.values(layer.kind)):
                assert value in allowed
            if layer.kind == "pool":
                assert layer.hp[2] <= layer.hp[0] // 2
        SPACE.check(arch)
    assert kinds == {"conv", "fc", "pool"}
    # the bin edges: a = 0 and a = 1 reach the first and last values
    assert cs.decode_action([0.5, 0.0, 0.0, 0.0], None, SPACE) == SPACE.layer("conv", 8, 3, 1)
    assert cs.decode_action([0.5, 1.0, 1.0, 1.0], "conv", SPACE) == SPACE.layer("fc", 512, False, "gelu")
    with pytest.raises(ValueError, match="4 numbers in"):
        cs.decode_action([0.5, 1.2, 0, 0], None, SPACE)


def test_collapsed_architectures_are_rejected_and_penalised():
    arch = [SPACE.layer("conv", 8, 7, 3), SPACE.layer("conv", 8, 7, 3)]  # 28 -> 8 -> 1
    assert not cs.collapses(arch)
    arch.append(SPACE.layer("conv", 8, 3, 1))  # 1 < 3: no room for the kernel
    assert cs.collapses(arch) and cs.output_sizes(arch)[-1] == 0
    with pytest.raises(ValueError, match="collapses"):
        cs.build_cnn(arch)
    cfg = trl.scale_config("smoke")
    reward, done = trl.step_rewards(torch.full((1, 32), 0.9), torch.full((1, 32), 0.8), torch.tensor([True]), 3, cfg)
    assert reward.item() == cfg.penalty and done.item()


def test_fast_network_computes_the_textbook_function_with_the_same_weights():
    rng = np.random.default_rng(3)
    space, checked = cs.SearchSpace(), 0
    x = torch.randn(4, 1, 28, 28)
    while checked < 20:
        arch: list[cs.Layer] = []
        for _ in range(int(rng.integers(1, 5))):
            arch.append(cs.decode_action(rng.random(4), arch[-1].kind if arch else None, space))
        if cs.collapses(arch) or cs.flops_and_params(arch)[1] > 2_000_000:
            continue
        fast, plain = cs.build_cnn(arch, 7), cs.build_cnn(arch, 7, fast=False)
        assert any(isinstance(m, torch.nn.MaxPool2d) for m in plain) == any(
            isinstance(m, cs.MaxPool2dChannelsLast) for m in fast)
        with torch.no_grad():
            torch.testing.assert_close(fast(x), plain(x), rtol=1e-5, atol=1e-5)
        checked += 1


def test_cache_returns_without_retraining(data):
    executor, cache = CountingExecutor(data), cs.CandidateCache()
    archs = [tuple(random_arch(np.random.default_rng(s), 1)) for s in (1, 2)]
    first, trained = cs.evaluate_many(archs + [archs[0]], executor, cache, TINY, seed=0)
    assert executor.calls == 2 and trained == [True, True, False]
    again, trained = cs.evaluate_many(archs, executor, cache, TINY, seed=0)
    assert executor.calls == 2 and trained == [False, False] and cache.hits == 2
    assert again[0] is first[0] and len(first[0]["perf"]) == TINY.perf_batches
    cs.evaluate_many(archs[:1], executor, cache, TINY, seed=1)  # another seed is another key
    assert executor.calls == 3


def test_progressive_reward_telescopes_to_final_accuracy():
    cfg = dataclasses.replace(trl.scale_config("smoke"), min_improvement=-1.0, min_accuracy=0.0)
    gen = torch.Generator().manual_seed(0)
    perfs = torch.rand(6, 5, 32, generator=gen)  # 6 steps of 5 models
    prev, total = torch.zeros(5, 32), torch.zeros(5)
    for t in range(6):
        reward, done = trl.step_rewards(perfs[t], prev, torch.zeros(5, dtype=torch.bool), t + 1, cfg)
        total += reward
        prev = perfs[t]
        assert bool(done.all()) == (t == 5)
    torch.testing.assert_close(total, perfs[-1].mean(1))


def test_attention_weights_are_distributions_over_positions():
    cfg = trl.scale_config("smoke")
    actor = trl.Actor(cfg).eval()
    state = torch.rand(3, 6, 64) * 2 - 1
    action, weights, _ = actor(state, return_attention=True)
    assert action.shape == (3, 4) and bool(((action >= 0) & (action <= 1)).all())
    assert len(weights) == cfg.n_blocks
    for w in weights:
        assert w.shape == (3, cfg.n_heads, 6, 6) and bool((w >= 0).all())
        torch.testing.assert_close(w.sum(-1), torch.ones(3, cfg.n_heads, 6))
    received, proxy = trl.slot_attention(actor, state)
    torch.testing.assert_close(received.sum(1), torch.ones(3))
    torch.testing.assert_close(proxy.sum(1), torch.ones(3))


def test_one_ddpg_update_changes_the_critic_and_keeps_targets_close():
    cfg = trl.scale_config("smoke")
    agent = trl.Agent(cfg, seed=0)
    gen = torch.Generator().manual_seed(1)
    s = torch.rand(16, 6, 64, generator=gen)
    agent.buffer.add(s, torch.rand(16, 4, generator=gen), torch.rand(16, generator=gen), s, torch.zeros(16))
    before = [p.clone() for p in agent.critic.parameters()]
    target_before = [p.clone() for p in agent.critic_target.parameters()]
    actor_target_before = [p.clone() for p in agent.actor_target.parameters()]
    agent.update()
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.critic.parameters()))
    for old, new, online in zip(target_before, agent.critic_target.parameters(), agent.critic.parameters()):
        # soft update: theta' = (1 - tau) theta'_old + tau theta
        torch.testing.assert_close(new, (1 - cfg.tau) * old + cfg.tau * online)
    drift = max(float((a - b).detach().abs().max())
                for a, b in zip(actor_target_before, agent.actor_target.parameters()))
    assert drift < 1e-3


def test_search_is_deterministic_for_a_fixed_seed_and_resumes(data, tmp_path):
    cfg = dataclasses.replace(trl.scale_config("smoke"), train=TINY, min_accuracy=0.0, episodes=3)
    data_tag = "tiny"

    def run(**kwargs):
        return trl.run_search(cfg, 0, cs.SerialExecutor(data), cs.CandidateCache(), "trl", data_tag=data_tag, **kwargs)

    cols = ["episode", "model", "step", "arch", "reward", "accuracy", "a0", "a1", "a2", "a3"]
    a, b = run(), run()
    pd.testing.assert_frame_equal(a.steps[cols], b.steps[cols])
    assert len(a.losses) > 0  # the buffer warmed up and DDPG updated
    ckpt = tmp_path / "trl.pt"
    run(checkpoint=ckpt, stop_after=1)  # "killed" after one episode
    resumed = run(checkpoint=ckpt)
    pd.testing.assert_frame_equal(a.steps[cols], resumed.steps[cols])
    pd.testing.assert_frame_equal(a.losses, resumed.losses)


def test_bad_search_space_input_raises():
    with pytest.raises(ValueError, match="conv_filters"):
        cs.SearchSpace(conv_filters=(0, 8))
    with pytest.raises(ValueError, match="fc_activation"):
        cs.SearchSpace(fc_activation=("relu", "swish"))
    with pytest.raises(ValueError, match="max_layers"):
        cs.SearchSpace(max_layers=0)
    with pytest.raises(ValueError, match="conv 'kernel' must be one of"):
        SPACE.layer("conv", 8, 4, 1)
    with pytest.raises(ValueError, match="fc 'neurons' must be one of 16..512"):
        SPACE.layer("fc", 10, True, "relu")
    with pytest.raises(ValueError, match="padding"):
        SPACE.layer("pool", 2, 1, 3)
    with pytest.raises(ValueError, match="first layer"):
        SPACE.check([SPACE.layer("pool", 2, 2, 0)])
    with pytest.raises(ValueError, match="only fc layers"):
        SPACE.check([SPACE.layer("conv", 8, 3, 1), SPACE.layer("fc", 16, True, "relu"), SPACE.layer("conv", 8, 3, 1)])
    with pytest.raises(ValueError, match="scale"):
        trl.scale_config("huge")
    with pytest.raises(ValueError, match="tau"):
        dataclasses.replace(trl.scale_config("smoke"), tau=2.0)


def test_ray_backend_matches_process_pool(data):
    pytest.importorskip("ray")
    archs = [tuple(random_arch(np.random.default_rng(s), 2)) for s in (3, 4)]
    archs = [a for a in archs if not cs.collapses(a)]
    pool = cs.make_executor("process", data, workers=2)
    try:
        expected = pool.map(archs, TINY, 0)
    finally:
        pool.close()
    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        got = cs.make_executor("ray", data, workers=1).map(archs, TINY, 0)
    finally:
        ray.shutdown()
    serial = cs.SerialExecutor(data).map(archs, TINY, 0)
    for e, g, s in zip(expected, got, serial):
        assert e["perf"] == g["perf"] == s["perf"]
        assert e["val_accuracy"] == g["val_accuracy"]


def test_flops_and_params_use_the_flop_counter():
    arch = [SPACE.layer("conv", 8, 3, 1), SPACE.layer("pool", 2, 2, 0), SPACE.layer("fc", 16, True, "relu")]
    flops, params = cs.flops_and_params(arch)
    # conv: 2*9*8*26*26, fc: 2*(8*13*13)*16, head: 2*16*10
    assert flops == 2 * 9 * 8 * 26 * 26 + 2 * 8 * 13 * 13 * 16 + 2 * 16 * 10
    assert params == (9 * 8 + 8) + (8 * 13 * 13 * 16 + 16) + (16 * 10 + 10)


def test_metaqnn_q_update_and_search(data):
    meta = trl.MetaQNN(episodes=4, alpha=0.5)
    a = torch.zeros(4)
    meta.remember([((0, "input"), "C8k3s1", None), ((1, "C8k3s1"), "F16b-relu", None)], [a, a], ret=0.9)
    meta.learn(torch.Generator().manual_seed(0))
    # backwards: the last step moves halfway to the return, the first halfway to max(0.5, next row)
    assert meta.q[(1, "C8k3s1")]["F16b-relu"] == pytest.approx(0.5 + 0.5 * (0.9 - 0.5))
    assert meta.q[(0, "input")]["C8k3s1"] == pytest.approx(0.5 + 0.5 * (0.7 - 0.5))
    cfg = dataclasses.replace(trl.scale_config("smoke"), train=TINY, min_accuracy=0.0)
    runs = [trl.run_search(cfg, 0, cs.SerialExecutor(data), cs.CandidateCache(), "metaqnn", data_tag="tiny", budget=8)
            for _ in range(2)]
    assert runs[0].steps.trained.sum() >= 8
    pd.testing.assert_frame_equal(runs[0].steps[["arch", "reward"]], runs[1].steps[["arch", "reward"]])


TINY_ARCH = (SPACE.layer("conv", 8, 3, 2), SPACE.layer("pool", 2, 2, 0), SPACE.layer("fc", 16, True, "relu"))


def test_device_field_is_validated_and_set_per_scale():
    assert trl.scale_config("smoke").train.device == "cpu" and trl.scale_config("laptop").train.device == "cpu"
    assert trl.scale_config("paper").train.device == "auto"
    for bad in ("gpu", "CUDA", "cuda:x", "", None):
        with pytest.raises(ValueError, match="'device'"):
            cs.TrainConfig(device=bad)
        with pytest.raises(ValueError, match="'device'"):
            cs.resolve_device(bad)
    assert cs.resolve_device("cpu") == torch.device("cpu")
    assert cs.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="'device' is 'cuda'"):
            cs.resolve_device("cuda")
    # a CPU config keeps the cache key it had before the field existed; a GPU would be keyed apart
    assert "device" not in TINY.key_fields() and TINY.key() == dataclasses.replace(TINY, device="cpu").key()
    # Ray asks for a GPU share only for a CUDA device
    assert cs.ray_task_options("cpu", 4) == {"num_cpus": 1}
    assert cs.ray_task_options("cuda", 4) == {"num_cpus": 1, "num_gpus": 0.25}
    assert ("num_gpus" in cs.ray_task_options("auto", 2)) == torch.cuda.is_available()
    with pytest.raises(ValueError, match="gpus_per_task"):
        cs.ray_task_options("cuda", 2, gpus_per_task=2.0)


def test_explicit_cpu_device_gives_identical_results(data):
    assert data.to("cpu") is data  # no copy on the CPU
    default = cs.evaluate_candidate(TINY_ARCH, data, TINY, seed=3)
    cpu = dataclasses.replace(TINY, device="cpu")
    explicit = cs.evaluate_candidate(TINY_ARCH, data, cpu, seed=3)
    served = cs.SerialExecutor(data).map([TINY_ARCH], cpu, 3)[0]
    for got in (explicit, served):
        assert got["perf"] == default["perf"] and got["val_accuracy"] == default["val_accuracy"]
        assert (got["flops"], got["params"]) == (default["flops"], default["params"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_candidate_trains_on_cuda(data):
    on_gpu = dataclasses.replace(TINY, device="cuda")
    moved = data.to("cuda")
    assert moved.on(torch.device("cuda")) and moved.to("cuda") is moved
    result = cs.evaluate_candidate(TINY_ARCH, moved, on_gpu, seed=3)
    assert all(type(v) is float and 0 <= v <= 1 for v in result["perf"]) and len(result["perf"]) == TINY.perf_batches
    assert type(result["accuracy"]) is float and type(result["val_accuracy"]) is float
    # the same function as on the CPU: accuracies close (floating-point reordering only)
    cpu = cs.evaluate_candidate(TINY_ARCH, data, TINY, seed=3)
    assert abs(result["val_accuracy"] - cpu["val_accuracy"]) <= 0.1
    served = cs.SerialExecutor(data).map([TINY_ARCH], on_gpu, 3)[0]
    assert len(served["perf"]) == TINY.perf_batches
    assert TINY.key() != on_gpu.key()
