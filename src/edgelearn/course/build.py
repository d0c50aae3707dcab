"""Build the exercises' two editions from their one source, ``exercises/<chapter>.md``.

Each source is an otter-grader master notebook written as MyST markdown (paired by jupytext). For
every chapter this module

1. converts it to ``.ipynb`` (jupytext) and runs ``otter assign`` on it, which checks that every
   reference solution passes its tests (unless ``run_tests=False``);
2. writes the **student edition** to ``<out>/<chapter>/``: ``<chapter>.ipynb`` (stubs, no solutions,
   no outputs; a ``grader.check`` cell after every question), the ``tests/`` folder
   ``grader.check`` reads, and ``<chapter>-autograder.zip`` for ``otter run``;
3. writes the **reference edition** (solutions without otter's markers, no outputs) to
   ``<instructor>/<chapter>/<chapter>.ipynb``, with the same ``tests/``;
4. refuses to write a student notebook in which a line of a solution survives.

It also prepares the student edition's book (:func:`student_book_source`: the book with
``hide_solutions``) and the exercise pages of either edition for the book (:func:`book_pages`).

Command line (``make student`` runs it)::

    python -m edgelearn.course.build [--out build/student] [--instructor build/instructor] \\
        [--no-run-tests] [chapter ...]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ROOT / "exercises"
_OTTER_CELL = re.compile(r"^\s*(# Initialize Otter|grader\.check|grader\.check_all)", re.MULTILINE)
_SOLUTION_BLOCK = re.compile(r"# BEGIN SOLUTION[^\n]*\n(.*?)\n[ \t]*# END SOLUTION", re.DOTALL)


def chapters(sources: Path = SOURCES) -> list[str]:
    """The chapters that have an exercise notebook, sorted by name."""
    return sorted(p.stem for p in sources.glob("*.md") if p.stem.lower() != "readme")


def master_notebook(source: Path) -> nbformat.NotebookNode:
    """The otter master notebook of an exercise source (MyST markdown read by jupytext)."""
    return jupytext.read(source, fmt="md:myst")


def solution_lines(notebook: nbformat.NotebookNode) -> list[str]:
    """The non-blank lines inside ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` of a master notebook."""
    lines: list[str] = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for block in _SOLUTION_BLOCK.findall(cell.source):
                lines += [line.strip() for line in block.splitlines() if line.strip()]
    return lines


def leaked_solutions(student: nbformat.NotebookNode, master: nbformat.NotebookNode) -> list[str]:
    """Solution lines of ``master`` that appear in a code cell of ``student`` (empty: none)."""
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    student_lines = {line.strip() for line in code.splitlines()}
    leaks = [line for line in solution_lines(master) if line in student_lines]
    return leaks + (["a SOLUTION marker"] if re.search(r"#\s*(BEGIN |END )?SOLUTION", code) else [])


def clean_reference(source: str) -> str:
    """A reference cell without otter's markup: the solution markers go, and so does the stub's prompt
    (kept in the master as a string after the solution, ``\"\"\" # BEGIN PROMPT`` ... ``# END PROMPT``)."""
    kept, prompt = [], False
    for line in source.splitlines():
        if line.rstrip().endswith("# BEGIN PROMPT"):
            prompt = True
        elif line.rstrip().endswith("# END PROMPT"):
            prompt = False
        elif not prompt and not re.search(r"# (BEGIN|END) SOLUTION( NO PROMPT)?\s*$", line):
            kept.append(line)
    return "\n".join(kept)


def code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """The code cells a reader runs, without otter's own cells (its set-up and ``grader.check`` calls)."""
    return [c.source for c in notebook.cells if c.cell_type == "code" and not _OTTER_CELL.search(c.source)]


def namespace(notebook: nbformat.NotebookNode) -> dict:
    """Execute the notebook's code cells (:func:`code_cells`) in a fresh namespace and return it:
    the functions a student (or the reference solution) defined, without a kernel."""
    env: dict = {"__name__": "__exercise__"}
    for source in code_cells(notebook):
        exec(compile(source, "<exercise cell>", "exec"), env)  # noqa: S102 - our own notebooks
    return env


def build_chapter(chapter: str, out: Path, instructor: Path, run_tests: bool = True, sources: Path = SOURCES) -> Path:
    """Student and reference editions of one chapter (see the module docstring); returns the student notebook."""
    source = sources / f"{chapter}.md"
    if not source.is_file():
        raise FileNotFoundError(f"no exercise source {source} (chapters: {', '.join(chapters(sources))})")
    with tempfile.TemporaryDirectory(prefix=f"assign-{chapter}-") as tmp:
        master = Path(tmp) / f"{chapter}.ipynb"
        nbformat.write(master_notebook(source), master)
        command = [sys.executable, "-m", "otter", "assign", "--no-pdfs", str(master), str(Path(tmp) / "dist")]
        if not run_tests:
            command.insert(-2, "--no-run-tests")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"otter assign failed on {source}:\n{done.stdout}\n{done.stderr}")
        dist = Path(tmp) / "dist"
        master_nb = nbformat.read(master, as_version=4)
        student_nb = nbformat.read(dist / "student" / f"{chapter}.ipynb", as_version=4)
        leaks = leaked_solutions(student_nb, master_nb)
        if leaks:
            raise RuntimeError(f"solution lines left in the student notebook of {chapter}: {leaks[:3]}")
        target = out / chapter
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        reference = instructor / chapter
        if reference.exists():
            shutil.rmtree(reference)
        for notebook, path in ((student_nb, target / f"{chapter}.ipynb"), (None, reference / f"{chapter}.ipynb")):
            notebook = notebook or nbformat.read(dist / "autograder" / f"{chapter}.ipynb", as_version=4)
            notebook.metadata.pop("jupytext", None)  # the edition is a plain notebook, not a paired one
            for cell in notebook.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
                    cell.source = clean_reference(cell.source)
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, path)
        for folder in (target, reference):  # grader.check reads the tests next to the notebook
            shutil.copytree(dist / "student" / "tests", folder / "tests")
        (zip_file,) = (dist / "autograder").glob("*.zip")
        shutil.copyfile(zip_file, target / f"{chapter}-autograder.zip")
    return target / f"{chapter}.ipynb"


def book_page(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """An edition's notebook as a page of the book: otter's own cells (set-up, ``grader.check``) dropped."""
    page = nbformat.from_dict(notebook)
    page.cells = [c for c in page.cells if not (c.cell_type == "code" and _OTTER_CELL.search(c.source))]
    page.metadata.pop("otter", None)
    return page


def book_pages(edition: Path, dest: Path) -> list[Path]:
    """Write ``dest/<chapter>.ipynb``, the book page of every chapter of ``edition`` (``build/instructor``:
    with solutions; ``build/student``: stubs). A toc entry ``exercises/<chapter>`` shows them."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for notebook in sorted(edition.glob("*/*.ipynb")):
        if notebook.stem == notebook.parent.name:
            written.append(dest / notebook.name)
            nbformat.write(book_page(nbformat.read(notebook, as_version=4)), written[-1])
    return written


def student_book_config(config: Path, out: Path) -> Path:
    """Write the student edition's Jupyter Book configuration to ``out``: ``config`` (the book's
    ``_config.yml``) with sphinx-exercise's ``hide_solutions: true``, so that no ``{solution}``
    directive reaches the pages, and the title marked."""
    settings = yaml.safe_load(config.read_text())
    settings["title"] = f"{settings.get('title', 'Book')} (student edition)"
    settings.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Generated by edgelearn.course.build (make student): the book's _config.yml without solutions.\n")
    with out.open("a") as f:
        yaml.safe_dump(settings, f, sort_keys=False, allow_unicode=True)
    return out


def student_book_source(book: Path, src: Path, student: Path) -> Path:
    """The student edition's book source in ``src``: a copy of ``book`` (its executed notebooks
    included, its build output not; the MathJax folder linked), the configuration of
    :func:`student_book_config`, and the student edition's exercise pages (:func:`book_pages` of
    ``student``) in ``exercises/``, where the instructor's book has the reference pages."""
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(book, src, ignore=shutil.ignore_patterns("_build", "_mathjax", "exercises"))
    if (book / "_mathjax").is_dir():
        (src / "_mathjax").symlink_to((book / "_mathjax").resolve())
    student_book_config(book / "_config.yml", src / "_config.yml")
    book_pages(student, src / "exercises")
    return src


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapters to build (default: every exercises/*.md)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "student", help="student edition")
    parser.add_argument("--instructor", type=Path, default=ROOT / "build" / "instructor", help="reference notebooks")
    parser.add_argument("--no-run-tests", action="store_true", help="skip otter's run of the reference solutions")
    parser.add_argument(
        "--student-book", nargs=2, type=Path, metavar=("BOOK", "SRC"),
        help="only write the student edition's book source to SRC (BOOK without solutions, exercise pages from --out)",
    )  # fmt: skip
    parser.add_argument(
        "--book-pages", nargs=2, type=Path, metavar=("EDITION", "DEST"),
        help="only write the exercise pages of the built EDITION (build/instructor or build/student) to DEST",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.student_book:
        print(student_book_source(*args.student_book, args.out))
        return
    if args.book_pages:
        print("\n".join(map(str, book_pages(*args.book_pages))))
        return
    for chapter in args.chapters or chapters():
        path = build_chapter(chapter, args.out, args.instructor, run_tests=not args.no_run_tests)
        print(f"{chapter}: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
