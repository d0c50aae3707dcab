"""MA2ML: credit assignment, unbiased gradients, the KL term, searchers on tiny known tables."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from edgelearn import ma2ml


def tiny_table(dims=(2, 3, 2), seeds=2, noise=0.0, seed=0) -> ma2ml.TabularBenchmark:
    rng = np.random.default_rng(seed)
    mean = rng.uniform(0.5, 0.9, dims)
    acc = mean[None] + noise * rng.normal(size=(seeds, *dims))
    flops = np.broadcast_to(np.arange(1, dims[1] + 1)[None, :, None] * 1e6, dims).copy()
    return ma2ml.TabularBenchmark(acc, flops)


def test_counterfactual_baseline_matches_brute_force():
    dims = (3, 4, 2)
    critic = ma2ml.CentralCritic(dims, hidden=8, seed=1)
    actions = torch.tensor([[0, 1, 1], [2, 3, 0], [1, 0, 1]])
    for agent in range(3):
        pi = torch.softmax(torch.randn(dims[agent]), -1)
        fast = ma2ml.counterfactual_baseline(critic, pi, actions, agent)
        for row, value in zip(actions, fast.detach()):
            total = 0.0
            for a in range(dims[agent]):
                swapped = row.clone()
                swapped[agent] = a
                with torch.no_grad():
                    total += float(pi[a]) * float(critic(swapped[None]))
            assert float(value) == pytest.approx(total, rel=1e-5, abs=1e-6)


def test_lite_gradient_is_unbiased_monte_carlo():
    reward = torch.tensor([[0.1, 0.5, 0.2], [0.9, 0.3, 0.4]])
    logits = [torch.tensor([0.3, -0.2], requires_grad=True), torch.tensor([0.1, 0.4, -0.5], requires_grad=True)]
    # exact gradient of J = sum_a pi1(a1) pi2(a2) R(a1, a2)
    pi1, pi2 = (torch.softmax(lg, -1) for lg in logits)
    exact = torch.autograd.grad((pi1[:, None] * pi2[None, :] * reward).sum(), logits)
    gen = torch.Generator().manual_seed(0)
    n = 200_000
    a1 = torch.multinomial(pi1.detach(), n, replacement=True, generator=gen)
    a2 = torch.multinomial(pi2.detach(), n, replacement=True, generator=gen)
    actions = torch.stack([a1, a2], 1)
    estimate = ma2ml.lite_gradient(logits, actions, reward[a1, a2], baseline=0.37)
    for e, g in zip(estimate, exact):
        np.testing.assert_allclose(e.numpy(), g.numpy(), atol=3e-3)


def test_kl_term_is_zero_when_policy_equals_target_and_positive_otherwise():
    lg = torch.tensor([0.2, -1.0, 0.5])
    assert float(ma2ml.kl_divergence(lg, lg.clone())) == pytest.approx(0.0, abs=1e-7)
    assert float(ma2ml.kl_divergence(lg, lg + 3.0)) == pytest.approx(0.0, abs=1e-6)  # same softmax
    assert float(ma2ml.kl_divergence(lg, torch.zeros(3))) > 0


@pytest.mark.parametrize(
    "make",
    [
        lambda d: ma2ml.MA2MLLite(d, lr=0.3),
        lambda d: ma2ml.MA2ML(d, ma2ml.MA2MLConfig(lam=0.05)),
        lambda d: ma2ml.MA2ML(d, ma2ml.MA2MLConfig(off_policy=False)),
        lambda d: ma2ml.SingleAgent(d, lr=0.3),
    ],
)
def test_searchers_find_the_optimum_of_a_tiny_known_table(make):
    bench = tiny_table(dims=(2, 2, 2), seeds=1, seed=3)
    mean = bench.mean_accuracy()
    searcher = make(bench.dims)
    ma2ml.search_pipelines(searcher, bench, n_batches=40, batch_size=4, seed=0)
    assert np.unravel_index(np.argmax(searcher.joint_policy()), bench.dims) == np.unravel_index(
        np.argmax(mean), bench.dims
    )


@pytest.mark.parametrize("off_policy", [True, False])
def test_target_policies_follow_the_policies_in_both_variants(off_policy):
    """The on-policy variant once never moved its target policies rho, so the monotonicity figure,
    which tracks rho's value, showed a flat line by construction."""
    bench = tiny_table(dims=(2, 2, 2), seeds=1, seed=3)
    searcher = ma2ml.MA2ML(bench.dims, ma2ml.MA2MLConfig(off_policy=off_policy, tau=0.5))
    start = searcher.target_joint_policy().copy()
    ma2ml.search_pipelines(searcher, bench, n_batches=10, batch_size=4, seed=0)
    moved = searcher.target_joint_policy()
    assert not np.allclose(moved, start)  # rho moved
    best = np.argmax(bench.mean_accuracy())
    assert moved.flatten()[best] > start.flatten()[best]  # towards the best pipeline, as pi did
    for target, logits in zip(searcher.targets, searcher.logits):  # and lags pi (tau < 1), not equal to it
        assert not torch.allclose(target, logits.detach())


def test_search_is_deterministic_and_reports_policy_values():
    bench = tiny_table(noise=0.01)
    torch.manual_seed(11)
    before = torch.rand(1)
    torch.manual_seed(11)
    runs = [
        ma2ml.search_pipelines(ma2ml.MA2ML(bench.dims, seed=0), bench, 3, 2, seed=5, mean_reward=bench.mean_accuracy())
        for _ in range(2)
    ]
    assert torch.equal(torch.rand(1), before)  # torch's global random state is neither used nor changed
    pd.testing.assert_frame_equal(runs[0], runs[1])
    other = ma2ml.search_pipelines(ma2ml.MA2ML(bench.dims, seed=1), bench, 3, 2, seed=6)
    assert not other[["a0", "a1", "a2"]].equals(runs[0][["a0", "a1", "a2"]])
    uniform = bench.mean_accuracy().mean()
    assert runs[0].policy_value.iloc[0] == pytest.approx(uniform)  # the first policy is uniform


def test_top_k_curve_and_flops_reward():
    bench = tiny_table()
    history = ma2ml.search_pipelines(ma2ml.RandomSearch(bench.dims), bench, 4, 3, seed=0)
    curve = ma2ml.top_k_curve(history, bench.mean_accuracy(), k=2)
    assert list(curve.batch) == [0, 1, 2, 3]
    assert curve.best_true.is_monotonic_increasing and (curve.distinct <= 12).all()
    r = ma2ml.flops_reward(np.array([0.9, 0.9]), np.array([5e5, 2e6]), constraint=1e6)
    assert r[0] == pytest.approx(0.9) and r[1] == pytest.approx(0.45)


def test_tabular_benchmark_from_frame_round_trip():
    rows = [
        {
            "aug_idx": a,
            "arch_idx": n,
            "hpo_idx": h,
            "seed": s,
            "val_accuracy": 0.5 + 0.1 * a + 0.01 * s,
            "flops": 1e6 * (n + 1),
            "aug": f"aug{a}",
            "arch": f"net{n}",
            "hpo": f"h{h}",
        }
        for a, n, h, s in itertools.product(range(2), range(3), range(2), range(2))
    ]
    bench = ma2ml.TabularBenchmark.from_frame(pd.DataFrame(rows))
    assert bench.dims == (2, 3, 2) and bench.accuracy.shape == (2, 2, 3, 2)
    assert bench.names[1] == ("net0", "net1", "net2")
    with pytest.raises(ValueError, match="cover"):
        ma2ml.TabularBenchmark.from_frame(pd.DataFrame(rows[:-1]))


def test_live_benchmark_trains_each_pipeline_once_per_seed():
    calls = []

    def train(pipeline, seed):
        calls.append((pipeline, seed))
        return 0.5 + 0.1 * pipeline[0], 1e6

    live = ma2ml.LiveBenchmark((2, 2), train, seeds=(0,))
    rng = np.random.default_rng(0)
    live.evaluate(np.array([[0, 1], [1, 1], [0, 1]]), rng)
    assert len(calls) == 2


def test_bad_input_raises():
    bench = tiny_table()
    with pytest.raises(ValueError, match="actions"):
        bench.evaluate(np.array([[0, 5, 0]]), np.random.default_rng(0))
    with pytest.raises(ValueError, match="actions"):
        bench.evaluate(np.array([0, 1, 0]), np.random.default_rng(0))
    with pytest.raises(ValueError, match="constraint"):
        ma2ml.flops_reward(np.ones(1), np.ones(1), constraint=0)
    with pytest.raises(ValueError):
        ma2ml.MA2MLConfig(tau=0)
    with pytest.raises(ValueError, match="scale"):
        ma2ml.SCALES["huge"]
    with pytest.raises(ValueError, match="n_batches"):
        ma2ml.search_pipelines(ma2ml.RandomSearch(bench.dims), bench, 0, 1, seed=0)


def test_ma2ml_lite_observe_as_the_search_loop_runs_it():
    """Each batch of search_pipelines reaches MA2MLLite.observe as the proposed (batch, 3) integer
    actions and their rewards, and observe takes one Adam ascent step along lite_gradient of the
    rewards standardised with every reward seen so far, minus the moving-average baseline."""
    bench = tiny_table(dims=(2, 3, 2), seeds=2, noise=0.02, seed=4)
    lr, decay = 0.05, 0.8
    lite = ma2ml.MA2MLLite(bench.dims, lr=lr, baseline_decay=decay)
    reference = [torch.zeros(d, requires_grad=True) for d in bench.dims]
    reference_opt = torch.optim.Adam(reference, lr=lr)
    seen, baseline, calls = [], 0.0, []
    observe = lite.observe

    def checked_observe(actions, rewards):
        nonlocal baseline
        assert actions.shape == (5, 3) and np.issubdtype(actions.dtype, np.integer)
        seen.extend(rewards.tolist())
        z = (rewards - np.mean(seen)) / np.std(seen)
        assert lite.baseline == pytest.approx(baseline)
        grads = ma2ml.lite_gradient(lite.logits, torch.as_tensor(actions), torch.as_tensor(z), baseline)
        observe(actions, rewards)
        for ref, g in zip(reference, grads):
            ref.grad = -g.float()
        reference_opt.step()
        for got, want in zip(lite.logits, reference):
            torch.testing.assert_close(got.detach(), want.detach(), rtol=1e-5, atol=1e-6)
        baseline = decay * baseline + (1 - decay) * float(z.mean())
        calls.append((actions.copy(), rewards.copy()))

    lite.observe = checked_observe
    history = ma2ml.search_pipelines(lite, bench, n_batches=6, batch_size=5, seed=2)
    assert len(calls) == 6
    for k, (actions, rewards) in enumerate(calls):
        batch = history[history.batch == k]
        np.testing.assert_array_equal(batch[["a0", "a1", "a2"]].to_numpy(), actions)
        np.testing.assert_array_equal(batch.reward.to_numpy(), rewards)
    assert lite.baseline == pytest.approx(baseline)
    assert any(not torch.equal(lg.detach(), torch.zeros_like(lg)) for lg in lite.logits)  # it learned


def test_scales():
    assert set(ma2ml.SCALES) == {"smoke", "laptop", "paper", "deciding"}
    laptop = ma2ml.SCALES["laptop"]
    assert (laptop.table_scale, laptop.n_seeds, laptop.n_batches, laptop.batch_size) == ("laptop", 12, 25, 4)
    assert ma2ml.SCALES["smoke"].table_scale == "live"
    for cfg in ma2ml.SCALES.values():
        assert cfg.table_scale == "live" or cfg.table_scale in ma2ml.TABLE_SCALES
        assert 0.1 in cfg.lambdas and cfg.top_k <= cfg.n_batches * cfg.batch_size


@pytest.mark.usefixtures("isolated_data_env")
def test_live_benchmark_from_space_trains_pipelines_for_real():
    from edgelearn.core.data import DataUnavailableError

    config = ma2ml.TABLE_SCALES["smoke"]
    try:
        data = ma2ml.load_table_data(config, download=False)
    except DataUnavailableError:
        pytest.skip("no local MNIST test set")
    space = ma2ml.JointSpace().subspace(aug=["none", "flip"], arch=["c8"], hpo=[4])
    live = ma2ml.LiveBenchmark.from_space(space, config, data)
    assert live.dims == (2, 1, 1) and live.seeds == config.seeds
    acc, flops = live.evaluate(np.array([[1, 0, 0], [1, 0, 0]]), np.random.default_rng(0))
    row = ma2ml.evaluate_pipeline(space, 1, 0, 0, 0, config, data)
    assert acc.tolist() == [row["val_accuracy"]] * 2 and flops.tolist() == [row["flops"]] * 2
    assert len(live.cache) == 1  # trained once


# -- the deciding scale and recorded runs ------------------------------------------------------


def test_deciding_scale_has_its_own_table_and_more_searches_than_laptop():
    laptop, deciding = ma2ml.SCALES["laptop"], ma2ml.SCALES["deciding"]
    assert deciding.table_scale == "deciding" and "deciding" in ma2ml.TABLE_SCALES
    assert deciding.n_seeds > laptop.n_seeds and deciding.n_batches >= laptop.n_batches
    assert set(laptop.lambdas) <= set(deciding.lambdas)
    # a search still sees only part of the space, so that searchers can differ
    assert deciding.n_batches * deciding.batch_size < ma2ml.TABLE_SPACES["deciding"].n_pipelines


def test_recorder_keeps_the_table_configuration_and_space(results_dir):
    from edgelearn.ma2ml import experiments

    rec = experiments.recorder("deciding", 3)
    config = rec.base["config"]
    assert config["experiments"]["n_seeds"] == ma2ml.SCALES["deciding"].n_seeds
    assert config["table"]["scale"] == "deciding"
    assert config["table"]["config"]["epochs"] == ma2ml.TABLE_SCALES["deciding"].epochs
    assert config["table"]["space"] == ma2ml.TABLE_SPACES["deciding"].describe()
    assert config["table"]["path"] == "data/tables/ma2ml_fashion_deciding.csv"
    assert rec.base["seeds"] == {"searches": list(range(3, 3 + ma2ml.SCALES["deciding"].n_seeds))}
    assert experiments.recorder("smoke").base["config"]["table"] is None  # trained live


def test_a_missing_deciding_table_names_the_command_that_builds_it(tmp_path, monkeypatch):
    from edgelearn.ma2ml import experiments, table

    monkeypatch.setattr(table, "default_table_path", lambda scale: tmp_path / f"{scale}.csv")
    with pytest.raises(FileNotFoundError, match=r"make table TABLE_SCALE=deciding WORKERS=2.*make record PAPER=ma2ml"):
        experiments.load_benchmark("deciding")


def test_run_over_processes_resumes_and_gives_the_tables_of_a_plain_run(tmp_path, results_dir):
    from edgelearn.ma2ml import experiments

    bench = tiny_table(noise=0.01, seed=3)
    plain = experiments.run("smoke", 0, bench=bench)
    kept = tmp_path / "checkpoints"
    pooled = experiments.run("smoke", 0, bench=bench, workers=2, backend="process", checkpoints=kept)
    assert set(pooled) == set(plain)
    for name in plain:
        pd.testing.assert_frame_equal(pooled[name], plain[name])
    cfg = ma2ml.SCALES["smoke"]
    assert len(list(kept.glob("*.pkl"))) == len(experiments.units(cfg, range(cfg.n_seeds)))  # one per search

    def no_search(*args, **kwargs):
        raise AssertionError("a kept search was run again")

    monkeypatch = pytest.MonkeyPatch()
    with monkeypatch.context() as m:
        for kind in experiments.UNITS:
            m.setitem(experiments.UNITS, kind, no_search)
        again = experiments.run("smoke", 0, bench=bench, workers=1, checkpoints=kept)
    for name in plain:
        pd.testing.assert_frame_equal(again[name], plain[name])


@pytest.mark.usefixtures("isolated_data_env")
def test_record_runs_ma2ml_resumably(tmp_path, monkeypatch):
    from edgelearn.core import record
    from edgelearn.core.data import DataUnavailableError, load_dataset

    try:
        load_dataset("mnist", "test", download=False)
    except DataUnavailableError:
        pytest.skip("no local MNIST test set")
    monkeypatch.setattr(record, "checkpoints_root", lambda: tmp_path / "checkpoints")
    summary = record.record("ma2ml", "smoke", root=tmp_path / "recorded", workers=1, backend="serial")
    assert {"claims", "search_curves", "flops_constrained"} <= set(summary["tables"])
    assert summary["code"]["method"] == record.RECORD_METHOD and summary["config"]["table"] is None
    assert any((tmp_path / "checkpoints" / "ma2ml" / "smoke").glob("*.pkl")), "the searches were not kept"
    loaded = record.load_recorded("ma2ml", "smoke", root=tmp_path / "recorded")
    assert loaded.current and loaded.summary["seeds"] == {"searches": [0, 1]}
    assert loaded.tables["claims"].verdict.notna().all()


def test_a_recorded_run_builds_its_missing_table_first(tmp_path, monkeypatch):
    from edgelearn.ma2ml import experiments, table

    built = []

    def build(space, config, out, workers=1, backend="process", **kwargs):
        built.append((space, config, out, workers, backend))

    monkeypatch.setattr(table, "default_table_path", lambda scale: tmp_path / f"{scale}.csv")
    monkeypatch.setattr(table, "build_table", build)
    assert experiments.ensure_table("smoke") is None and not built  # trained live
    assert experiments.ensure_table("deciding", workers=2, backend="ray") == tmp_path / "deciding.csv"
    assert built == [
        (ma2ml.TABLE_SPACES["deciding"], ma2ml.TABLE_SCALES["deciding"], tmp_path / "deciding.csv", 2, "ray")
    ]
    monkeypatch.setattr(table, "table_is_current", lambda *args: True)
    experiments.ensure_table("deciding", workers=2)
    assert len(built) == 1  # a current table is left alone


def test_expected_table_core_seconds_scales_the_measured_cost_per_image_epoch():
    from edgelearn.ma2ml.experiments import expected_table_core_seconds
    from edgelearn.ma2ml.pipelines import TableConfig

    table = pd.DataFrame(
        {"aug": ["a", "a", "b", "b"], "arch": ["x"] * 4, "hpo": ["h"] * 4, "seed": [0, 1, 0, 1],
         "train_seconds": [1.0, 3.0, 4.0, 4.0]}
    )  # fmt: skip
    measured = TableConfig(100, 50, 2, (0, 1))  # 200 image-epochs a run
    assert expected_table_core_seconds(table, measured, measured) == pytest.approx(table.train_seconds.sum())
    target = TableConfig(1000, 50, 4, (0, 1, 2))  # 20x the image-epochs, 3 seeds
    assert expected_table_core_seconds(table, measured, target) == pytest.approx((2.0 + 4.0) * 20 * 3)
