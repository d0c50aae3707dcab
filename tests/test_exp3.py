"""EXP3: distributions, the estimator, the bound, determinism, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from edgelearn import exp3
from edgelearn.exp3 import BernoulliLosses, TrapLosses, Ucb1, checkpoints, play


def dense_reference(prior: np.ndarray, eta: float, history: list[tuple[np.ndarray, np.ndarray, np.ndarray]]):
    """Textbook EXP3 in log space: p ∝ p0 exp(-eta L_hat), replaying (arms, losses, probs)."""
    n_runs = history[0][0].size if history else 1
    L = np.zeros((n_runs, prior.size))
    for arms, losses, probs in history:
        L[np.arange(n_runs), arms] += losses / probs
    with np.errstate(divide="ignore"):
        logits = np.log(prior) - eta * L
    return np.exp(logits - logsumexp(logits, axis=1, keepdims=True))


def test_probabilities_are_a_distribution_and_match_the_dense_formula():
    rng = np.random.default_rng(3)
    K, runs, eta = 13, 6, 0.2
    prior = rng.dirichlet(np.ones(K))
    learner = exp3.Exp3(K, eta, n_runs=runs, prior=prior, seed=1)
    history = []
    for _ in range(300):
        arms = learner.sample()
        probs = learner.probability(arms)
        losses = rng.random(runs)
        learner.update(arms, losses)
        history.append((arms, losses, probs))
        p = learner.probabilities()
        assert p.shape == (runs, K)
        assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(learner.probabilities(), dense_reference(prior, eta, history), rtol=1e-9, atol=1e-300)


def test_sampling_follows_the_distribution():
    K, runs = 6, 200_000
    prior = np.array([0.05, 0.3, 0.0, 0.15, 0.4, 0.1])
    learner = exp3.Exp3(K, 0.1, n_runs=runs, prior=prior, seed=7)
    counts = np.bincount(learner.sample(), minlength=K) / runs
    assert counts[2] == 0.0  # zero prior: never played
    np.testing.assert_allclose(counts, prior, atol=4 * np.sqrt(0.25 / runs))


def test_loss_estimator_is_unbiased_monte_carlo():
    K, runs = 5, 400_000
    prior = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    losses = np.array([0.9, 0.1, 0.6, 0.3, 1.0])
    learner = exp3.Exp3(K, 0.01, n_runs=runs, prior=prior, seed=11)
    arms = learner.sample()
    estimates = learner.update(arms, losses[arms])
    mean_estimate = np.bincount(arms, weights=estimates, minlength=K) / runs
    # std of one estimate is l * sqrt((1-p)/p); allow 5 standard errors
    tol = 5 * losses * np.sqrt((1 - prior) / prior) / np.sqrt(runs)
    assert np.all(np.abs(mean_estimate - losses) <= tol)


@pytest.mark.parametrize("sequence", ["stochastic", "adversarial"])
def test_measured_regret_stays_under_the_bound_on_a_fixed_seed(sequence):
    K, T, runs = 5, 4_000, 30
    losses = BernoulliLosses.with_gap(K, 0.1) if sequence == "stochastic" else TrapLosses(K)
    eta = float(exp3.optimal_eta(T, K))
    result = play(exp3.Exp3(K, eta, n_runs=runs, seed=0), losses, T, seed=1, n_checkpoints=40)
    bound = exp3.regret_bound(result.t, K, eta)
    assert np.all(result.regret.mean(axis=0) <= bound)
    assert result.regret[:, -1].mean() <= math.sqrt(2 * T * K * math.log(K))


def test_ucb1_has_linear_regret_on_its_trap():
    K, T = 4, 2_000
    result = play(Ucb1(K, n_runs=3), TrapLosses(K), T, seed=0, n_checkpoints=1)
    assert np.all(result.learner_loss[:, -1] == T)
    assert np.all(result.regret[:, -1] >= T * (1 - 1 / K))


def test_same_seed_same_result_and_other_seed_differs():
    def run(seed):
        return play(exp3.Exp3(8, 0.05, n_runs=4, seed=seed), BernoulliLosses.with_gap(8, 0.2), 500, seed=seed)

    a, b, c = run(5), run(5), run(6)
    np.testing.assert_array_equal(a.regret, b.regret)
    np.testing.assert_array_equal(a.learner_loss, b.learner_loss)
    assert not np.array_equal(a.learner_loss, c.learner_loss)


def test_play_matches_a_plain_loop():
    K, T = 3, 50
    losses = next(BernoulliLosses((0.2, 0.5, 0.7)).chunks(T, 2, seed=4))
    learner, twin = exp3.Exp3(K, 0.3, n_runs=2, seed=9), exp3.Exp3(K, 0.3, n_runs=2, seed=9)
    result = play(learner, BernoulliLosses((0.2, 0.5, 0.7)), T, seed=4, n_checkpoints=T)
    total = np.zeros(2)
    regrets = []
    for t in range(T):
        arms = twin.sample()
        loss = losses[np.arange(2), t, arms]
        twin.update(arms, loss)
        total += loss
        regrets.append(total - losses[:, : t + 1].sum(axis=1).min(axis=1))
    np.testing.assert_allclose(result.regret, np.array(regrets).T)
    assert list(result.t) == list(range(1, T + 1))


def test_weights_survive_extreme_learning_rates():
    learner = exp3.Exp3(4, 50.0, n_runs=3, seed=2)
    for _ in range(2_000):
        arms = learner.sample()
        learner.update(arms, np.ones(3))
    p = learner.probabilities()
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1.0)


def test_bound_and_optimal_eta_analytic_values():
    T, K = 10_000, 10
    eta = exp3.optimal_eta(T, K)
    assert eta == pytest.approx(math.sqrt(2 * math.log(K) / (T * K)))
    assert exp3.regret_bound(T, K, eta) == pytest.approx(math.sqrt(2 * T * K * math.log(K)))
    # SBS form: ln K' and support K'
    assert exp3.regret_bound(T, K, exp3.optimal_eta(T, K, 1 / 3, 3), 1 / 3, 3) == pytest.approx(
        math.sqrt(2 * T * 3 * math.log(3))
    )
    # the bound is minimised at eta*
    grid = np.geomspace(eta / 10, eta * 10, 201)
    assert np.argmin(exp3.regret_bound(T, K, grid)) == 100


def test_checkpoints():
    assert list(checkpoints(10, 1)) == [10]
    assert list(checkpoints(10, 5)) == [2, 4, 6, 8, 10]
    assert checkpoints(3, 100).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_arms": 0, "eta": 0.1}, "n_arms"),
        ({"n_arms": 3, "eta": 0.0}, "eta"),
        ({"n_arms": 3, "eta": -1.0}, "eta"),
        ({"n_arms": 3, "eta": float("nan")}, "eta"),
        ({"n_arms": 3, "eta": 0.1, "n_runs": 0}, "n_runs"),
        ({"n_arms": 3, "eta": 0.1, "prior": np.array([0.5, 0.5])}, "prior"),
        ({"n_arms": 3, "eta": 0.1, "prior": np.array([0.5, 0.6, -0.1])}, "prior"),
        ({"n_arms": 3, "eta": 0.1, "prior": np.array([0.2, 0.2, 0.2])}, "prior"),
        ({"n_arms": 3, "eta": 0.1, "seed": -1}, "non-negative"),
    ],
)
def test_bad_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        exp3.Exp3(**kwargs)


def test_bad_feedback_raises():
    learner = exp3.Exp3(3, 0.1, n_runs=2)
    with pytest.raises(ValueError, match="losses"):
        learner.update(np.array([0, 1]), np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="arms"):
        learner.update(np.array([0, 3]), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="shape"):
        learner.update(np.array([0]), np.array([0.5]))
    with pytest.raises(ValueError, match="prior_best"):
        exp3.optimal_eta(100, 3, prior_best=1.0)
    with pytest.raises(ValueError, match="means"):
        BernoulliLosses((0.5, 1.5))


def test_scales_are_a_mapping_that_names_the_valid_scales():
    assert list(exp3.SCALES) == ["smoke", "laptop", "paper", "deciding"]
    with pytest.raises(ValueError, match="smoke, laptop, paper"):
        exp3.SCALES["Laptop"]
    for name, cfg in exp3.SCALES.items():
        assert isinstance(cfg, exp3.Exp3Scale), name
        assert list(cfg.horizons) == sorted(set(cfg.horizons)), name
        assert max(cfg.prior_sizes) == cfg.prior_arms, name  # the sweep ends at the uniform prior
        assert 1.0 in cfg.eta_factors and 0 < cfg.gap <= 0.5, name
    sizes = [exp3.SCALES[name].horizon * exp3.SCALES[name].n_runs for name in ("smoke", "laptop", "paper")]
    assert sizes == sorted(sizes)  # each scale costs more than the one before
    deciding, laptop = exp3.SCALES["deciding"], exp3.SCALES["laptop"]  # larger than laptop in every sweep
    assert deciding.horizon > laptop.horizon and deciding.n_runs > laptop.n_runs
    assert max(deciding.horizons) > max(laptop.horizons) and deciding.eta_factors == laptop.eta_factors


def test_doubling_trick_restarts_in_epochs_of_doubling_length():
    learner = exp3.Exp3Doubling(4, n_runs=3, seed=0)
    starts = []
    for t in range(15):
        arms = learner.sample()
        if learner._left == 2**learner.epoch:  # a fresh epoch: its learner starts from the uniform prior
            starts.append(t)
            np.testing.assert_allclose(learner.probabilities(), 0.25)
            assert learner.learner.eta == pytest.approx(math.sqrt(2 * math.log(4) / (2**learner.epoch * 4)))
        learner.update(arms, np.ones(3))
    assert starts == [0, 1, 3, 7]
    result = play(exp3.Exp3Doubling(5, n_runs=20, seed=1), BernoulliLosses.with_gap(5, 0.1), 3_000, seed=2)
    bound = exp3.DOUBLING_FACTOR * np.sqrt(2 * result.t * 5 * np.log(5))
    assert np.all(result.regret.mean(axis=0) <= bound)


def test_resumed_run_gives_the_tables_of_an_uninterrupted_one(tmp_path, results_dir, monkeypatch):
    from edgelearn.exp3 import experiments

    whole = experiments.run("smoke", seed=3)
    tasks = experiments.units(experiments.SCALES["smoke"], 3)
    assert len(tasks) > len(experiments.TABLES)  # cut finer than one unit a table
    for name, table in experiments.MAKERS.items():  # the parts of a table, put together, are the table
        parts = [experiments.unit(*task) for task in tasks if task[0] == name]
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole[name])
        if name in experiments.PARTS:
            assert len(parts) == experiments.PARTS[name](experiments.SCALES["smoke"]) > 1, name
            with pytest.raises(ValueError, match="no configuration"):
                table(experiments.SCALES["smoke"], 3, len(parts))

    kept = tmp_path / "checkpoints"
    first = experiments.run("smoke", seed=3, checkpoints=kept, workers=1, backend="serial")
    files = sorted(kept.glob("*.pkl"))
    assert len(files) == len(tasks)
    for path in files[::2]:  # a kill: about half of the units never finished
        path.unlink()
    calls = []
    real_unit = experiments.unit
    monkeypatch.setattr(experiments, "unit", lambda *task: calls.append(task) or real_unit(*task))
    resumed = experiments.run("smoke", seed=3, recorder=experiments.recorder("smoke", 3), checkpoints=kept)
    assert len(calls) == len(files[::2])  # only the lost units ran again
    for name in experiments.TABLES:
        pd.testing.assert_frame_equal(first[name], whole[name])
        pd.testing.assert_frame_equal(resumed[name], whole[name])
    assert (results_dir / "exp3" / "smoke" / "regret_curves.csv").is_file()
