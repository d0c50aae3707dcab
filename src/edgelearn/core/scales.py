"""Run scales shared by every experiment in the book.

Each notebook takes a ``scale`` parameter (papermill ``-p scale ...``):

``smoke``
    seconds; used by the tests to execute every notebook end to end.
``laptop``
    minutes on 2 CPU cores; the default of ``make book``.
``paper``
    the paper's own settings, meant for a GPU machine or a cluster.

Every experiment defines one frozen dataclass with a field per knob and one instance per scale,
gathered in a :class:`Scales` mapping (for example :data:`edgelearn.exp3.SCALES`):
``SCALES["laptop"]`` is the laptop configuration, and an unknown name raises ``ValueError``
naming the valid ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

SCALE_NAMES: tuple[str, ...] = ("smoke", "laptop", "paper")
"""The scales every experiment provides, cheapest first."""

T = TypeVar("T")


def check_scale(scale: str, valid: tuple[str, ...] = SCALE_NAMES) -> str:
    """Return ``scale`` if it is one of ``valid``, else raise ``ValueError`` naming them."""
    if not isinstance(scale, str) or scale not in valid:
        raise ValueError(f"unknown scale {scale!r}: the parameter 'scale' must be one of {', '.join(valid)}")
    return scale


class Scales(Mapping[str, T], Generic[T]):
    """An experiment's configuration per scale: ``Scales(smoke=..., laptop=..., paper=...)``.

    All of :data:`SCALE_NAMES` are required; further named scales may follow them. Looking up an
    unknown scale raises ``ValueError`` (not ``KeyError``) with the valid names, the message a
    reader who mistyped a notebook parameter needs.
    """

    def __init__(self, **configs: T) -> None:
        missing = [name for name in SCALE_NAMES if name not in configs]
        if missing:
            raise ValueError(f"Scales needs a configuration for every scale of {SCALE_NAMES}; missing {missing}")
        self._configs = dict(configs)

    def __getitem__(self, scale: str) -> T:
        return self._configs[check_scale(scale, tuple(self._configs))]

    def __iter__(self) -> Iterator[str]:
        return iter(self._configs)

    def __len__(self) -> int:
        return len(self._configs)

    def __repr__(self) -> str:
        return f"Scales({', '.join(self._configs)})"
