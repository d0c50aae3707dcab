"""The shared training loop, devices and seeding."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from edgelearn.core import devices, fit, seeding


def problem(n: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    gen = seeding.torch_generator(0)
    x = torch.randn(n, 2, generator=gen)
    return x, (x[:, 0] + x[:, 1] > 0).long()  # linearly separable


def model(seed: int = 0) -> nn.Module:
    with seeding.seeded(seed):
        return nn.Linear(2, 2)


def train(seed: int = 0, **kwargs) -> tuple[nn.Module, fit.FitResult]:
    x, y = problem()
    net = model(seed)
    result = fit.fit(
        net,
        x,
        y,
        torch.optim.SGD(net.parameters(), lr=0.5),
        epochs=kwargs.pop("epochs", 5),
        batch_size=32,
        generator=seeding.torch_generator(seed),
        **kwargs,
    )
    return net, result


def test_fit_learns_a_separable_problem_and_reports_its_time():
    x, y = problem()
    before = fit.accuracy(model(), x, y)
    net, result = train()
    assert fit.accuracy(net, x, y) >= 0.95 > before
    assert 0.8 <= result.train_accuracy <= 1 and result.train_seconds > 0


def test_fit_is_deterministic_per_seed_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a, _ = train(seed=1)
    b, _ = train(seed=1)
    c, _ = train(seed=2)
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)
    assert torch.equal(torch.rand(1), expected)  # library code drew nothing from the global generator


def test_on_epoch_sees_every_epoch_and_transform_sees_every_batch():
    epochs, batches = [], []

    def transform(inputs: torch.Tensor) -> torch.Tensor:
        batches.append(len(inputs))
        return inputs

    train(epochs=3, on_epoch=lambda e, s: epochs.append((e, s)), transform=transform)
    assert [e for e, _ in epochs] == [1, 2, 3]
    assert all(s2 >= s1 for (_, s1), (_, s2) in zip(epochs, epochs[1:]))
    assert batches == ([32] * 6 + [8]) * 3  # 200 samples in minibatches of 32, three epochs


def test_fit_rejects_bad_input():
    x, y = problem()
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="'epochs'"):
        fit.fit(net, x, y, opt, epochs=0, batch_size=8, generator=seeding.torch_generator(0))
    with pytest.raises(ValueError, match="'batch_size'"):
        fit.fit(net, x, y, opt, epochs=1, batch_size=1.5, generator=seeding.torch_generator(0))
    with pytest.raises(ValueError, match="same positive number"):
        fit.fit(net, x, y[:-1], opt, epochs=1, batch_size=8, generator=seeding.torch_generator(0))


def test_torch_threads_restores_the_setting():
    before = torch.get_num_threads()
    with fit.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="torch threads"):
        with fit.torch_threads(0):
            pass


def test_devices_and_seeds_are_checked():
    assert devices.resolve_device("cpu") == torch.device("cpu")
    assert devices.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("gpu", "cuda:x", "", 3):
        with pytest.raises(ValueError, match="'device'"):
            devices.check_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda.is_available"):
            devices.resolve_device("cuda:0")
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="'seed'"):
            seeding.torch_generator(bad)
    assert seeding.derive_seed("a", 1) == seeding.derive_seed("a", 1) != seeding.derive_seed("a", 2)
    assert 0 <= seeding.derive_seed("x") < 2**63
