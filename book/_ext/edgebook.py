"""Local Sphinx extension of the book.

Serves MathJax from the book itself when ``make setup`` could install it (npm package
``mathjax``, unpacked under ``book/_mathjax/mathjax``), so readers' maths renders offline;
otherwise Sphinx's default (MathJax from its CDN) stays in place.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

LOCAL = Path("_mathjax") / "mathjax" / "es5" / "tex-chtml.js"


def _use_local_mathjax(app: Sphinx, config: Config) -> None:
    if (Path(app.confdir) / LOCAL).is_file():
        # html_extra_path copies _mathjax/ to the site root; mathjax_path is relative to _static.
        config.html_extra_path = [*config.html_extra_path, "_mathjax"]
        config.mathjax_path = "../mathjax/es5/tex-chtml.js"


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _use_local_mathjax, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
