"""The course: what a teacher adopting the book uses beside the chapters.

* :mod:`edgelearn.course.checks` — the checks behind the key-line exercises (``exercises/<chapter>.md``).
  Each exercise asks a student to write the one function that makes a chapter's method work; its check
  compares the student's function with the library's own on fixed seeded inputs and asserts the
  invariants the library's tests assert. The exercise notebooks are otter-grader master notebooks
  whose test cells call these checks, so ``grader.check("...")`` in a student notebook, ``otter run``
  on a submission and ``tests/test_exercises.py`` all run the same code;
  :data:`~edgelearn.course.checks.EXERCISES` lists every exercise.
* :mod:`edgelearn.course.build` — the student and reference editions of the exercises and the
  student edition of the book (``make student``).

Nothing is imported here, so that importing one submodule (a notebook importing another part of the
course package, say) does not pull in the others and their dependencies.
"""
