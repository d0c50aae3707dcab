"""Check, before any notebook runs, that the data sets a build needs can be had.

``python -m edgelearn.core.datacheck mnist fashion-mnist`` looks for each data set where
:func:`edgelearn.core.data.load_dataset` looks (local folders first, then a torchvision download)
and exits with status 1 and one message naming what to install or set when one cannot be had, so
that ``make book`` stops at once instead of failing in its third notebook minutes later.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from edgelearn.core.data import NAMES, DataUnavailableError, load_dataset


def missing_datasets(names: Sequence[str], download: bool | None = None) -> dict[str, str]:
    """The data sets of ``names`` whose test split can be neither found nor downloaded, with the reason."""
    missing = {}
    for name in names:
        try:
            load_dataset(name, "test", download=False)
        except DataUnavailableError:
            try:
                load_dataset(name, "test", download=download)
            except DataUnavailableError as err:
                missing[name] = str(err)
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv)
    unknown = [n for n in names if n not in NAMES]
    if not names or unknown:
        print(
            f"usage: python -m edgelearn.core.datacheck NAME ... (NAME in {', '.join(NAMES)}); got {names}",
            file=sys.stderr,
        )
        return 2
    missing = missing_datasets(names)
    if not missing:
        print(f"data sets available: {', '.join(names)}")
        return 0
    print("The book needs data sets that are neither on this machine nor downloadable:\n", file=sys.stderr)
    for name, reason in missing.items():
        print(f"== {name}\n{reason}\n", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
