"""Key-line exercises: every reference passes its check, every stub fails it with the intended message,
the student edition holds no solution and no output, and otter-grader scores both editions as it should."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from conftest import REPO
from edgelearn.course import build
from edgelearn.course.checks import (
    EXERCISES,
    ExerciseError,
    check_ats_psi,
    check_ats_rule,
    check_ddpg_target,
    check_double_dqn_target,
    check_exp3_distribution,
    check_exp3_estimator,
    check_kl_divergence,
    check_layer_reward,
    check_od3_loss,
    check_pareto_filter,
)

CHAPTERS = ["exp3", "slicing", "ma2ml", "trl_hpo", "od3", "ats"]
pytestmark = pytest.mark.xdist_group("exercises")


@pytest.fixture(scope="session")
def editions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The student and reference editions of every chapter, built once (without otter's own test run:
    the tests below run the checks themselves)."""
    root = tmp_path_factory.mktemp("editions")
    for chapter in build.chapters():
        build.build_chapter(chapter, root / "student", root / "instructor", run_tests=False)
    return root / "student", root / "instructor"


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_every_chapter_has_at_least_two_exercises_and_the_sources_match_the_list():
    assert build.chapters() == sorted(CHAPTERS)
    for chapter in CHAPTERS:
        listed = [ex.name for ex in EXERCISES if ex.chapter == chapter]
        assert len(listed) >= 2, chapter
        text = (REPO / "exercises" / f"{chapter}.md").read_text()
        in_source = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("name: ")]
        assert in_source[0] == chapter  # the assignment's name, then one per question
        assert in_source[1:] == listed, chapter


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda ex: ex.name)
def test_reference_solution_passes(editions, exercise):
    _, instructor = editions
    env = build.namespace(_read(instructor / exercise.chapter / f"{exercise.chapter}.ipynb"))
    assert exercise.check(env[exercise.function]).endswith("checks passed")


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda ex: ex.name)
def test_stub_fails_with_not_implemented(editions, exercise):
    student, _ = editions
    env = build.namespace(_read(student / exercise.chapter / f"{exercise.chapter}.ipynb"))
    with pytest.raises(ExerciseError, match=rf"`{exercise.function}` is not implemented yet"):
        exercise.check(env[exercise.function])


def test_student_notebooks_hold_stubs_checks_and_tests_but_no_solutions_or_outputs(editions):
    student, _ = editions
    for chapter in CHAPTERS:
        folder = student / chapter
        nb = _read(folder / f"{chapter}.ipynb")
        master = build.master_notebook(REPO / "exercises" / f"{chapter}.md")
        assert build.solution_lines(master), chapter
        assert build.leaked_solutions(nb, master) == [], chapter
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), chapter
        assert not any(c.cell_type == "raw" for c in nb.cells), chapter  # otter's markup is gone
        for ex in (ex for ex in EXERCISES if ex.chapter == chapter):
            assert any(f'grader.check("{ex.name}")' in c.source for c in code), ex.name
            assert any("raise NotImplementedError" in c.source and f"def {ex.function}(" in c.source for c in code)
            assert (folder / "tests" / f"{ex.name}.py").is_file(), ex.name
        assert (folder / f"{chapter}-autograder.zip").is_file()


def test_a_missing_function_and_a_forgotten_return_are_named():
    with pytest.raises(ExerciseError, match="`loss_estimate` is not defined"):
        check_exp3_estimator(None)
    with pytest.raises(ExerciseError, match="returned None: did you forget the `return`"):
        check_exp3_estimator(lambda p, arm, loss: None)
    with pytest.raises(ExerciseError, match=r"raised IndexError: .*"):
        check_exp3_estimator(lambda p, arm, loss: p[10])
    with pytest.raises(ExerciseError, match=r"shape \(3,\), got shape \(\)"):
        check_exp3_estimator(lambda p, arm, loss: loss / p[arm])


# Common slips, each with the hint its check gives (the checks explain wrong numbers, not just reject them).
def _estimate_without_division(p, arm, loss):
    out = np.zeros(len(p))
    out[arm] = loss
    return out


def _distribution_unstable(prior, cum, eta):
    w = prior * np.exp(-eta * cum)
    return w / w.sum()


def _pareto_strict(points):  # drops equal rows: domination without "> somewhere"
    ge = np.all(points[None] >= points[:, None], axis=2) & ~np.eye(len(points), dtype=bool)
    return np.flatnonzero(~ge.any(axis=1))


def _pareto_keep_all(points):
    return np.arange(len(points))


def _reward_without_penalty(perf, prev, collapsed, penalty):
    return (perf - prev).mean(dim=1)


def _ddpg_without_done(reward, done, next_state, actor, critic, gamma):
    with torch.no_grad():
        return reward + gamma * critic(next_state, actor(next_state))


def _ddpg_with_grad(reward, done, next_state, actor, critic, gamma):
    return reward + gamma * (1 - done) * critic(next_state, actor(next_state))


def _dqn_target(batch, target_net, online_net, gamma):
    with torch.no_grad():
        best = target_net(batch["next_obs"]).max(dim=1).values
    return batch["reward"] + gamma * (1 - batch["done"]) * best


def _od3_without_tau(student, teacher, tau=0.01):
    return F.kl_div(
        F.log_softmax(student, 1), F.log_softmax(teacher.detach(), 1), log_target=True, reduction="batchmean"
    )


def _od3_teacher_not_detached(student, teacher, tau=0.01):
    log_p = F.log_softmax(teacher / tau, 1)
    return F.kl_div(F.log_softmax(student, 1), log_p, log_target=True, reduction="batchmean")


def _kl_reversed(pi, rho):
    log_pi, log_rho = torch.log_softmax(pi, -1), torch.log_softmax(rho, -1)
    return (log_rho.exp() * (log_rho - log_pi)).sum(-1)


def _psi_reversed(q_net, obs, after):
    with torch.no_grad():
        v = q_net(torch.from_numpy(np.stack([obs, after]))).max(dim=-1).values
    return float(v[0] - v[1])


def _psi_mean(q_net, obs, after):
    with torch.no_grad():
        q = q_net(torch.from_numpy(np.stack([obs, after])))
    return float(q[1].mean() - q[0].mean())


@pytest.mark.parametrize(
    "check, wrong, message",
    [
        (check_exp3_estimator, _estimate_without_division, "divide it by the probability"),
        (check_exp3_distribution, _distribution_unstable, "Subtract the smallest eta"),
        (check_pareto_filter, _pareto_strict, "equal rows do not dominate each other"),
        (check_pareto_filter, _pareto_keep_all, r"you kept row 0 \[1, 1\], but row 1 \[2, 1\] dominates it"),
        (check_kl_divergence, _kl_reversed, r"You computed KL\(rho \|\| pi\)"),
        (check_layer_reward, _reward_without_penalty, "collapsed architecture"),
        (check_ddpg_target, _ddpg_without_done, r"multiply the next value by \(1 - done\)"),
        (check_ddpg_target, _ddpg_with_grad, r"torch.no_grad\(\)"),
        (check_double_dqn_target, _dqn_target, "This is DQN's target"),
        (check_od3_loss, _od3_without_tau, "sharpened by the temperature"),
        (check_od3_loss, _od3_teacher_not_detached, "the teacher received gradients"),
        (check_ats_psi, _psi_reversed, "The sign is reversed"),
        (check_ats_psi, _psi_mean, r"max_a Q\(s, a\)"),
        (check_ats_rule, lambda psi, history, q: bool(psi >= np.percentile(history, q)), "The rule is strict"),
        (check_ats_rule, lambda psi, history, q: bool(psi < np.percentile(history, q)), "not when it is small"),
    ],
    ids=lambda v: getattr(v, "__name__", "")[:40] if callable(v) else "",
)
def test_checks_name_the_common_slips(check, wrong, message):
    with pytest.raises(ExerciseError, match=message):
        check(wrong)


def _otter_score(notebook: Path, autograder: Path, out: Path) -> tuple[float, float]:
    """Grade ``notebook`` with ``otter run`` (no Docker, no server): (score, possible)."""
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(autograder), "-o", str(out), str(notebook)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    tests = json.loads((out / "results.json").read_text())["tests"]
    graded = [t for t in tests if t.get("max_score")]
    return sum(t["score"] for t in graded), sum(t["max_score"] for t in graded)


@pytest.mark.parametrize("chapter", [c if c == "exp3" else pytest.param(c, marks=pytest.mark.slow) for c in CHAPTERS])
def test_otter_gives_full_marks_to_the_reference_and_zero_to_the_stubs(editions, chapter, tmp_path):
    student, instructor = editions
    autograder = student / chapter / f"{chapter}-autograder.zip"
    n = sum(ex.chapter == chapter for ex in EXERCISES)
    assert _otter_score(instructor / chapter / f"{chapter}.ipynb", autograder, tmp_path / "reference") == (n, n)
    assert _otter_score(student / chapter / f"{chapter}.ipynb", autograder, tmp_path / "student") == (0, n)


def test_student_book_source_hides_solutions_and_shows_the_stubs(editions, tmp_path):
    student, instructor = editions
    book = tmp_path / "book"
    (book / "notebooks").mkdir(parents=True)
    (book / "_build").mkdir()
    (book / "_config.yml").write_text((REPO / "book" / "_config.yml").read_text())
    (book / "intro.md").write_text("# Intro\n")
    src = build.student_book_source(book, tmp_path / "src", student)
    config = yaml.safe_load((src / "_config.yml").read_text())
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert config["title"].endswith("(student edition)")
    assert yaml.safe_load((REPO / "book" / "_config.yml").read_text())["sphinx"]["config"].get("hide_solutions") is None
    assert not (src / "_build").exists() and (src / "intro.md").is_file()
    for chapter in CHAPTERS:
        page = _read(src / "exercises" / f"{chapter}.ipynb")
        code = "\n".join(c.source for c in page.cells if c.cell_type == "code")
        assert "raise NotImplementedError" in code and "grader" not in code and "otter" not in code
    reference = build.book_pages(instructor, tmp_path / "reference")
    assert sorted(p.stem for p in reference) == sorted(CHAPTERS)
    code = "\n".join(c.source for c in _read(reference[0]).cells if c.cell_type == "code")
    assert "NotImplementedError" not in code and "SOLUTION" not in code and "grader" not in code
