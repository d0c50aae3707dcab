"""What a course session costs: each chapter notebook's measured run time and each chapter's reading load.

The course map (``book/course.md``) states no time by hand. The scorecard notebook, which ``make book``
executes after every chapter's notebook, reads the run times papermill recorded in the executed
notebooks (``metadata.papermill.duration`` and the ``scale`` parameter) with
:func:`notebook_durations`, counts the words of each chapter's pages with :func:`chapter_words`, and
glues both, rounded for people, through :func:`course_times`.

Where the executed notebooks are: ``$EDGELEARN_EXECUTED_DIR`` when set (``make book`` may point it at
``$(BOOK)/notebooks``), else ``<repo>/book/notebooks`` (:func:`executed_dir`). A notebook run at another
scale than the one asked for, or not run at all, is reported as not measured, never with a foreign time.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from edgelearn.core.store import repo_root

EXECUTED_ENV = "EDGELEARN_EXECUTED_DIR"
READING_WPM: tuple[int, int] = (200, 100)
"""Reading speeds in words per minute: a first read of prose, and working through derivations."""
NOT_MEASURED = "not measured at this scale"
DURATION_COLUMNS = ["notebook", "scale", "duration_s", "start_time", "end_time", "failed"]


def executed_dir() -> Path:
    """The folder of the executed notebooks: ``$EDGELEARN_EXECUTED_DIR``, else ``<repo>/book/notebooks``."""
    env = os.environ.get(EXECUTED_ENV)
    return Path(env) if env else repo_root() / "book" / "notebooks"


def notebook_durations(folder: str | Path) -> pd.DataFrame:
    """One row per notebook papermill executed in ``folder``: its name, the ``scale`` it ran at, its
    wall time in seconds (``metadata.papermill.duration``), start and end times, and whether it failed.

    Notebooks without papermill metadata (not executed by papermill) are left out; an empty or
    missing folder gives an empty table with the same columns. A file that is not a notebook raises
    ``ValueError`` naming it.
    """
    rows = []
    folder = Path(folder)
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        if path.name.startswith("."):  # make's temporary outputs (.tmp-<name>.ipynb) are not done yet
            continue
        try:
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as err:
            raise ValueError(f"{path} is not a notebook (JSON with a 'metadata' object): {err}") from err
        pm = meta.get("papermill") if isinstance(meta, dict) else None
        if not isinstance(pm, dict) or pm.get("duration") is None:
            continue
        rows.append(
            {
                "notebook": path.stem,
                "scale": (pm.get("parameters") or {}).get("scale"),
                "duration_s": float(pm["duration"]),
                "start_time": pm.get("start_time"),
                "end_time": pm.get("end_time"),
                "failed": bool(pm.get("exception")),
            }
        )
    return pd.DataFrame(rows, columns=DURATION_COLUMNS)


def minutes_text(seconds: float) -> str:
    """A wall time rounded for people: ``"under 1 min"``, whole minutes below 10, then steps of 5
    minutes, then hours to the half hour (``"1.5 h"``). Raises ``ValueError`` for a negative or NaN time."""
    if not isinstance(seconds, (int, float)) or math.isnan(seconds) or seconds < 0:
        raise ValueError(f"'seconds' must be a number >= 0; got {seconds!r}")
    minutes = seconds / 60
    if minutes < 1:
        return "under 1 min"
    if minutes < 9.5:
        return f"{round(minutes)} min"
    if minutes < 87.5:
        return f"{5 * round(minutes / 5)} min"
    hours = round(minutes / 30) / 2
    return f"{hours:g} h"


_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(\S*)\s*(.*)$")
_SKIPPED_BLOCKS = ("{code-cell}", "{code-block}", "{code}", "{math}", "{glue}", "{raw}", "{list-table}")


def _prose(markdown: str) -> str:
    """The text a reader reads: no front matter, code or display maths, no directive fences (but their
    titles) or options."""
    lines = markdown.splitlines()
    if lines and lines[0].strip() == "---":  # YAML front matter
        end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), 0)
        lines = lines[end + 1 :]
    kept: list[str] = []
    open_fences: list[str] = []  # the directives (prose inside) open around this line
    skip: str | None = None  # the fence that closes the code or maths block being skipped
    in_math = False
    for line in lines:
        fence = _FENCE.match(line)
        closes = bool(fence) and not fence.group(2)
        if skip is not None:
            if closes and fence.group(1)[0] == skip[0] and len(fence.group(1)) >= len(skip):
                skip = None
            continue
        stripped = line.strip()
        if stripped.startswith("$$") or in_math:
            if in_math:
                in_math = not stripped.startswith("$$")
            elif not (len(stripped) > 4 and stripped.endswith("$$")):
                in_math = True  # "$$" opens a display formula; "$$ x $$" on one line is whole
            continue
        if fence:
            marker, info, title = fence.groups()
            if closes and open_fences and marker[0] == open_fences[-1][0] and len(marker) >= len(open_fences[-1]):
                open_fences.pop()  # the end of a directive
            elif marker[0] != ":" and (not info.startswith("{") or info.startswith(_SKIPPED_BLOCKS)):
                skip = marker  # a code block, a code cell, maths or a glued output
            else:
                open_fences.append(marker)  # a directive (theorem, proof, exercise, card): its content is prose
                kept.append(title)  # and its title is read
            continue
        if re.match(r"^\s*:[\w-]+:", line) or re.match(r"^\(\S+\)=\s*$", stripped):
            continue  # directive options, labels "(name)="
        if stripped.startswith(("+++", "<!--")):
            continue  # cell breaks, comments
        kept.append(line)
    return "\n".join(kept)


def word_count(markdown: str) -> int:
    """Words a reader reads in a MyST markdown page: the prose outside code cells, code blocks, display
    maths and directive options; an inline formula, code span or cross-reference counts as one word."""
    text = _prose(markdown)
    text = re.sub(r"\$[^$\n]+\$", " x ", text)  # inline maths
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " x ", text)  # roles: {cite:p}`...`, {glue:text}`...`
    text = re.sub(r"`[^`\n]+`", " x ", text)  # code spans
    text = re.sub(r"\]\([^)]*\)", "] ", text)  # link targets
    return len(re.findall(r"[A-Za-z0-9][\w'’.-]*", text))


def reading_text(words: int, wpm: tuple[int, int] = READING_WPM) -> str:
    """A reading load as a range of minutes, ``"15–30 min"`` (an en dash): ``words`` at the faster and the slower of
    ``wpm`` words per minute (a first read; working through the derivations), rounded as
    :func:`minutes_text` rounds."""
    if isinstance(words, bool) or not isinstance(words, int) or words < 0:
        raise ValueError(f"'words' must be an integer >= 0; got {words!r}")
    fast, slow = wpm
    if not 0 < slow <= fast:
        raise ValueError(f"'wpm' must be (fast, slow) with fast >= slow > 0; got {wpm!r}")
    low, high = (minutes_text(60 * words / speed).removesuffix(" min") for speed in (fast, slow))
    if low == high:
        return f"{low} min"
    if "h" in high:
        return f"{low} min to {high}"
    return f"{low}\u2013{high} min".replace("under 1\u2013", "1\u2013")


def chapter_notebooks(notebooks_dir: str | Path | None = None, toc: str | Path | None = None) -> list[str]:
    """The chapters that have a notebook: the sources ``<notebooks>/*.md`` (default ``<repo>/notebooks``)
    except the scorecard, which reads the others and cannot time itself; in the order the book's table of
    contents (default ``<repo>/book/_toc.yml``) names them, those it does not name last."""
    root = repo_root()
    folder = Path(notebooks_dir) if notebooks_dir is not None else root / "notebooks"
    toc = Path(toc) if toc is not None else root / "book" / "_toc.yml"
    names = [p.stem for p in folder.glob("*.md") if p.stem != "scorecard"]
    listed = re.findall(r"notebooks/(\w+)", toc.read_text(encoding="utf-8")) if toc.is_file() else []
    order = {name: i for i, name in reversed(list(enumerate(listed)))}
    return sorted(names, key=lambda name: (order.get(name, len(order)), name))


def chapter_pages(chapter: str, book_dir: str | Path, notebooks_dir: str | Path) -> list[Path]:
    """The pages a student reads for ``chapter``: ``<book>/<chapter>/*.md`` except the instructor notes,
    and the notebook ``<notebooks>/<chapter>.md`` when there is one."""
    pages = sorted(p for p in (Path(book_dir) / chapter).glob("*.md") if p.name != "instructor.md")
    notebook = Path(notebooks_dir) / f"{chapter}.md"
    return pages + ([notebook] if notebook.is_file() else [])


def chapter_title(chapter: str, book_dir: str | Path, notebooks_dir: str | Path) -> str:
    """The title (first ``# `` heading) of the chapter's first page, else the chapter's name."""
    for page in chapter_pages(chapter, book_dir, notebooks_dir):
        for line in _prose(page.read_text(encoding="utf-8")).splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return chapter


def chapter_words(chapter: str, book_dir: str | Path, notebooks_dir: str | Path) -> int:
    """Words of every page of :func:`chapter_pages`; ``ValueError`` when the chapter has no page."""
    pages = chapter_pages(chapter, book_dir, notebooks_dir)
    if not pages:
        raise ValueError(f"chapter {chapter!r} has no page under {book_dir}/{chapter}/ nor {notebooks_dir}/")
    return sum(word_count(p.read_text(encoding="utf-8")) for p in pages)


def course_times(
    chapters: Iterable[str],
    scale: str,
    executed: str | Path | None = None,
    book_dir: str | Path | None = None,
    notebooks_dir: str | Path | None = None,
) -> pd.DataFrame:
    """One row per chapter: its title (:func:`chapter_title`), the scale and wall time of its executed
    notebook (``run_s`` and ``run``, rounded for people; :data:`NOT_MEASURED` unless it ran at ``scale``
    without failing), the words of its pages and the reading load (``reading``, :func:`reading_text`).

    Defaults: :func:`executed_dir`, ``<repo>/book`` and ``<repo>/notebooks``.
    """
    root = repo_root()
    book_dir = Path(book_dir) if book_dir is not None else root / "book"
    notebooks_dir = Path(notebooks_dir) if notebooks_dir is not None else root / "notebooks"
    durations = notebook_durations(executed if executed is not None else executed_dir()).set_index("notebook")
    rows = []
    for chapter in chapters:
        ran = chapter in durations.index and durations.loc[chapter, "scale"] == scale
        ran = ran and not durations.loc[chapter, "failed"]
        run_s = float(durations.loc[chapter, "duration_s"]) if ran else math.nan
        words = chapter_words(chapter, book_dir, notebooks_dir)
        rows.append(
            {
                "chapter": chapter,
                "title": chapter_title(chapter, book_dir, notebooks_dir),
                "scale": scale,
                "run_s": run_s,
                "run": minutes_text(run_s) if ran else NOT_MEASURED,
                "words": words,
                "reading": reading_text(words),
            }
        )
    return pd.DataFrame(rows, columns=["chapter", "title", "scale", "run_s", "run", "words", "reading"])


__all__ = [
    "EXECUTED_ENV",
    "NOT_MEASURED",
    "READING_WPM",
    "chapter_notebooks",
    "chapter_pages",
    "chapter_title",
    "chapter_words",
    "course_times",
    "executed_dir",
    "minutes_text",
    "notebook_durations",
    "reading_text",
    "word_count",
]
