"""Where a computation runs: the ``device`` field of every training configuration.

A configuration names its device as a string, so that it can be hashed, saved and compared:
``"cpu"`` (the smoke and laptop scales: bit-identical results run to run), ``"cuda"`` or
``"cuda:<index>"``, or ``"auto"`` (a GPU when one is visible, else the CPU; the paper scales).
"""

from __future__ import annotations

import re

import torch

DEVICES: tuple[str, ...] = ("cpu", "cuda", "cuda:<index>", "auto")
_PATTERN = re.compile(r"cpu|auto|cuda(:\d+)?")


def check_device(device: str | torch.device) -> str:
    """``device`` as a string if it names one of :data:`DEVICES`, else ``ValueError`` naming 'device'."""
    name = str(device) if isinstance(device, torch.device) else device
    if not isinstance(name, str) or not _PATTERN.fullmatch(name):
        raise ValueError(f"'device' must be one of {', '.join(DEVICES)}; got {device!r}")
    return name


def resolve_device(device: str | torch.device) -> torch.device:
    """The torch device of a configuration's ``device``.

    ``"cpu"`` touches no CUDA API; ``"auto"`` is ``cuda`` when ``torch.cuda.is_available()``, else
    ``cpu``; ``"cuda"`` / ``"cuda:<i>"`` without a visible GPU raise ``ValueError``. Resolving
    creates no CUDA context (``torch.cuda.is_available`` only counts devices), so the parent of a
    spawned pool may call it; the tensors go to the GPU inside the workers.
    """
    name = check_device(device)
    if name == "cpu":
        return torch.device("cpu")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"'device' is {name!r} but torch.cuda.is_available() is False; use 'cpu' or 'auto'")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued kernels (CUDA runs asynchronously), so that a timer stops at the end."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
