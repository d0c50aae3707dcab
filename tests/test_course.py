"""Course timing (edgelearn.course.timing): notebook run times read from papermill's metadata, reading
loads from word counts, and the glue names the course pages use, checked against what the notebooks glue."""

from __future__ import annotations

import math
import re

import nbformat
import pytest

from conftest import REPO
from edgelearn.course import timing
from edgelearn.course.timing import (
    NOT_MEASURED,
    chapter_notebooks,
    chapter_words,
    course_times,
    minutes_text,
    notebook_durations,
    reading_text,
    word_count,
)


def _executed(folder, name, *, scale="laptop", duration=90.0, exception=False, papermill=True):
    """A synthetic notebook as papermill leaves it: one code cell and its run's metadata."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    if papermill:
        nb.metadata["papermill"] = {
            "duration": duration,
            "parameters": {"scale": scale},
            "exception": exception or None,
            "start_time": "2026-12-02T00:00:00+00:00",
            "end_time": "2026-12-02T00:01:30+00:00",
        }
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


def test_durations_come_from_papermill_metadata_with_the_scale_each_ran_at(tmp_path):
    _executed(tmp_path, "exp3", duration=81.2)
    _executed(tmp_path, "ats", scale="smoke", duration=12.5)
    _executed(tmp_path, "od3", exception=True)
    _executed(tmp_path, "plain", papermill=False)  # not executed by papermill: left out
    _executed(tmp_path, ".tmp-slicing")  # make's unfinished output: left out
    table = notebook_durations(tmp_path).set_index("notebook")
    assert sorted(table.index) == ["ats", "exp3", "od3"]
    assert table.loc["exp3", "duration_s"] == pytest.approx(81.2)
    assert table.loc["ats", "scale"] == "smoke"
    assert table.loc["od3", "failed"] and not table.loc["exp3", "failed"]
    assert list(table.reset_index().columns) == timing.DURATION_COLUMNS


def test_durations_of_an_empty_or_missing_folder_are_an_empty_table(tmp_path):
    assert notebook_durations(tmp_path / "nowhere").empty
    assert list(notebook_durations(tmp_path).columns) == timing.DURATION_COLUMNS


def test_a_broken_notebook_is_named(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(ValueError, match="broken.ipynb"):
        notebook_durations(tmp_path)


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "under 1 min"), (59, "under 1 min"), (61, "1 min"), (9 * 60, "9 min"), (9.6 * 60, "10 min"),
     (13 * 60, "15 min"), (87 * 60, "85 min"), (100 * 60, "1.5 h"), (150 * 60, "2.5 h")],
)  # fmt: skip
def test_minutes_are_rounded_for_people(seconds, text):
    assert minutes_text(seconds) == text


@pytest.mark.parametrize("bad", [-1, math.nan, "60"])
def test_minutes_refuse_a_time_that_is_not_one(bad):
    with pytest.raises(ValueError, match="seconds"):
        minutes_text(bad)


PAGE = """---
jupytext:
  formats: ipynb,md:myst
---

(lbl-page)=
# A page title

One two three four five.

```{code-cell} ipython3
:tags: [hide-input]
these words are code and do not count at all
```

```{prf:theorem} A named result
:label: thm-x

six seven $x^2 + y$ nine.
```

$$
a + b = c \\quad \\text{not words}
$$ (eq-x)

````{exercise} Hard
:label: ex-x
ten eleven
```python
print("not read")
```
````

A {cite:p}`auer2002` reference and `code` and [a link](https://example.org/many/words/here).
"""


def test_word_count_reads_prose_and_directive_content_but_not_code_options_or_display_maths():
    # "A page title" 3, "One..five" 5, "A named result" 3, "six seven x nine" 4, "Hard" 1, "ten eleven" 2,
    # "A x reference and x and a link" 8
    assert word_count(PAGE) == 26


def test_reading_range_is_the_words_at_a_fast_and_a_slow_pace():
    assert reading_text(2000) == "10\u201320 min"  # 200 and 100 words a minute
    assert reading_text(0) == "under 1 min"
    assert reading_text(150) == "1\u20132 min"
    assert reading_text(12_000) == "60 min to 2 h"
    with pytest.raises(ValueError, match="words"):
        reading_text(-3)
    with pytest.raises(ValueError, match="wpm"):
        reading_text(100, wpm=(100, 200))


def _chapter(tmp_path, name, words):
    (tmp_path / "book" / name).mkdir(parents=True, exist_ok=True)
    (tmp_path / "book" / name / "theory.md").write_text(f"# {name.upper()} title\n\n" + "word " * (words - 2))
    (tmp_path / "book" / name / "instructor.md").write_text("# Notes\n\n" + "hidden " * 5000)
    (tmp_path / "notebooks").mkdir(exist_ok=True)
    (tmp_path / "notebooks" / f"{name}.md").write_text("# In code\n\n" + "more " * 98)


def test_course_times_glue_only_runs_at_the_asked_scale_and_count_the_students_pages(tmp_path):
    for name in ("exp3", "ats", "od3"):
        _chapter(tmp_path, name, 400)
    executed = tmp_path / "executed"
    _executed(executed, "exp3", duration=125.0)
    _executed(executed, "ats", scale="smoke", duration=5.0)  # another scale: not this build's time
    _executed(executed, "od3", exception=True)  # failed: no time
    table = course_times(["exp3", "ats", "od3"], "laptop", executed, tmp_path / "book", tmp_path / "notebooks")
    table = table.set_index("chapter")
    assert table.loc["exp3", "run"] == "2 min" and table.loc["exp3", "run_s"] == pytest.approx(125.0)
    assert table.loc["ats", "run"] == NOT_MEASURED and math.isnan(table.loc["ats", "run_s"])
    assert table.loc["od3", "run"] == NOT_MEASURED
    assert table.loc["exp3", "words"] == 500  # theory 400 + notebook 100; the instructor notes are not read
    assert table.loc["exp3", "reading"] == "2\u20135 min"
    assert table.loc["exp3", "title"] == "EXP3 title"


def test_a_chapter_without_pages_is_named(tmp_path):
    with pytest.raises(ValueError, match="'nope'"):
        chapter_words("nope", tmp_path, tmp_path)


def test_executed_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(timing.EXECUTED_ENV, raising=False)
    assert timing.executed_dir() == REPO / "book" / "notebooks"
    monkeypatch.setenv(timing.EXECUTED_ENV, str(tmp_path))
    assert timing.executed_dir() == tmp_path


def test_chapters_follow_the_table_of_contents_without_the_scorecard(tmp_path):
    for name in ("ats", "exp3", "scorecard", "zeta"):
        (tmp_path / f"{name}.md").write_text("# x\n")
    toc = tmp_path / "_toc.yml"
    toc.write_text("chapters:\n  - file: notebooks/exp3\n  - file: notebooks/ats\n  - file: notebooks/scorecard\n")
    assert chapter_notebooks(tmp_path, toc) == ["exp3", "ats", "zeta"]
    assert set(chapter_notebooks()) == {p.stem for p in (REPO / "notebooks").glob("*.md")} - {"scorecard"}


GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`/notebooks/(\w+)\.ipynb::(\w+)|:doc: /notebooks/(\w+)\.ipynb")


def _course_pages():
    pages = [REPO / "book" / "course.md", REPO / "book" / "runbook.md", *sorted(REPO.glob("book/*/instructor.md"))]
    return [p for p in pages if p.is_file()]


def _glued_by(notebook: str, key: str) -> bool:
    """Whether a course page's glue name can come from ``notebooks/<notebook>.md``: the scorecard's names
    must be made by it (a literal ``glue("...")`` or one time and one reading load per chapter); a chapter
    notebook's name must follow the ``<notebook>__`` convention. Whether a chapter notebook really glues it
    (often in a loop or in its package's ``glue_values``) is checked by the book build with -W."""
    if not (REPO / "notebooks" / f"{notebook}.md").is_file() or not key.startswith(f"{notebook}__"):
        return False
    if notebook != "scorecard":
        return True
    source = (REPO / "notebooks" / "scorecard.md").read_text()
    per_chapter = re.match(r"scorecard__(time|read)_(\w+)$", key)
    return bool(re.search(rf"glue\(\s*[\"']{re.escape(key)}[\"']", source)) or bool(
        per_chapter and per_chapter.group(2) in chapter_notebooks()
    )


def test_the_glue_check_tells_made_names_from_unmade_ones():
    assert _glued_by("exp3", "exp3__worst_ratio") and not _glued_by("exp3", "od3__worst_ratio")
    assert _glued_by("scorecard", "scorecard__time_exp3") and _glued_by("scorecard", "scorecard__time_total")
    assert _glued_by("scorecard", "scorecard__read_ats") and _glued_by("scorecard", "scorecard__scale")
    assert not _glued_by("scorecard", "scorecard__time_nope") and not _glued_by("scorecard", "scorecard__cost")
    assert not _glued_by("no_such_notebook", "no_such_notebook__x")


@pytest.mark.parametrize("page", _course_pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_number_the_course_pages_paste_is_glued_by_a_notebook(page):
    """The course map, the runbook and the instructor notes type no measured number: every glue name they
    use comes from the notebook they name."""
    refs = [(m.group(1), m.group(2)) for m in GLUE_REF.finditer(page.read_text()) if m.group(1)]
    missing = [f"{notebook}::{key}" for notebook, key in refs if not _glued_by(notebook, key)]
    assert not missing, f"{page.name} pastes names no notebook glues: {missing}"


def test_the_course_map_glues_a_time_and_a_reading_load_for_every_chapter():
    text = (REPO / "book" / "course.md").read_text()
    for chapter in chapter_notebooks():
        for kind in ("time", "read"):
            assert f"scorecard.ipynb::scorecard__{kind}_{chapter}:" in text, f"{kind} of {chapter}"
