"""Tests of TRL-HPO (the package edgelearn.trl_hpo): fast, on tiny data."""

from __future__ import annotations

import dataclasses
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import edgelearn.trl_hpo as trl_package
from edgelearn import trl_hpo as trl
from edgelearn.core.store import StaleResultError
from edgelearn.trl_hpo import candidates, experiments, space

SPACE = trl.SearchSpace()
TINY = trl.CandidateTraining(n_train=64, n_val=64, epochs=1, perf_batches=4, perf_batch_size=16)
TINY_ARCH = (SPACE.layer("conv", 8, 3, 2), SPACE.layer("pool", 2, 2, 0), SPACE.layer("fc", 16, True, "relu"))


@pytest.fixture(scope="module")
def data() -> trl.CandidateData:
    return trl.load_candidate_data(TINY)


class CountingPool:
    """A serial candidate pool that counts the candidates it was asked to train."""

    def __init__(self, data: trl.CandidateData) -> None:
        self.pool = trl.candidate_pool(data, "cpu", 1, "serial")
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self.pool, name)

    def map(self, fn, tasks, progress=None, ray_options=None):
        tasks = list(tasks)
        self.calls += len(tasks)
        return self.pool.map(fn, tasks, progress, ray_options)


@pytest.fixture
def pool(data):
    counting = CountingPool(data)
    yield counting
    counting.pool.close()


def random_arch(rng: np.random.Generator, n: int) -> list[trl.Layer]:
    arch = []
    for _ in range(n):
        arch.append(trl.decode_action(rng.random(4), arch[-1].kind if arch else None, SPACE))
    return arch


def small_archs(n: int, seed: int = 0) -> list[trl.Architecture]:
    """``n`` distinct, uncollapsed random architectures of 1-2 layers."""
    rng, archs = np.random.default_rng(seed), []
    while len(archs) < n:
        arch = tuple(random_arch(rng, int(rng.integers(1, 3))))
        if not trl.collapses(arch) and arch not in archs and trl.flops_and_params(arch)[1] < 500_000:
            archs.append(arch)
    return archs


def without_time(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "train_seconds"}


# --------------------------------------------------------------------------------------------
# the search space
# --------------------------------------------------------------------------------------------


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
    assert trl.decode_action([0.5, 0.0, 0.0, 0.0], None, SPACE) == SPACE.layer("conv", 8, 3, 1)
    assert trl.decode_action([0.5, 1.0, 1.0, 1.0], "conv", SPACE) == SPACE.layer("fc", 512, False, "gelu")
    with pytest.raises(ValueError, match="4 numbers in"):
        trl.decode_action([0.5, 1.2, 0, 0], None, SPACE)


def test_collapsed_architectures_are_rejected_and_penalised():
    arch = [SPACE.layer("conv", 8, 7, 3), SPACE.layer("conv", 8, 7, 3)]  # 28 -> 8 -> 1
    assert not trl.collapses(arch)
    arch.append(SPACE.layer("conv", 8, 3, 1))  # 1 < 3: no room for the kernel
    assert trl.collapses(arch) and trl.output_sizes(arch)[-1] == 0
    with pytest.raises(ValueError, match="collapses"):
        trl.build_cnn(arch)
    cfg = trl.SCALES["smoke"]
    reward, done = trl.step_rewards(torch.full((1, 32), 0.9), torch.full((1, 32), 0.8), torch.tensor([True]), 3, cfg)
    assert reward.item() == cfg.penalty and done.item()


def test_fast_network_computes_the_textbook_function_with_the_same_weights():
    rng = np.random.default_rng(3)
    checked = 0
    x = torch.randn(4, 1, 28, 28)
    while checked < 20:
        arch: list[trl.Layer] = []
        for _ in range(int(rng.integers(1, 5))):
            arch.append(trl.decode_action(rng.random(4), arch[-1].kind if arch else None, SPACE))
        if trl.collapses(arch) or trl.flops_and_params(arch)[1] > 2_000_000:
            continue
        fast, plain = trl.build_cnn(arch, 7), trl.build_cnn(arch, 7, fast=False)
        assert any(isinstance(m, torch.nn.MaxPool2d) for m in plain) == any(
            isinstance(m, space.MaxPool2dChannelsLast) for m in fast
        )
        with torch.no_grad():
            torch.testing.assert_close(fast(x), plain(x), rtol=1e-5, atol=1e-5)
        checked += 1


def test_build_cnn_leaves_the_global_random_state_alone():
    before = torch.random.get_rng_state()
    first = trl.build_cnn(TINY_ARCH, seed=5)
    assert torch.equal(torch.random.get_rng_state(), before)
    again = trl.build_cnn(TINY_ARCH, seed=5)
    other = trl.build_cnn(TINY_ARCH, seed=6)
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), again.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(first.parameters(), other.parameters()))


def test_flops_and_params_use_the_flop_counter():
    arch = [SPACE.layer("conv", 8, 3, 1), SPACE.layer("pool", 2, 2, 0), SPACE.layer("fc", 16, True, "relu")]
    flops, params = trl.flops_and_params(arch)
    # conv: 2*9*8*26*26, fc: 2*(8*13*13)*16, head: 2*16*10
    assert flops == 2 * 9 * 8 * 26 * 26 + 2 * 8 * 13 * 13 * 16 + 2 * 16 * 10
    assert params == (9 * 8 + 8) + (8 * 13 * 13 * 16 + 16) + (16 * 10 + 10)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="conv_filters"):
        trl.SearchSpace(conv_filters=(0, 8))
    with pytest.raises(ValueError, match="fc_activation"):
        trl.SearchSpace(fc_activation=("relu", "swish"))
    with pytest.raises(ValueError, match="max_layers"):
        trl.SearchSpace(max_layers=0)
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
    with pytest.raises(ValueError, match="smoke, laptop, paper"):
        trl.SCALES["huge"]
    with pytest.raises(ValueError, match="tau"):
        dataclasses.replace(trl.SCALES["smoke"], tau=2.0)
    with pytest.raises(ValueError, match="backend"):
        dataclasses.replace(trl.SCALES["smoke"], backend="threads")
    with pytest.raises(ValueError, match="perf_batches"):
        trl.CandidateTraining(n_val=100)
    with pytest.raises(ValueError, match="'policy' must be one of"):
        trl.search_architectures(trl.SCALES["smoke"], 0, "greedy", None, None)
    with pytest.raises(ValueError, match="'budget'"):
        trl.search_architectures(trl.SCALES["smoke"], 0, "random", None, None, budget=0)


@pytest.mark.parametrize("scale", ["smoke", "laptop", "paper", "deciding"])
def test_the_agent_trains_at_every_scale(scale):
    """The paper's warm-up (a full 20,000-slot buffer) is never reached in 300 x 10 models of at most 6
    layers: every scale's warm-up must be reachable for sure (each model adds at least one transition)."""
    cfg = trl.SCALES[scale]
    assert cfg.warmup <= cfg.episodes * cfg.models_per_episode
    assert cfg.warmup < int(cfg.explore_fraction * cfg.episodes) * cfg.models_per_episode * cfg.space.max_layers
    with pytest.raises(ValueError, match="'warmup'.*might never train"):
        dataclasses.replace(cfg, warmup=cfg.episodes * cfg.models_per_episode + 1,
                            buffer_size=max(cfg.buffer_size, cfg.episodes * cfg.models_per_episode + 1))  # fmt: skip
    with pytest.raises(ValueError, match="might never train"):
        trl.TRLConfig(episodes=300, models_per_episode=10, buffer_size=20_000, warmup=20_000)  # the paper's


# --------------------------------------------------------------------------------------------
# candidates: training, devices, the cache and the pool
# --------------------------------------------------------------------------------------------


def test_device_field_is_validated_and_set_per_scale():
    assert trl.SCALES["smoke"].training.device == "cpu" and trl.SCALES["laptop"].training.device == "cpu"
    assert trl.SCALES["paper"].training.device == "auto"
    for bad in ("gpu", "CUDA", "cuda:x", "", None):
        with pytest.raises(ValueError, match="'device'"):
            trl.CandidateTraining(device=bad)
    # the cache keys a CPU result without a device; "auto" shares the CPU's entries exactly when no GPU is seen
    assert "device" not in TINY.key_fields()
    auto = dataclasses.replace(TINY, device="auto")
    same = candidates.candidate_spec(TINY_ARCH, auto, 0) == candidates.candidate_spec(TINY_ARCH, TINY, 0)
    assert same == (not torch.cuda.is_available())
    # Ray asks for a GPU share only for a CUDA device
    assert trl.ray_task_options("cpu", 4) == {"num_cpus": 1}
    assert trl.ray_task_options("cuda", 4) == {"num_cpus": 1, "num_gpus": 0.25}
    assert ("num_gpus" in trl.ray_task_options("auto", 2)) == torch.cuda.is_available()
    with pytest.raises(ValueError, match="gpus_per_task"):
        trl.ray_task_options("cuda", 2, gpus_per_task=2.0)


def test_candidate_training_is_deterministic_and_leaves_threads_alone(data):
    threads = torch.get_num_threads()
    first = trl.evaluate_candidate(TINY_ARCH, data, TINY, seed=3)
    assert torch.get_num_threads() == threads
    assert without_time(trl.evaluate_candidate(TINY_ARCH, data, TINY, seed=3)) == without_time(first)
    other = trl.evaluate_candidate(TINY_ARCH, data, TINY, seed=4)  # another seed: other weights and order
    assert other["perf"] != first["perf"] or other["val_accuracy"] != first["val_accuracy"]
    assert len(first["perf"]) == TINY.perf_batches and first["accuracy"] == pytest.approx(np.mean(first["perf"]))
    assert (first["flops"], first["params"]) == trl.flops_and_params(TINY_ARCH)


def test_cache_returns_without_retraining(data, pool, tmp_path):
    cache = trl.candidate_cache(tmp_path / "cache")
    archs = small_archs(2, seed=1)
    first, trained = trl.evaluate_many(archs + [archs[0]], pool, cache, TINY, seed=0)
    assert pool.calls == 2 and trained == [True, True, False] and first[2] == first[0]
    again, trained = trl.evaluate_many(archs, pool, cache, TINY, seed=0)
    assert pool.calls == 2 and trained == [False, False] and cache.hits == 2
    assert again == first[:2] and len(first[0]["perf"]) == TINY.perf_batches
    trl.evaluate_many(archs[:1], pool, cache, TINY, seed=1)  # another seed is another entry
    trl.evaluate_many(archs[:1], pool, cache, TINY, seed=0, data_tag="other data")  # other data too
    assert pool.calls == 4 and len(cache) == 4


def test_candidate_cache_is_shared_across_processes(data, pool, tmp_path):
    """Two process workers write into one cache folder; a fresh cache object here finds every entry."""
    archs = small_archs(3, seed=2)
    folder = tmp_path / "shared"
    with trl.candidate_pool(data, "cpu", workers=2, backend="process") as processes:
        assert processes.backend == "process"
        results, trained = trl.evaluate_many(archs, processes, trl.candidate_cache(folder), TINY, seed=0)
    assert trained == [True] * 3 and len(list(folder.glob("*.pkl"))) == 3
    fresh = trl.candidate_cache(folder)
    for arch, result in zip(archs, results):
        assert fresh.get(candidates.candidate_spec(arch, TINY, 0)) == result
        # the same numbers as training here: one thread per candidate, seeded per architecture
        assert without_time(result) == without_time(trl.evaluate_candidate(arch, data, TINY, seed=0))
    again, trained = trl.evaluate_many(archs, pool, fresh, TINY, seed=0)
    assert pool.calls == 0 and trained == [False] * 3 and again == results


CACHE_PACKAGE_FILES = ("space.py", "candidates.py", "trl_hpo.py", "baselines.py", "analysis.py")


def test_candidate_cache_goes_stale_exactly_when_candidate_training_changes(data, pool, tmp_path, monkeypatch):
    """The fingerprint follows a copy of the package whose files we edit: the cache misses after an
    edit to candidate training or the search space, and still hits after an edit to the agent,
    the baselines or the analysis."""
    fingerprint = trl.candidate_cache(tmp_path / "probe").fingerprint.files
    assert {"edgelearn.trl_hpo.candidates", "edgelearn.trl_hpo.space", "edgelearn.core.fit"} <= set(fingerprint)
    assert not {"edgelearn.trl_hpo.trl_hpo", "edgelearn.trl_hpo.baselines", "edgelearn.trl_hpo"} & set(fingerprint)

    copy = tmp_path / "package"
    copy.mkdir()
    for name in CACHE_PACKAGE_FILES:
        shutil.copy(Path(trl_package.__file__).parent / name, copy / name)
    monkeypatch.setattr(trl_package, "__path__", [str(copy)])
    for name in CACHE_PACKAGE_FILES:  # find_spec answers from sys.modules: let it look at the copy
        monkeypatch.delitem(sys.modules, f"edgelearn.trl_hpo.{name[:-3]}")

    folder, archs = tmp_path / "cache", small_archs(1, seed=3)
    trl.evaluate_many(archs, pool, trl.candidate_cache(folder), TINY, seed=0)
    assert pool.calls == 1

    def edit(name: str) -> None:
        with open(copy / name, "a") as handle:
            handle.write("\n_AN_EDIT = 1\n")

    for name in ("trl_hpo.py", "baselines.py", "analysis.py"):
        edit(name)
        trl.evaluate_many(archs, pool, trl.candidate_cache(folder), TINY, seed=0)
        assert pool.calls == 1, f"an edit to {name} must leave the candidate cache valid"
    for calls, name in enumerate(("space.py", "candidates.py"), start=2):
        edit(name)
        cache = trl.candidate_cache(folder)
        trl.evaluate_many(archs, pool, cache, TINY, seed=0)
        assert pool.calls == calls and cache.misses == 1, f"an edit to {name} must make the cache miss"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_candidate_trains_on_cuda(data, tmp_path):
    on_gpu = dataclasses.replace(TINY, device="cuda")
    moved = data.to("cuda")
    assert moved.on(torch.device("cuda")) and moved.to("cuda") is moved
    result = trl.evaluate_candidate(TINY_ARCH, moved, on_gpu, seed=3)
    assert all(type(v) is float and 0 <= v <= 1 for v in result["perf"]) and len(result["perf"]) == TINY.perf_batches
    assert type(result["accuracy"]) is float and type(result["val_accuracy"]) is float
    # the same function as on the CPU: accuracies close (floating-point reordering only)
    cpu = trl.evaluate_candidate(TINY_ARCH, data, TINY, seed=3)
    assert abs(result["val_accuracy"] - cpu["val_accuracy"]) <= 0.1
    with trl.candidate_pool(data, "cuda", 1, "serial") as gpu_pool:
        served, _ = trl.evaluate_many([TINY_ARCH], gpu_pool, trl.candidate_cache(tmp_path), on_gpu, 3)
    assert len(served[0]["perf"]) == TINY.perf_batches
    assert candidates.candidate_spec(TINY_ARCH, TINY, 3) != candidates.candidate_spec(TINY_ARCH, on_gpu, 3)


def test_ray_backend_matches_process_pool(data, tmp_path):
    pytest.importorskip("ray")
    archs = small_archs(2, seed=4)
    results = {}
    for backend, workers in (("serial", 1), ("process", 2), ("ray", 1)):
        with trl.candidate_pool(data, "cpu", workers, backend) as pool:
            results[backend], _ = trl.evaluate_many(archs, pool, trl.candidate_cache(tmp_path / backend), TINY, 0)
    for s, p, r in zip(results["serial"], results["process"], results["ray"]):
        assert s["perf"] == p["perf"] == r["perf"]
        assert s["val_accuracy"] == p["val_accuracy"] == r["val_accuracy"]


# --------------------------------------------------------------------------------------------
# the agent
# --------------------------------------------------------------------------------------------


def test_progressive_reward_telescopes_to_final_accuracy():
    cfg = dataclasses.replace(trl.SCALES["smoke"], min_improvement=-1.0, min_accuracy=0.0)
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
    cfg = trl.SCALES["smoke"]
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
    cfg = trl.SCALES["smoke"]
    agent = trl.Agent(cfg, seed=0)
    assert isinstance(agent.critic, trl.TransformerCritic)
    gen = torch.Generator().manual_seed(1)
    s = torch.rand(16, 6, 64, generator=gen)
    agent.buffer.add(s, torch.rand(16, 4, generator=gen), torch.rand(16, generator=gen), s, torch.zeros(16))
    before = [p.clone() for p in agent.critic.parameters()]
    target_before = [p.clone() for p in agent.critic_target.parameters()]
    actor_target_before = [p.clone() for p in agent.actor_target.parameters()]
    rng_before = torch.random.get_rng_state()
    agent.update()
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # dropout drew from a forked generator
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.critic.parameters()))
    for old, new, online in zip(target_before, agent.critic_target.parameters(), agent.critic.parameters()):
        # soft update: theta' = (1 - tau) theta'_old + tau theta
        torch.testing.assert_close(new, (1 - cfg.tau) * old + cfg.tau * online)
    drift = max(
        float((a - b).detach().abs().max()) for a, b in zip(actor_target_before, agent.actor_target.parameters())
    )
    assert drift < 1e-3


def test_metaqnn_q_update():
    meta = trl.MetaQNN(episodes=4, alpha=0.5)
    a = torch.zeros(4)
    meta.remember([((0, "input"), "C8k3s1"), ((1, "C8k3s1"), "F16b-relu")], [a, a], ret=0.9)
    meta.learn()
    # backwards: the last step moves halfway to the return, the first halfway to max(0.5, next row)
    assert meta.q[(1, "C8k3s1")]["F16b-relu"] == pytest.approx(0.5 + 0.5 * (0.9 - 0.5))
    assert meta.q[(0, "input")]["C8k3s1"] == pytest.approx(0.5 + 0.5 * (0.7 - 0.5))
    # greedy once epsilon is spent and a layer is worth more than the optimistic 0.5
    meta.begin_episode(3)
    meta.epsilon = lambda episode: 0.0
    assert torch.equal(meta.choose((0, "input"), torch.ones(4)), a)
    assert torch.equal(meta.choose((5, "unseen"), torch.ones(4)), torch.ones(4))


# --------------------------------------------------------------------------------------------
# the search
# --------------------------------------------------------------------------------------------

SEARCH = dataclasses.replace(trl.SCALES["smoke"], training=TINY, min_accuracy=0.0, episodes=3)
COLUMNS = ["episode", "model", "step", "arch", "trained", "n_trained", "reward", "accuracy", "a0", "a1", "a2", "a3"]


def test_search_is_deterministic_and_independent_of_the_cache(pool, tmp_path):
    def run(cache: str, **kwargs):
        return trl.search_architectures(SEARCH, 0, "trl", pool, trl.candidate_cache(tmp_path / cache), "tiny", **kwargs)

    a = run("a")
    calls = pool.calls
    b = run("b")  # a fresh cache: everything trained again, the same numbers
    assert pool.calls == 2 * calls
    pd.testing.assert_frame_equal(a.steps[COLUMNS], b.steps[COLUMNS])
    assert len(a.losses) > 0  # the buffer warmed up and DDPG updated
    c = run("a")  # a's cache: nothing trained, and the rows (what counts as new, the budget) unchanged
    assert pool.calls == 2 * calls and c.cache_hits > 0
    pd.testing.assert_frame_equal(a.steps[COLUMNS], c.steps[COLUMNS])
    assert int(a.steps.trained.sum()) == calls == a.steps.n_trained.iloc[-1]


def test_search_resumes_after_a_kill_with_identical_results(pool, tmp_path):
    def run(cache: str, **kwargs):
        cache = trl.candidate_cache(tmp_path / cache)
        return trl.search_architectures(SEARCH, 0, "trl", pool, cache, data_tag="tiny", **kwargs)

    whole = run("whole")
    ckpt = tmp_path / "trl.pkl"
    killed = run("killed", checkpoint=ckpt, stop_after=1)  # "killed" after one episode
    assert killed.steps.episode.max() == 0 and ckpt.is_file()
    resumed = run("killed", checkpoint=ckpt)
    pd.testing.assert_frame_equal(whole.steps[COLUMNS], resumed.steps[COLUMNS])
    pd.testing.assert_frame_equal(whole.losses, resumed.losses)
    torch.testing.assert_close(whole.final_states, resumed.final_states, rtol=0, atol=0)


def test_checkpoint_of_another_run_or_other_code_is_refused(pool, tmp_path):
    ckpt = tmp_path / "random.pkl"

    def run(seed=0, policy="random", budget=4, data_tag="tiny"):
        cache = trl.candidate_cache(tmp_path / "cache")
        return trl.search_architectures(SEARCH, seed, policy, pool, cache, data_tag, budget, ckpt, stop_after=1)

    run()
    for other in ({"seed": 1}, {"policy": "metaqnn"}, {"budget": 5}, {"data_tag": "other data"}):
        with pytest.raises(StaleResultError, match="another run"):
            run(**other)
    # the pool's size is no part of a run: a search killed with 3 workers resumes with 1
    assert trl.trl_hpo.search_run_key(SEARCH, 0, "random", 4, "tiny") == trl.trl_hpo.search_run_key(
        dataclasses.replace(SEARCH, workers=3, backend="process"), 0, "random", 4, "tiny"
    )
    # a checkpoint written by other code (here: its recorded source hash of the agent differs)
    saved = pickle.loads(ckpt.read_bytes())
    saved["code"]["files"]["edgelearn.trl_hpo.trl_hpo"] = "0" * 12
    ckpt.write_bytes(pickle.dumps(saved))
    with pytest.raises(StaleResultError, match=r"other code \(changed since: edgelearn\.trl_hpo\.trl_hpo\)"):
        run()


def test_baselines_search_at_a_budget(pool, tmp_path):
    runs = {}
    for policy in ("random", "metaqnn"):
        for rep in range(2):
            cache = trl.candidate_cache(tmp_path / f"{policy}{rep}")
            runs[policy, rep] = trl.search_architectures(SEARCH, 0, policy, pool, cache, "tiny", budget=8)
    for policy in ("random", "metaqnn"):
        steps = runs[policy, 0].steps
        assert steps.trained.sum() >= 8 and set(steps.phase) == {policy} and runs[policy, 0].agent is None
        # the budget stops the search after the episode in which it is reached
        last = steps.episode.max()
        assert steps[steps.episode < last].trained.sum() < 8
        pd.testing.assert_frame_equal(steps[COLUMNS], runs[policy, 1].steps[COLUMNS])
    assert list(runs["random", 0].steps.arch) != list(runs["metaqnn", 0].steps.arch)


# --------------------------------------------------------------------------------------------
# the chapter's run: units of work, resuming, the deciding scale
# --------------------------------------------------------------------------------------------

RUN = dataclasses.replace(SEARCH, episodes=2, seeds=(0, 1))
TIMING = {"wall_s", "train_seconds", "search_s"}


def untimed(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables without what depends on the clock (the anytime curves are best-so-far over wall time)."""
    return {name: t.drop(columns=sorted(TIMING & set(t.columns))) for name, t in tables.items() if name != "anytime"}


def assert_same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    a, b = untimed(a), untimed(b)
    assert set(a) == set(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def test_a_resumed_run_gives_the_tables_of_an_uninterrupted_one(tmp_path, monkeypatch):
    whole = experiments.run("smoke", 0, cfg=RUN)  # serial, no checkpoints
    assert len(whole["steps"].groupby(["policy", "seed"])) == 6 and set(whole["steps"].seed) == {0, 1}
    ckpt = tmp_path / "ckpt"
    calls, kill = [], [True]
    real = experiments.search_unit

    def killed(cfg, seed, policy, *args):
        if kill[0] and policy == "random" and seed == 1:  # killed in the second phase, after 4 of the 6 searches
            raise KeyboardInterrupt
        calls.append((policy, seed))
        return real(cfg, seed, policy, *args)

    monkeypatch.setattr(experiments, "search_unit", killed)
    with pytest.raises(KeyboardInterrupt):
        experiments.run("smoke", 0, cfg=RUN, checkpoints=ckpt)
    assert calls == [("trl", 0), ("trl", 1), ("random", 0), ("metaqnn", 0)]
    units = {p: p.stat().st_mtime_ns for p in (ckpt / "units").glob("*.pkl")}
    assert len(units) == 4 and (ckpt / "candidates_trl_seed1").is_dir()  # finished searches and their candidates
    calls.clear()
    kill[0] = False
    resumed = experiments.run("smoke", 0, cfg=RUN, checkpoints=ckpt)
    assert calls == [("random", 1), ("metaqnn", 1)]  # only the searches not finished before the kill
    assert all(p.stat().st_mtime_ns == t for p, t in units.items())  # the cached ones were not rewritten
    assert_same_tables(whole, resumed)
    calls.clear()  # the same tables again from the cache alone
    assert_same_tables(whole, experiments.run("smoke", 0, cfg=RUN, checkpoints=ckpt))
    assert calls == []


def test_deciding_scale_is_valid_and_decides_what_laptop_cannot():
    laptop, deciding = trl.SCALES["laptop"], trl.SCALES["deciding"]
    assert isinstance(deciding, trl.TRLConfig)  # validated on construction
    assert deciding.training.n_train > laptop.training.n_train and deciding.training.epochs > laptop.training.epochs
    assert deciding.training.device == "cpu"  # recorded on CPU cores: deterministic results
    assert deciding.training.n_train + deciding.training.n_val <= 10_000  # offline: MNIST's 10k test images
    assert len(deciding.seeds) >= 3  # paired intervals over seeds
    assert deciding.models_per_episode == trl.SCALES["paper"].models_per_episode
    # the agent trains for sure from half-way through the run at the latest (every model adds a transition)
    assert deciding.warmup <= deciding.episodes * deciding.models_per_episode // 2
    assert deciding.episodes > 5 * laptop.episodes
    rec = experiments.recorder("deciding", 3)
    assert rec.scale == "deciding" and rec.base["seeds"] == {"search_seeds": [3 + s for s in deciding.seeds]}


def test_expected_core_seconds_scales_the_measured_cost_per_candidate_and_image_epoch():
    smoke = trl.SCALES["smoke"]
    measured = dataclasses.replace(
        smoke,
        episodes=1,
        models_per_episode=3,
        seeds=(0, 1),
        warmup=1,
        training=dataclasses.replace(smoke.training, n_train=50, epochs=2),
    )  # 100 image-epochs a candidate
    rows = [("trl", seed, True, 2.0, 7.5) for seed in (0, 1) for _ in range(3)]  # one trained candidate a model
    rows += [("random", 0, True, 2.0, 2.5), ("metaqnn", 0, False, 0.0, 0.5)]  # an untrained (cached) row: no training
    # the searches' wall time beyond training: 2 x (7.5 - 6) + 0.5 + 0.5 = 4 s over the 7 trained candidates
    steps = pd.DataFrame(rows, columns=["policy", "seed", "trained", "train_seconds", "search_s"])
    target = dataclasses.replace(
        measured,
        episodes=2,
        models_per_episode=5,
        seeds=(0, 1, 2),
        training=dataclasses.replace(smoke.training, n_train=1000, epochs=2),
    )
    # 2 x 5 models x 3 seeds x 3 searchers = 90 candidates, each 2 s / 100 image-epochs x 2,000 image-epochs
    # of training and 4 / 7 s of the rest
    rest = 4 / 7
    assert experiments.expected_core_seconds(steps, measured, target) == pytest.approx(90 * (0.02 * 2000 + rest))
    assert experiments.expected_core_seconds(steps, measured, measured) == pytest.approx(3 * 2 * 3 * (2.0 + rest))
