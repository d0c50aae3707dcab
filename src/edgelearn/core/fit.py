r"""One supervised training loop on tensors, shared by every chapter that trains a classifier.

*Slicing for AI* fits its accuracy model to real training runs, TRL-HPO trains each candidate
CNN, and MA2ML trains every pipeline of its joint table: all three do minibatch SGD on
preloaded tensors (no ``DataLoader``: the data sets are small and indexing a tensor is many
times faster than collating samples). :func:`fit` is that loop,

.. math:: \theta \leftarrow \theta - \text{step}\big(\nabla_\theta \tfrac1{|B|}\textstyle\sum_{i\in B}
          \ell(f_\theta(T(x_i)), y_i)\big),

over ``epochs`` passes in a ``torch.randperm`` order drawn from a seeded CPU generator (the same
order on every device), with an optional batch transform :math:`T` (data augmentation) and a
callback after every epoch (e.g. to record test accuracy, excluded from the training time).
:func:`predict` and :func:`accuracy` evaluate in large batches without gradients.

Thread counts: :func:`torch_threads` sets torch's intra-op threads for a block; a pool's workers
use one each (:mod:`edgelearn.core.pool`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from edgelearn.core.devices import synchronize

EVAL_BATCH = 1024


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous number."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"'n' (torch threads) must be an integer >= 1; got {n!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` measured: training wall time (evaluation in callbacks excluded) and the
    accuracy on the (transformed) minibatches of the last epoch, each scored before its step."""

    train_seconds: float
    train_accuracy: float


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
) -> FitResult:
    """Train ``model`` on ``(x, y)`` in place; ``x`` and ``y`` live on the model's device.

    Each epoch draws ``torch.randperm(len(y), generator=generator)`` (on the CPU, then moved), and
    steps once per minibatch of ``batch_size`` (the last one may be smaller). ``transform`` maps a
    minibatch of inputs to the inputs actually seen (an augmentation with its own generator).
    ``on_epoch(epoch, train_seconds_so_far)`` runs after every epoch (epochs count from 1) in
    evaluation-free time: its own duration is not counted. Leaves the model in training mode.
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"'{name}' must be an integer >= 1; got {value!r}")
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(f"'x' and 'y' must hold the same positive number of samples; got {len(x)} and {len(y)}")
    device, n = x.device, len(y)
    model.train()
    elapsed, correct = 0.0, 0
    for epoch in range(1, epochs + 1):
        synchronize(device)
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator).to(device)
        correct = 0
        for first in range(0, n, batch_size):
            idx = order[first : first + batch_size]
            inputs = x[idx] if transform is None else transform(x[idx])
            logits = model(inputs)
            loss = loss_fn(logits, y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            correct += int((logits.detach().argmax(1) == y[idx]).sum())
        synchronize(device)
        elapsed += time.perf_counter() - start
        if on_epoch is not None:
            on_epoch(epoch, elapsed)
            model.train()
    return FitResult(train_seconds=elapsed, train_accuracy=correct / n)


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, batch: int = EVAL_BATCH) -> torch.Tensor:
    """Predicted classes (argmax of the logits) of ``x``, in evaluation mode, ``batch`` inputs at a time.
    The model is left in evaluation mode."""
    model.eval()
    return torch.cat([model(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = EVAL_BATCH) -> float:
    """Fraction of ``x`` that ``model`` classifies as ``y``."""
    return float((predict(model, x, batch) == y).float().mean())
