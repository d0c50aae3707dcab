"""Open every page of a built book in headless Chromium, as a reader would, and list its defects.

    python tools/pagecheck.py book/_build/html [--screenshots DIR]

Each page is opened at 1400 px (and its screenshot saved, full page, for a reviewer) after
MathJax has typeset it. A page fails on: maths left untypeset or a MathJax error; an element
overlapping a theorem or proof box; content wider than its column (a displayed equation included);
the same figure shown twice; a papermill parameter cell shown; an image that does not load; a
link to a page or anchor of the book that does not exist; a glue placeholder; a cell output that
shows a warning, a local path or a line far wider than its column; a figure without alt text (none,
or a file name for one); a figure caption that does not say at which scale (smoke, laptop, paper,
deciding) the figure was made. Each page is opened again as a phone shows it (390 px; screenshot
under ``phone/``): there it fails when the page scrolls sideways (wide equations and tables may
scroll in their own boxes) or something covers a theorem or proof. Chromium comes
from the system (Debian: ``apt-get install chromium``), driven by Playwright.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

WIDTH = 1400
# Console messages that are not the book's: the browser's own favicon request (the status of a
# failed resource is reported with its URL instead), and the theme's note on a first visit.
NOISE = ("favicon.ico", "Failed to load resource", "invalid theme mode")
SKIP_PAGES = {"genindex.html", "search.html", "prf-prf.html"}
LOCAL_PATH = re.compile(r"(/work/|/tmp/|/home/|/root/|/Users/|[A-Z]:\\\\)")
WARNING = re.compile(r"\b\w*Warning\b|\bwarnings\.warn\b")
# Alt text that names a file instead of describing the figure (Sphinx's default is the image's path).
FILE_ALT = re.compile(r"\.(png|svg|jpe?g|gif)\s*$|_images/", re.IGNORECASE)
SCALE = re.compile(r"\b(smoke|laptop|paper|deciding) scale\b")


@dataclass(frozen=True)
class Defect:
    page: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: {self.detail}"


def chromium() -> str | None:
    """The system's Chromium, or ``None``; ``$CHROMIUM`` overrides."""
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (path := shutil.which(name)):
            return path
    return None


def pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html") if p.name not in SKIP_PAGES and "_static" not in p.parts)


# --------------------------------------------------------------------------------------------
# Static checks (parsed HTML): links, glue placeholders, outputs, alt texts and captions
# --------------------------------------------------------------------------------------------


def _ids(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    if path not in cache:
        soup = BeautifulSoup(path.read_text(encoding="utf8"), "html.parser")
        cache[path] = {tag["id"] for tag in soup.find_all(id=True)} | {
            a["name"] for a in soup.find_all("a", attrs={"name": True})
        }
    return cache[path]


def static_defects(html: Path, page: Path, ids: dict[Path, set[str]]) -> list[Defect]:
    name = str(page.relative_to(html))
    soup = BeautifulSoup(page.read_text(encoding="utf8"), "html.parser")
    main = soup.find("main") or soup
    found = []
    for a in main.find_all("a", href=True):
        href = a["href"]
        parts = urlsplit(href)
        if parts.scheme or href.startswith(("mailto:", "//")):
            continue
        target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
        if parts.path and not target.exists():
            found.append(Defect(name, "broken link", href))
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _ids(target, ids):
            found.append(Defect(name, "broken anchor", href))
    text = main.get_text(" ")
    if "{glue" in text or "glue:text" in text:
        found.append(Defect(name, "glue placeholder", re.search(r".{0,40}\{?glue.{0,40}", text).group(0)))
    for cell in main.select(".tag_injected-parameters, .tag_parameters"):
        found.append(Defect(name, "parameter cell shown", cell.get_text(" ").strip()[:80]))
    for out in main.select(".cell_output, .output"):
        shown = out.get_text(" ")
        if m := WARNING.search(shown):
            found.append(Defect(name, "warning in an output", shown[max(0, m.start() - 60) : m.end() + 60].strip()))
        if m := LOCAL_PATH.search(shown):
            found.append(Defect(name, "local path in an output", shown[max(0, m.start() - 30) : m.end() + 60].strip()))
    for img in main.find_all("img"):
        alt = (img.get("alt") or "").strip()
        if not alt or FILE_ALT.search(alt):
            found.append(Defect(name, "figure without alt text", f"{img.get('src', '')[:80]} (alt {alt[:60]!r})"))
    for caption in main.find_all("figcaption"):
        if not SCALE.search(" ".join(caption.get_text(" ").split())):
            found.append(Defect(name, "caption does not name its scale", caption.get_text(" ").strip()[:80]))
    return found


# --------------------------------------------------------------------------------------------
# Checks in the browser (layout, maths, images)
# --------------------------------------------------------------------------------------------

COMMON_JS = (Path(__file__).parent / "pagecheck_common.js").read_text(encoding="utf8")  # window.pagecheck
LAYOUT_JS = (Path(__file__).parent / "pagecheck.js").read_text(encoding="utf8")
PHONE_JS = (Path(__file__).parent / "pagecheck_phone.js").read_text(encoding="utf8")
PHONE = {"width": 390, "height": 844}  # a phone held upright


@contextmanager
def serve(html: Path):
    """Serve ``html`` over HTTP on a free local port (as a reader's web server would; ``file://``
    pages lose local storage, which the theme uses)."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no access log on the terminal
            pass

    handler = partial(Quiet, directory=str(html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def browser_defects(html: Path, shots: Path | None, executable: str) -> list[Defect]:
    from playwright.sync_api import sync_playwright

    found: list[Defect] = []
    with serve(html) as root, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        phone = browser.new_page(viewport=PHONE, is_mobile=True, device_scale_factor=1)
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("response", lambda r: errors.append(f"{r.status} for {r.url}") if r.status >= 400 else None)
        for path in pages(html):
            name = str(path.relative_to(html))
            errors.clear()
            for view, script in ((page, LAYOUT_JS), (phone, PHONE_JS)):
                view.goto(root + path.relative_to(html).as_posix(), wait_until="load")
                # a page with maths waits for MathJax to start and typeset (its script loads
                # asynchronously: window.MathJax may hold only the configuration for a while)
                view.wait_for_function(
                    "() => document.querySelector('.math') === null"
                    " || (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)"
                )
                view.evaluate("() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null")
                # on a loaded machine the first typeset can still be under way when the startup promise
                # resolves: one more pass typesets what MathJax's configuration processes (raw TeX outside
                # it stays raw, and is reported)
                view.evaluate("() => window.MathJax?.typesetPromise ? window.MathJax.typesetPromise() : null")
                view.evaluate(COMMON_JS)
                found += [Defect(name, kind, detail) for kind, detail in view.evaluate(script)]
            found += [Defect(name, "console error", e[:160]) for e in errors if not any(n in e for n in NOISE)]
            if shots is not None:
                stem = name.replace("/", "__").removesuffix(".html")
                page.screenshot(path=str(shots / f"{stem}.png"), full_page=True)
                phone.screenshot(path=str(shots / "phone" / f"{stem}.png"), full_page=True)
        browser.close()
    return found


def check(html: Path, shots: Path | None = None, executable: str | None = None) -> list[Defect]:
    """Every defect of every page of the book built at ``html``; screenshots into ``shots``."""
    executable = executable or chromium()
    if executable is None:
        raise FileNotFoundError("no Chromium found: install it (Debian: apt-get install chromium) or set $CHROMIUM")
    if not (html / "intro.html").is_file():
        raise FileNotFoundError(f"{html} holds no built book (no intro.html): run make book first")
    if shots is not None:
        shutil.rmtree(shots, ignore_errors=True)
        (shots / "phone").mkdir(parents=True)
    ids: dict[Path, set[str]] = {}
    found = [d for page in pages(html) for d in static_defects(html, page, ids)]
    return list(dict.fromkeys(found + browser_defects(html, shots, executable)))  # each defect once


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the built book, e.g. book/_build/html")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for one full-page PNG per page")
    args = parser.parse_args(argv)
    found = check(args.html, args.screenshots)
    for defect in found:
        print(defect)
    print(
        f"{len(pages(args.html))} pages, {len(found)} defects"
        + (f"; screenshots in {args.screenshots}" if args.screenshots else "")
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
