"""Seeding without global state.

Library code never calls ``torch.manual_seed`` or ``np.random.seed`` on the global generators:
a caller's random state is left as it was. Randomness comes from

* explicit generators (:func:`torch_generator`, :func:`numpy_generator`) passed to
  ``torch.randperm``, ``torch.rand``, a replay memory's sampler, ...;
* :func:`seeded`, for what can only draw from torch's global generator (``nn.Module``
  initialisation, dropout): the global state is forked, seeded, and restored on exit;
* :func:`derive_seed`, which turns a run's seed and the name of a random stream ("shuffle",
  "augment", an architecture...) into an independent 63-bit seed, so that adding a stream
  changes no other.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

import numpy as np
import torch


def check_seed(seed: int, name: str = "seed") -> int:
    """``seed`` as an ``int`` if it is an integer >= 0, else ``ValueError`` naming ``name``."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"'{name}' must be an integer >= 0; got {seed!r}")
    return int(seed)


def derive_seed(*parts: object) -> int:
    """A 63-bit seed determined by ``parts`` (e.g. ``derive_seed("ma2ml", "shuffle", 3)``): stable
    across runs, machines and Python versions (SHA-256 of their string forms)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def torch_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (CPU draws give the same numbers on every device)."""
    return torch.Generator().manual_seed(check_seed(seed))


def numpy_generator(seed: int) -> np.random.Generator:
    """A numpy ``Generator`` seeded with ``seed``."""
    return np.random.default_rng(check_seed(seed))


@contextlib.contextmanager
def seeded(seed: int, cuda: bool = False) -> Iterator[None]:
    """Run the block with torch's global generator seeded by ``seed``, then restore it.

    For what draws from the global generator (weight initialisation of ``nn`` modules,
    dropout): ``with seeded(s): net = build()`` gives the same weights for the same ``s`` and
    leaves the caller's random state untouched. ``cuda``: fork the CUDA generators too.
    """
    devices = list(range(torch.cuda.device_count())) if cuda and torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(check_seed(seed))
        yield
