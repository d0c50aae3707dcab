"""Hide papermill's injected parameter cell in an executed notebook, in place.

    python tools/hide_injected.py book/notebooks/exp3.ipynb

papermill adds a cell tagged ``injected-parameters`` after the notebook's own ``parameters`` cell;
both are bookkeeping, and the book shows neither (the page says its scale in its own words). The
cell stays in the notebook for anyone who opens it, tagged ``remove-cell`` for the book.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def hide_injected(path: Path) -> int:
    """Tag every injected-parameters cell of ``path`` ``remove-cell``; return how many."""
    nb = nbformat.read(path, as_version=4)
    hidden = 0
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
            hidden += 1
    nbformat.write(nb, path)
    return hidden


if __name__ == "__main__":
    for name in sys.argv[1:]:
        hide_injected(Path(name))
