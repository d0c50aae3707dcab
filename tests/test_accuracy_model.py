"""Tests for edgelearn.slicing.accuracy_model: the exponential accuracy regression of Slicing for AI, eq. 19.

Synthetic data check the fit; a tiny real training grid on the offline MNIST test set checks
run_grid (skipped where no MNIST is on disk).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from edgelearn.core.data import DataUnavailableError, load_dataset
from edgelearn.slicing.accuracy_model import (
    RUN_COLUMNS,
    AccuracyModel,
    TrainingGrid,
    build_classifier,
    fit_accuracy_model,
    is_monotone,
    residuals,
    run_grid,
    subset_indices,
)

TRUE = AccuracyModel(a=0.9, b=0.6, alpha=0.5, beta=2.0)
EPOCHS = np.arange(1, 7)  # 6 epochs
FRACTIONS = np.array([0.2, 0.4, 0.6, 0.8, 1.0])  # x 5 fractions


pytestmark = pytest.mark.usefixtures("isolated_data_env")


def _available(split: str) -> bool:
    try:
        load_dataset("mnist", split, download=False)
        return True
    except DataUnavailableError:
        return False


needs_mnist = pytest.mark.skipif(not _available("test"), reason="no local MNIST test set")


def synthetic(model: AccuracyModel = TRUE, seeds: int = 3, noise: float = 0.004, rng_seed: int = 0) -> pd.DataFrame:
    """A tidy table like run_grid's: the model on the 6x5 grid plus Gaussian noise, per seed."""
    rng = np.random.default_rng(rng_seed)
    e, d = np.meshgrid(EPOCHS, FRACTIONS, indexing="ij")
    frames = [
        pd.DataFrame(
            {
                "seed": s,
                "epoch": e.ravel(),
                "fraction": d.ravel(),
                "accuracy": model(e, d).ravel() + rng.normal(0, noise, e.size),
            }
        )
        for s in range(seeds)
    ]
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------- the model


def test_model_broadcasts_and_exposes_params():
    out = TRUE(EPOCHS[:, None], FRACTIONS[None, :])
    assert isinstance(out, np.ndarray) and out.shape == (6, 5)
    assert TRUE(2, 0.5) == pytest.approx(0.9 - 0.6 * np.exp(-(0.5 * 2 + 2.0 * 0.5)))
    assert TRUE.params == {"a": 0.9, "b": 0.6, "alpha": 0.5, "beta": 2.0}
    assert np.all(np.diff(out, axis=0) > 0) and np.all(np.diff(out, axis=1) > 0) and np.all(out < 0.9)


def test_model_rejects_non_finite_parameters():
    with pytest.raises(ValueError, match="'alpha'"):
        AccuracyModel(0.9, 0.6, float("nan"), 2.0)


# ---------------------------------------------------------------------------- the fit


def test_fit_recovers_known_parameters():
    model, diag = fit_accuracy_model(synthetic())
    assert diag["n_points"] == 30 and diag["n_seeds"] == 3 and diag["weighted"]
    for name, true in TRUE.params.items():
        est, se = model.params[name], diag["param_se"][name]
        assert 0 < se < np.inf
        assert abs(est - true) <= max(4 * se, 0.05 * true), (name, est, se)  # a few SE or 5 %


def test_fit_quality_and_residuals_frame():
    df = synthetic()
    model, diag = fit_accuracy_model(df)
    assert diag["r2"] > 0.99
    assert diag["rmse"] < 0.004 and diag["max_abs_residual"] < 0.01
    res = residuals(model, df)
    assert list(res.columns) == ["epoch", "fraction", "mean_accuracy", "predicted", "residual"]
    assert res.shape == (30, 5)
    assert np.allclose(res["residual"], res["mean_accuracy"] - res["predicted"])
    assert np.sqrt(np.mean(res["residual"] ** 2)) == pytest.approx(diag["rmse"])


def test_fit_is_exact_on_noise_free_data_and_unweighted_without_spread():
    # identical seeds: every standard error is 0, so the fit falls back to unweighted
    model, diag = fit_accuracy_model(synthetic(noise=0.0))
    assert not diag["weighted"]
    assert diag["r2"] == pytest.approx(1.0, abs=1e-9) and diag["rmse"] < 1e-6
    for name, true in TRUE.params.items():
        assert model.params[name] == pytest.approx(true, rel=1e-4)


def test_fit_respects_the_sign_bounds():
    # accuracy that falls with the data fraction: the best bounded fit keeps beta >= 0
    df = synthetic(AccuracyModel(0.8, 0.4, 0.4, -1.0), seeds=2)
    model, _ = fit_accuracy_model(df)
    assert 0 < model.a <= 1 and model.b > 0 and model.alpha > 0 and model.beta >= 0
    assert is_monotone(model, EPOCHS, FRACTIONS)


def test_fit_rejects_bad_tables():
    with pytest.raises(ValueError, match="accuracy"):
        fit_accuracy_model(pd.DataFrame({"epoch": [1], "fraction": [0.5]}))
    with pytest.raises(ValueError, match="at least 5"):
        fit_accuracy_model(pd.DataFrame({"epoch": [1, 2, 3, 4], "fraction": 1.0, "accuracy": 0.5}))


# ---------------------------------------------------------------------------- monotonicity


def test_is_monotone():
    fitted, _ = fit_accuracy_model(synthetic())
    assert is_monotone(fitted, EPOCHS, FRACTIONS)
    assert is_monotone(fitted, EPOCHS[::-1], FRACTIONS[::-1])  # the axes are sorted first
    assert not is_monotone(dataclasses.replace(TRUE, alpha=-0.5), EPOCHS, FRACTIONS)
    assert not is_monotone(dataclasses.replace(TRUE, beta=-2.0), EPOCHS, FRACTIONS)
    assert not is_monotone(dataclasses.replace(TRUE, b=-0.6), EPOCHS, FRACTIONS)
    assert not is_monotone(lambda e, d: np.sin(e) + d, EPOCHS, FRACTIONS)  # up and down in e
    assert is_monotone(lambda e, d: np.full(np.shape(e), 0.5), EPOCHS, FRACTIONS)  # flat is fine


# ---------------------------------------------------------------------------- classifiers


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_build_classifier_is_seeded_and_outputs_ten_logits(arch):
    first, again, other = build_classifier(arch, 0), build_classifier(arch, 0), build_classifier(arch, 1)
    pairs = list(zip(first.state_dict().values(), again.state_dict().values(), other.state_dict().values()))
    assert all(torch.equal(a, b) for a, b, _ in pairs)
    assert not all(torch.equal(a, c) for a, _, c in pairs)
    assert first(torch.zeros(7, 1, 28, 28)).shape == (7, 10)


def test_build_classifier_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_classifier("cnn", 5)
    assert torch.equal(torch.rand(3), expected)
    with pytest.raises(ValueError, match="'arch'"):
        build_classifier("resnet", 0)
    with pytest.raises(ValueError, match="'seed'"):
        build_classifier("mlp", -1)


def test_run_grid_rejects_an_unknown_device_before_loading_data():
    with pytest.raises(ValueError, match="'device'"):
        run_grid(_grid(), progress=False, device="tpu")
    with pytest.raises(TypeError, match="TrainingGrid"):
        run_grid({"dataset": "mnist"}, progress=False)


def test_subsets_are_nested_and_seeded():
    small, large = subset_indices(600, 0.5, 0), subset_indices(600, 1.0, 0)
    assert len(small) == 300 and len(large) == 600 and torch.equal(large[:300], small)
    assert sorted(large.tolist()) == list(range(600))
    assert not torch.equal(subset_indices(600, 0.5, 1), small)


# ---------------------------------------------------------------------------- the training grid


def _grid(**change) -> TrainingGrid:
    fields = dict(dataset="mnist", arch="mlp", pool=600, n_test=300, fractions=(0.5, 1.0), max_epochs=2, seeds=(0,))
    return TrainingGrid(**{**fields, **change})


@pytest.mark.parametrize(
    "change, field",
    [
        ({"fractions": (0.0, 1.0)}, "fractions"),
        ({"fractions": (0.5, 1.5)}, "fractions"),
        ({"fractions": ()}, "fractions"),
        ({"fractions": (0.5, 0.5)}, "fractions"),
        ({"fractions": (0.0001,)}, "fractions"),  # rounds to 0 images of 600
        ({"max_epochs": 0}, "max_epochs"),
        ({"arch": "resnet"}, "arch"),
        ({"dataset": "cifar10"}, "dataset"),
        ({"seeds": ()}, "seeds"),
        ({"seeds": (-1,)}, "seeds"),
        ({"seeds": (0, 0)}, "seeds"),
        ({"pool": 0}, "pool"),
        ({"n_test": 2.5}, "n_test"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0.0}, "lr"),
    ],
)
def test_bad_grid_raises_naming_the_field(change, field):
    with pytest.raises(ValueError, match=f"'{field}'"):
        _grid(**change)


def test_grid_stores_sequences_as_tuples():
    grid = _grid(fractions=[0.5, 1], seeds=[2, 3])
    assert grid.fractions == (0.5, 1.0) and grid.seeds == (2, 3) and grid.n_runs == 4
    hash(grid)


@needs_mnist
def test_run_grid_tiny_real_mnist():
    grid = _grid()
    df, source = run_grid(grid, progress=False)
    assert list(df.columns) == list(RUN_COLUMNS) and len(df) == 4
    assert df["accuracy"].between(0, 1).all()
    assert sorted(zip(df["fraction"], df["samples"], df["epoch"])) == [
        (0.5, 300, 1),
        (0.5, 300, 2),
        (1.0, 600, 1),
        (1.0, 600, 2),
    ]
    final = df.query("fraction == 1.0 and epoch == 2")["accuracy"].item()
    assert final > 0.3  # chance is 0.1
    for _, run in df.groupby(["seed", "fraction"]):
        seconds = run.sort_values("epoch")["train_seconds"].to_numpy()
        assert seconds[0] > 0 and np.all(np.diff(seconds) >= 0)
    if not _available("train"):
        assert "test set" in source  # offline MNIST: both parts drawn from the 10k test images
    again, _ = run_grid(grid, progress=False)
    assert np.array_equal(df["accuracy"].to_numpy(), again["accuracy"].to_numpy())


@needs_mnist
def test_run_grid_cnn_smoke():
    df, _ = run_grid(_grid(arch="cnn", fractions=(1.0,), max_epochs=1, seeds=(0, 1)), progress=False)
    assert len(df) == 2 and df["accuracy"].between(0, 1).all() and set(df["arch"]) == {"cnn"}
