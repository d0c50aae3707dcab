"""Run scales shared by every experiment in the book.

Each notebook takes a ``scale`` parameter (papermill ``-p scale ...``):

``smoke``
    seconds; used by the tests to execute every notebook end to end.
``laptop``
    minutes on 2 CPU cores; the default of ``make book``.
``paper``
    the paper's own settings, meant for a GPU machine or a cluster.

Every experiment defines one frozen dataclass with a field per knob and one instance
per scale (for example :data:`edgelearn.exp3.SCALES`); :func:`get_scale` looks one up
and fails with the valid names when the scale is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

SCALE_NAMES: tuple[str, ...] = ("smoke", "laptop", "paper")
"""The scales every experiment provides, cheapest first."""

T = TypeVar("T")


def check_scale(scale: str) -> str:
    """Return ``scale`` if it is one of :data:`SCALE_NAMES`, else raise ``ValueError``."""
    if scale not in SCALE_NAMES:
        raise ValueError(
            f"unknown scale {scale!r}: the parameter 'scale' must be one of {', '.join(SCALE_NAMES)}"
        )
    return scale


def get_scale(scales: Mapping[str, T], scale: str) -> T:
    """Return the configuration for ``scale`` from an experiment's ``SCALES`` mapping.

    Raises ``ValueError`` naming the valid scales when ``scale`` is unknown, and
    ``KeyError`` when an experiment forgot to define one of :data:`SCALE_NAMES`.
    """
    check_scale(scale)
    missing = [name for name in SCALE_NAMES if name not in scales]
    if missing:
        raise KeyError(f"this experiment defines no configuration for scale(s) {missing}")
    return scales[scale]
