"""The book as a reader sees it: every page of the smoke-scale book opened in headless Chromium
(tools/pagecheck.py), and the checks themselves shown to catch each defect on small pages."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import pagecheck  # noqa: E402

CHROMIUM = pagecheck.chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="no Chromium on this machine: apt-get install chromium (CI installs it and runs these tests)",
)
SCREENSHOTS = REPO / "build" / "screenshots"


@needs_chromium
@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_every_page_of_the_book_reads_without_defects(built_book):
    """Maths typeset, nothing over a theorem, nothing wider than its column, each figure once,
    images and internal links that resolve, no glue placeholder, no warning or local path in an
    output. Full-page screenshots of every page are left in build/screenshots for a reviewer."""
    html = built_book / "book" / "_build" / "html"
    defects = pagecheck.check(html, SCREENSHOTS)
    assert not defects, "\n".join(map(str, defects))
    shots = sorted(SCREENSHOTS.glob("*.png"))
    assert len(shots) == len(pagecheck.pages(html)) and all(s.stat().st_size > 10_000 for s in shots)


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
main {{ width: 600px; }} article {{ width: 600px; }} .theorem {{ border: 1px solid; height: 80px; }}
</style></head><body><main><article>{body}</article></main></body></html>"""
PIXEL = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00"
    b"\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _site(tmp_path: Path, **pages: str) -> Path:
    html = tmp_path / "html"
    html.mkdir()
    (html / "intro.html").write_text(PAGE.format(body="<p>home</p>"))
    (html / "fig.png").write_bytes(PIXEL)
    for name, body in pages.items():
        (html / f"{name}.html").write_text(PAGE.format(body=body))
    return html


DEFECTIVE = {
    "twice": ('<img src="fig.png" alt="a dot"><img src="fig.png" alt="a dot">', "figure shown 2 times"),
    "missing": ('<img src="nope.png" alt="a dot">', "image does not load"),
    "link": ('<a href="nowhere.html">x</a>', "broken link"),
    "anchor": ('<a href="intro.html#no-such-id">x</a>', "broken anchor"),
    "glue": ("<p>we measured {glue:text}`exp3__ratio`</p>", "glue placeholder"),
    "warn": ('<div class="cell_output"><pre>UserWarning: careful</pre></div>', "warning in an output"),
    "path": ('<div class="cell_output"><pre>read from /home/me/data</pre></div>', "local path in an output"),
    "wide": ('<table style="width:900px"><tr><td>x</td></tr></table>', "wider than its column"),
    "longline": (
        '<div class="cell_output"><pre>' + "Config(" + "x=1, " * 300 + ")</pre></div>",
        "output line far wider than its column",
    ),
    "params": ('<div class="cell tag_injected-parameters"><pre>scale = "smoke"</pre></div>', "parameter cell shown"),
    "maths": (r"<p>the bound $$\frac{a}{b}$$ stays raw</p>", "maths not typeset"),
    "over": (
        '<div class="theorem">Theorem</div>'
        '<img src="fig.png" alt="a dot" style="position:relative;top:-60px;width:100px">',
        "overlaps a theorem or proof",
    ),
    "noalt": ('<img src="fig.png">', "figure without alt text"),
    "pathalt": ('<img src="fig.png" alt="../_images/3f9c2e.png">', "figure without alt text"),
    "scale": (
        '<figure><img src="fig.png" alt="A line chart of regret against the round">'
        "<figcaption>Regret against the round, as in the paper.</figcaption></figure>",
        "caption does not name its scale",
    ),
}


@needs_chromium
def test_each_check_catches_its_defect_and_passes_a_clean_page(tmp_path):
    html = _site(
        tmp_path,
        clean='<p>fine</p><figure><img src="fig.png" alt="A line chart of regret against the round" style="width:50px">'
        "<figcaption>Regret against the round (smoke scale).</figcaption></figure>"
        '<a href="intro.html">home</a>',
        **{name: body for name, (body, _) in DEFECTIVE.items()},
    )
    found = pagecheck.check(html, tmp_path / "shots")
    kinds = {(d.page.removesuffix(".html"), d.kind) for d in found}
    for name, (_, kind) in DEFECTIVE.items():
        assert (name, kind) in kinds, f"{kind} not caught on page {name!r}: {found}"
    assert not [d for d in found if d.page in ("clean.html", "intro.html")], found
    assert len(list((tmp_path / "shots").glob("*.png"))) == len(DEFECTIVE) + 2


def test_a_missing_build_or_browser_is_named(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="make book"):
        pagecheck.check(tmp_path, executable="/usr/bin/true")
    monkeypatch.setattr(pagecheck, "chromium", lambda: None)
    with pytest.raises(FileNotFoundError, match="apt-get install chromium"):
        pagecheck.check(tmp_path)
