"""Slicing for AI: feasibility against brute force, SA/RSA structure, priors, bad input."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest

from edgelearn import slicing
from edgelearn.exp3 import Exp3, optimal_eta, play


def config(n_services: int = 2, levels: int = 3, **overrides) -> slicing.SlicingConfig:
    services = tuple(
        slicing.Service(
            f"s{m}",
            priority=(0.6, 0.4, 0.5)[m],
            samples=60_000,
            bits_per_sample=6_272,
            cycles_per_sample=2e6,
            max_latency_s=(60, 90, 75)[m],
            max_cost=(5, 6, 5)[m],
        )
        for m in range(n_services)
    )
    fields = dict(
        fractions=tuple(np.round(np.linspace(0.2, 1, levels), 3)),
        epochs=tuple(range(1, levels + 1)),
        cpu_ghz=(1.0, 2.0, 3.0, 4.0),
        rate_mbps=(25.0, 50.0, 75.0, 100.0),
        total_cpu_ghz=3.0 * n_services,
        total_rate_mbps=75.0 * n_services,
    )
    fields.update(overrides)
    return slicing.SlicingConfig(services, **fields)


def brute_force(cfg: slicing.SlicingConfig) -> set[tuple]:
    """Every decision checked one by one against constraints (6)-(11)."""
    per_service = list(
        itertools.product(
            range(len(cfg.fractions)), range(len(cfg.epochs)), range(len(cfg.cpu_ghz)), range(len(cfg.rate_mbps))
        )
    )
    feasible = set()
    for joint in itertools.product(per_service, repeat=cfg.n_services):
        cpu = sum(cfg.cpu_ghz[x[2]] for x in joint)
        rate = sum(cfg.rate_mbps[x[3]] for x in joint)
        if cpu > cfg.total_cpu_ghz or rate > cfg.total_rate_mbps:
            continue
        ok = True
        for s, (i_d, i_e, i_f, i_r) in zip(cfg.services, joint):
            f, r = cfg.cpu_ghz[i_f], cfg.rate_mbps[i_r]
            if slicing.cost(cfg, f, r) > s.max_cost:
                ok = False
            if slicing.latency(s, cfg.fractions[i_d], cfg.epochs[i_e], f, r, cfg.access_delay_s) > s.max_latency_s:
                ok = False
        if ok:
            feasible.add(tuple(joint))
    return feasible


@pytest.mark.parametrize("n_services, levels", [(1, 3), (1, 5), (2, 3)])
def test_feasible_set_matches_brute_force(n_services, levels):
    cfg = config(n_services, levels)
    space = slicing.build_space(cfg)
    ours = {tuple(map(tuple, d)) for d in space.decisions.astype(int).tolist()}
    assert ours == brute_force(cfg)
    assert len(ours) == len(space.decisions)  # no duplicates
    assert slicing.count_space(cfg) == space.sizes


def test_super_actions_partition_the_feasible_set():
    space = slicing.build_space(config(2, 4))
    assert space.super_of.min() == 0 and space.super_of.max() == len(space.hyper) - 1
    np.testing.assert_array_equal(space.hyper[space.super_of], space.decisions[..., :2])  # same h in a group
    assert np.bincount(space.super_of).min() >= 1  # every super action holds a decision
    assert len(np.unique(space.hyper.reshape(len(space.hyper), -1), axis=0)) == len(space.hyper)
    sizes = space.sizes
    assert sizes["OLS"] >= sizes["OLS-SA"] >= sizes["OLS-RSA"] >= 1


def test_rsa_keeps_the_optimum_when_accuracy_is_monotone():
    space = slicing.build_space(config(2, 5))
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b, c = rng.uniform(0.5, 1), rng.uniform(0.1, 0.5, 2), rng.uniform(0.1, 3, 2)
        acc = [
            lambda e, d, a=a, b=b[0], c=c[0]: a - b * np.exp(-c * e * d),
            lambda e, d, a=a, b=b[1], c=c[1]: a - b * np.exp(-(c * e + d)),
        ]
        perf = slicing.performance(space, acc)
        assert perf[space.reduced].max() == pytest.approx(perf.max())


def test_rsa_can_lose_the_optimum_when_accuracy_is_not_monotone():
    relaxed = slicing.Service(
        "relaxed",
        priority=1,
        samples=60_000,
        bits_per_sample=6_272,
        cycles_per_sample=2e6,
        max_latency_s=1e6,
        max_cost=100,
    )
    space = slicing.build_space(
        slicing.SlicingConfig(
            (relaxed,),
            **{
                k: getattr(config(1, 5), k)
                for k in ("fractions", "epochs", "cpu_ghz", "rate_mbps", "total_cpu_ghz", "total_rate_mbps")
            },
        )
    )
    assert len(space.reduced) == 1  # everything is feasible: only (most data, most epochs) survives
    overfit = [lambda e, d: 0.9 - 0.05 * (e - 1.0) ** 2 + 0.01 * d]  # best at 1 epoch: more epochs overfit
    perf = slicing.performance(space, overfit)
    assert perf[space.reduced].max() < perf.max() - 0.5


def test_pareto_maximal_small_example():
    points = np.array([[1, 1], [2, 0], [0, 2], [1, 0], [2, 0]])
    assert set(slicing.pareto_maximal(points)) == {0, 1, 2, 4}


def test_priors_are_distributions_with_the_stated_support():
    space = slicing.build_space(config(2, 4))
    centre = space.coordinates()[7]
    for size in (1, 5, len(space.hyper)):
        p = slicing.sbs_prior(space, centre, size)
        assert p.sum() == pytest.approx(1) and np.count_nonzero(p) == size
        assert p[7] == pytest.approx(1 / size)  # the centre is in its own subset
    g = slicing.gbs_prior(space, centre, 0.2)
    assert g.sum() == pytest.approx(1) and np.all(g > 0) and np.argmax(g) == 7
    assert slicing.gbs_prior(space, centre, 1e6).std() < 1e-9  # huge sigma: uniform


def test_regret_of_ols_rsa_stays_under_its_bound_on_a_fixed_seed():
    space = slicing.build_space(config(2, 4))
    acc = (lambda e, d: 0.95 - 0.5 * np.exp(-(0.4 * e + 2 * d)), lambda e, d: 0.9 - 0.4 * np.exp(-(0.6 * e + d)))
    losses = slicing.SlicingLosses(space, acc, noise_sd=0.02)
    K, T = len(space.reduced), 3_000
    eta = float(optimal_eta(T, K))
    result = play(Exp3(K, eta, n_runs=10, seed=0), losses, T, seed=1, arm_columns=space.reduced)
    assert result.regret[:, -1].mean() <= np.sqrt(2 * T * K * np.log(K))


def test_scenarios_change_the_losses_as_documented():
    space = slicing.build_space(config(2, 4))
    acc = (lambda e, d: 0.95 - 0.5 * np.exp(-(0.4 * e + 2 * d)), lambda e, d: 0.9 - 0.4 * np.exp(-(0.6 * e + d)))
    switch = slicing.SlicingLosses(space, acc, scenario="switch", noise_sd=0)
    early, late = switch.expected_losses(0, 100), switch.expected_losses(99, 100)
    assert not np.allclose(early, late)
    block = next(switch.chunks(100, 3, seed=0, chunk=100))
    assert block.shape == (1, 100, len(space.hyper)) and np.all((block >= 0) & (block <= 1))
    drift = slicing.SlicingLosses(space, acc, scenario="drift", noise_sd=0)
    assert np.all(drift.expected_losses(99, 100) >= drift.expected_losses(0, 100) - 1e-12)


def test_fixed_allocation_is_a_feasible_super_action():
    space = slicing.build_space(config(2, 4))
    arm = slicing.fixed_allocation(space)
    assert 0 <= arm < len(space.hyper)
    rng = np.random.default_rng(0)
    assert space.sub_action(arm, rng).shape == (2, 4)


def test_infeasible_problems_name_the_constraint():
    with pytest.raises(slicing.InfeasibleProblem, match=r"\(6\)"):
        slicing.build_space(config(2, 3, total_cpu_ghz=1.5))
    with pytest.raises(slicing.InfeasibleProblem, match=r"\(7\)"):
        slicing.build_space(config(2, 3, total_rate_mbps=40.0))
    with pytest.raises(slicing.InfeasibleProblem, match=r"\(9\)"):
        slicing.build_space(config(2, 3, price_cpu=100.0))
    with pytest.raises(slicing.InfeasibleProblem, match=r"\(8\)"):
        slicing.build_space(config(2, 3, fractions=(0.9, 1.0), epochs=(50, 60)))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"fractions": (0.0, 0.5)}, "fractions"),
        ({"fractions": (0.5, 1.5)}, "fractions"),
        ({"epochs": (0, 1)}, "epochs"),
        ({"epochs": (2, 1)}, "epochs"),
        ({"cpu_ghz": ()}, "cpu_ghz"),
        ({"total_rate_mbps": -1.0}, "total_rate_mbps"),
    ],
)
def test_bad_ranges_raise(overrides, message):
    with pytest.raises(ValueError, match=message):
        config(1, 3, **overrides)


def test_bad_subsets_and_parameters_raise():
    space = slicing.build_space(config(2, 3))
    centre = space.coordinates()[0]
    with pytest.raises(ValueError, match="K'"):
        slicing.sbs_prior(space, centre, len(space.hyper) + 1)
    with pytest.raises(ValueError, match="K'"):
        slicing.sbs_prior(space, centre, 0)
    with pytest.raises(ValueError, match="centre"):
        slicing.sbs_prior(space, centre[:2], 3)
    with pytest.raises(ValueError, match="sigma"):
        slicing.gbs_prior(space, centre, 0.0)
    with pytest.raises(ValueError, match="priority"):
        slicing.Service(
            "x", priority=-1, samples=1, bits_per_sample=1, cycles_per_sample=1, max_latency_s=1, max_cost=1
        )
    with pytest.raises(ValueError, match="scenario"):
        slicing.SlicingLosses(space, (lambda e, d: e * 0 + 0.5,) * 2, scenario="chaos")
    with pytest.raises(ValueError, match="max_decisions"):
        slicing.build_space(config(2, 3), max_decisions=10)


def test_learners_of_the_three_variants_cover_their_spaces():
    space = slicing.build_space(config(2, 4))
    sizes = space.sizes
    for variant in slicing.OLS_VARIANTS:
        learner, columns = slicing.exp3_learner(space, variant, 1_000, n_runs=3, seed=0)
        assert learner.n_arms == len(columns) == sizes[variant] and learner.n_runs == 3
        assert learner.eta == pytest.approx(float(optimal_eta(1_000, sizes[variant])))
        assert columns.min() >= 0 and columns.max() < sizes["OLS-SA"]  # every arm maps to a super action
    np.testing.assert_array_equal(slicing.arm_columns(space, "OLS"), space.super_of)
    np.testing.assert_array_equal(slicing.arm_columns(space, "OLS-RSA"), space.reduced)
    prior = slicing.sbs_prior(space, space.coordinates()[0], 2)
    learner, _ = slicing.exp3_learner(space, "OLS-SA", 1_000, n_runs=1, seed=0, prior=prior, eta=0.5)
    assert learner.eta == 0.5 and np.array_equal(learner.probabilities()[0], prior)
    with pytest.raises(ValueError, match="variant"):
        slicing.arm_columns(space, "OLS-XY")


def test_exp3_learner_is_deterministic_for_a_seed():
    space = slicing.build_space(config(2, 3))
    acc = (lambda e, d: 0.95 - 0.5 * np.exp(-(0.4 * e + 2 * d)), lambda e, d: 0.9 - 0.4 * np.exp(-(0.6 * e + d)))
    losses = slicing.SlicingLosses(space, acc, noise_sd=0.02)

    def regret(seed):
        learner, columns = slicing.exp3_learner(space, "OLS", 300, n_runs=2, seed=seed)
        return play(learner, losses, 300, seed=1, arm_columns=columns).regret

    np.testing.assert_array_equal(regret(4), regret(4))
    assert not np.array_equal(regret(4), regret(5))


def test_scales_fit_the_experiments():
    with pytest.raises(ValueError, match="smoke, laptop, paper"):
        slicing.SCALES["huge"]
    for name, cfg in slicing.SCALES.items():
        assert isinstance(cfg, slicing.SlicingScale), name
        # one training data set per service of the learning experiments (2 services)
        assert len(cfg.train_datasets) == len(cfg.train_pools) == len(cfg.train_tests) == 2, name
        assert max(cfg.train_fractions) == 1.0 and 0.0 in cfg.prior_offsets, name
        slicing.default_config(max(cfg.size_services), cfg.levels)  # a valid instance of problem P


def test_resumed_run_gives_the_tables_of_an_uninterrupted_one(tmp_path, results_dir, monkeypatch):
    from edgelearn.core.data import DataUnavailableError, load_dataset
    from edgelearn.core.store import DiskCache
    from edgelearn.slicing import experiments

    try:
        load_dataset("mnist", "test", download=False)
    except DataUnavailableError:
        pytest.skip("no local MNIST test set")
    assert list(slicing.SCALES) == ["smoke", "laptop", "paper", "deciding"]
    whole = experiments.run("smoke", 0, experiments.recorder("smoke", 0))
    kept = tmp_path / "checkpoints"
    experiments.run("smoke", 0, experiments.recorder("smoke", 0), checkpoints=kept)
    cfg, space = slicing.SCALES["smoke"], slicing.build_space(slicing.default_config(2, 3))
    training = DiskCache(kept, "edgelearn.slicing.experiments").path(["training_runs", dataclasses.asdict(cfg)])
    files = sorted(set(kept.glob("*.pkl")) - {training})  # the training runs are kept too, and reused
    assert training.is_file()
    assert len(files) == sum(experiments.n_parts(t, cfg, len(space.hyper)) for t in ("regret_curves", "priors"))
    for path in files[1::2]:  # a kill: about half of the units never finished
        path.unlink()
    calls = []
    real_unit = experiments.learning_unit
    monkeypatch.setattr(experiments, "learning_unit", lambda *task: calls.append(task) or real_unit(*task))
    resumed = experiments.run("smoke", 0, experiments.recorder("smoke", 0), checkpoints=kept, backend="serial")
    assert len(calls) == len(files[1::2])  # only the lost units ran again
    timing = ["train_seconds", "count_s", "build_s", "seconds_per_slot", "dense_seconds_per_slot"]
    for name, table in whole.items():
        drop = [c for c in table if c in timing or c.endswith("(s)")]
        pd.testing.assert_frame_equal(resumed[name].drop(columns=drop), table.drop(columns=drop))
    with pytest.raises(ValueError, match="no configuration"):
        experiments.learning_unit("priors", cfg, calls[0][2], 0.01, 0, len(files))
