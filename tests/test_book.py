"""The product end to end: every notebook executed by papermill at smoke scale, then the book
built with warnings as errors, in a temporary copy of the book tree."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter

import nbformat
import pandas as pd
import pytest

from conftest import REPO
from edgelearn.core import scorecard


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_every_notebook_executed_at_smoke_scale_without_errors(built_book):
    sources = sorted(p.stem for p in (REPO / "notebooks").glob("*.md"))
    for name in sources:
        nb = nbformat.read(built_book / "book" / "notebooks" / f"{name}.ipynb", as_version=4)
        assert nb.metadata["papermill"]["parameters"]["scale"] == "smoke"
        errors = [
            o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
        ]
        assert not errors, f"{name}: {errors[:1]}"


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_book_pages_exist_and_show_numbers_from_this_run(built_book):
    html = built_book / "book" / "_build" / "html"
    import yaml

    toc = yaml.safe_load((REPO / "book" / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            pages.append(chapter["file"])
            pages.extend(section["file"] for section in chapter.get("sections", []))
    for page in pages:
        assert (html / f"{page}.html").is_file(), page
    theory = (html / "exp3" / "theory.html").read_text()
    assert 'id="thm-exp3-regret"' in theory and "Proof" in theory
    claims = pd.read_csv(built_book / "results" / "exp3" / "smoke" / "claims.csv").set_index("id")
    worst = re.search(r"= ([0-9.]+)$", claims.loc["regret_bound", "ours"]).group(1)
    assert f">{worst}<" in theory or f" {worst}" in theory, "the glued ratio of this run is not on the page"
    card = (html / "notebooks" / "scorecard.html").read_text()
    assert "Bubeck" in card
    # the page shows exactly the verdicts of the claims tables of this run, one cell per claim
    os.environ["EDGELEARN_RESULTS_DIR"], previous = str(built_book / "results"), os.environ.get("EDGELEARN_RESULTS_DIR")
    try:
        expected = scorecard.scorecard("smoke")
    finally:
        os.environ.pop("EDGELEARN_RESULTS_DIR")
        if previous is not None:
            os.environ["EDGELEARN_RESULTS_DIR"] = previous
    shown = re.findall(r"<td style='background-color:[^']*'>([^<]+)<br>", card)
    assert Counter(shown) == Counter(expected["verdict"]) and len(shown) == len(expected)
    assert scorecard.NOT_RUN not in shown  # every chapter ran


@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_maths_is_served_locally_when_mathjax_is_installed(built_book):
    if not (REPO / "book" / "_mathjax" / "mathjax" / "es5" / "tex-chtml.js").is_file():
        pytest.skip("MathJax not installed (no npm): the book uses its CDN")
    html = built_book / "book" / "_build" / "html"
    assert (html / "mathjax" / "es5" / "tex-chtml.js").is_file()
    assert "mathjax/es5/tex-chtml.js" in (html / "exp3" / "theory.html").read_text()


def test_make_rejects_an_unknown_scale():
    proc = subprocess.run(["make", "-n", "book", "SCALE=huge"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "smoke, laptop, paper" in proc.stderr
