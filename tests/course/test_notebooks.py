"""Every notebook: shape, contract, no drift, full marks for the solution and zero for the learner
version. (Plausible wrong answers and correct alternatives: test_mutants.py.)

Notebooks are discovered in solutions/; the course manifest (data/course.yaml) is the exercise
contract.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from support.nbgrader_course import CellScore, TempCourse

from asyncdb_lab.course.manifest import course
from asyncdb_lab.settings import REPO

CONTRACT: dict[str, dict[str, tuple[str, ...]]] = {
    notebook.name: notebook.exercises for notebook in course().notebooks
}
ASSIGNMENTS = sorted(
    p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file()
)
HIDDEN = "### BEGIN HIDDEN TESTS"


def solution_path(assignment: str) -> Path:
    return REPO / "solutions" / assignment / f"{assignment}.ipynb"


def release_path(assignment: str) -> Path:
    return REPO / "notebooks" / assignment / f"{assignment}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {
        nbgrader_meta(c)["grade_id"]: c for c in notebook.cells if nbgrader_meta(c).get("solution")
    }


def grade_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {
        nbgrader_meta(c)["grade_id"]: c for c in notebook.cells if nbgrader_meta(c).get("grade")
    }


def exercise_of(test_grade_id: str, exercises: list[str]) -> str | None:
    matches = [e for e in exercises if test_grade_id.startswith(f"test_{e}_")]
    return max(matches, key=len) if matches else None


# -- grading, once per notebook ------------------------------------------------------------


@dataclass
class GradedNotebook:
    course: TempCourse
    generated_release: nbformat.NotebookNode
    students: dict[str, dict[str, CellScore]] = field(default_factory=dict)


class Grader:
    """Grades each notebook once, with plain nbgrader; while one is asked for, the next one in
    the tests' order is graded too (two at a time: most of the time is kernels waiting)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.results: dict[str, Future[GradedNotebook]] = {}

    def __call__(self, assignment: str) -> GradedNotebook:
        following = ASSIGNMENTS[ASSIGNMENTS.index(assignment) + 1 :]
        for name in [assignment, *following[:1]]:
            if name not in self.results:
                self.results[name] = self.pool.submit(self._grade, name)
        return self.results[assignment].result()

    def _grade(self, assignment: str) -> GradedNotebook:
        course = TempCourse(self.folder / assignment, assignment)
        release = read(course.generate())
        course.submit("solution", read(solution_path(assignment)))
        course.submit("untouched", release)
        course.autograde()
        graded = GradedNotebook(course, release)
        for student in ["solution", "untouched"]:
            graded.students[student] = course.scores(student)
        return graded

    def close(self) -> None:
        for future in self.results.values():
            future.cancel()
        self.pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def grade() -> Iterator[Grader]:
    folder = Path(tempfile.mkdtemp(prefix="asyncdb-lab-grading-"))
    grader = Grader(folder)
    try:
        yield grader
    finally:
        grader.close()
        shutil.rmtree(folder, ignore_errors=True)


# -- static checks ------------------------------------------------------------------------


def test_every_notebook_of_the_contract_exists_and_no_other():
    assert set(ASSIGNMENTS) == set(CONTRACT), set(ASSIGNMENTS) ^ set(CONTRACT)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebooks_are_committed_without_outputs(assignment: str):
    for path in (solution_path(assignment), release_path(assignment)):
        for cell in read(path).cells:
            if cell.cell_type == "code":
                assert not cell.outputs, f"{path.name}: a code cell has outputs"
                assert cell.execution_count is None, f"{path.name}: a cell has an execution count"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_match_the_contract(assignment: str):
    source, release = read(solution_path(assignment)), read(release_path(assignment))
    exercises = CONTRACT[assignment]
    solutions, stubs = solution_cells(source), solution_cells(release)
    assert set(exercises) <= set(solutions), f"missing exercises: {set(exercises) - set(solutions)}"
    tests = grade_cells(source)
    for exercise, signatures in exercises.items():
        for signature in signatures:
            assert signature in solutions[exercise].source, f"{exercise}: {signature!r} missing"
            assert signature in stubs[exercise].source, f"{exercise} stub: {signature!r} missing"
        assert "raise NotImplementedError()" in stubs[exercise].source
        own = [c for gid, c in tests.items() if exercise_of(gid, list(exercises)) == exercise]
        assert any(HIDDEN in c.source for c in own), f"{exercise} has no hidden tests"
        assert any(_visible_code(c.source) for c in own), f"{exercise} has no visible test code"
    for grade_id, cell in tests.items():
        assert exercise_of(grade_id, list(exercises)), f"{grade_id} names no exercise"
        assert re.fullmatch(r"test_\w+", grade_id)
        assert nbgrader_meta(cell).get("locked") is True
        points = nbgrader_meta(cell).get("points")
        assert isinstance(points, int) and points > 0, f"{grade_id} has no points"
        assert cell.source.startswith('"""Check that '), f"{grade_id}: start with a docstring"


def _visible_code(source: str) -> bool:
    visible = source.split(HIDDEN)[0]
    lines = [line for line in visible.splitlines() if line.strip()]
    return len(lines) > 1  # more than the docstring


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_has_the_course_shape(assignment: str):
    notebook = read(solution_path(assignment))
    markdown = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    opening = markdown[0]
    assert opening.startswith("# **"), "open with a bold title"
    for heading in ("**Learning goals**", "**Prerequisites**", "**Out of scope**"):
        assert heading in opening, f"the opening lacks {heading}"
    text = "\n".join(markdown)
    for heading in ("## Setup", "## Summary", "## Interview questions", "## Further reading"):
        assert heading in text, f"missing {heading}"
    assert "<details>" in text, "interview answers go in a collapsed <details>"
    assert "Common mistake" in text, "each erratum of the topic appears as a Common mistake"
    assert "asyncio.run(" not in "\n".join(
        c.source for c in notebook.cells if c.cell_type == "code" and assignment != "00_start_here"
    ), "never asyncio.run() inside a notebook"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_part_points_add_up_to_their_test_cells(assignment: str):
    notebook = read(solution_path(assignment))
    declared: dict[str, int] = {}
    counted: dict[str, int] = {}
    part = None
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found = re.search(r"^## (Part \w+) — .*\((\d+) points?\)", cell.source, flags=re.M)
            if found:
                part = found.group(1)
                declared[part] = int(found.group(2))
                counted[part] = 0
        elif nbgrader_meta(cell).get("grade") and part is not None:
            counted[part] += nbgrader_meta(cell)["points"]
    assert declared, "no '## Part A — … (N points)' headings"
    assert declared == counted


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_code_cell_says_why_before_how(assignment: str):
    cells = read(solution_path(assignment)).cells
    for previous, cell in itertools.pairwise(cells):
        if cell.cell_type != "code":
            continue
        first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
        explained = previous.cell_type == "markdown" or first.startswith(("#", '"""'))
        assert explained, f"a code cell without a why before it: {cell.source[:80]!r}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_learner_notebook_holds_no_solution_or_hidden_test_text(assignment: str):
    source, release = read(solution_path(assignment)), read(release_path(assignment))
    released_text = "\n".join(c.source for c in release.cells)
    released_lines = {line.strip() for line in released_text.splitlines()}
    public_lines = set()
    secret_lines = set()
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            marker = line.strip()
            if marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                inside = True
            elif marker in ("### END SOLUTION", "### END HIDDEN TESTS"):
                inside = False
            elif inside:
                secret_lines.add(marker)
            else:
                public_lines.add(marker)
    distinctive = {line for line in secret_lines - public_lines if len(line) >= 16}
    leaked = sorted(distinctive & released_lines)
    assert not leaked, f"solution or hidden-test lines in the learner notebook: {leaked[:5]}"
    assert "BEGIN SOLUTION" not in released_text and "BEGIN HIDDEN TESTS" not in released_text


# -- execution and grading -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_runs_top_to_bottom_under_nbval_lax(assignment: str):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-cell-timeout=60",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-W",
            "ignore::DeprecationWarning",
            str(solution_path(assignment)),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**_quiet_env()},
    )
    assert result.returncode == 0, result.stdout[-4000:]


def _quiet_env() -> dict[str, str]:
    import os

    return {**os.environ, "ASYNCDB_LAB_QUIET": "1"}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_is_exactly_what_its_source_builds(assignment: str):
    from asyncdb_lab.cli.release import built_solution
    from asyncdb_lab.course.authoring import render

    assert solution_path(assignment).read_text() == render(built_solution(assignment)), (
        f"solutions/{assignment} differs from what its source builds: edit sources/{assignment}.py"
        " (notebook 12: data/questions.yaml), never the .ipynb, then run `make notebooks`"
    )


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_exactly_what_nbgrader_generates(assignment: str, grade):
    generated = grade(assignment).generated_release
    committed = read(release_path(assignment))
    assert nbformat.writes(generated) == nbformat.writes(committed), (
        f"notebooks/{assignment} differs from what nbgrader generates: run `make notebooks`"
    )


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks(assignment: str, grade):
    scores = grade(assignment).students["solution"]
    lost = {gid: s for gid, s in scores.items() if s.score != s.max_score}
    assert scores and not lost, f"the solution loses points in {sorted(lost)}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_learner_notebook_scores_zero_and_runs_everything_else(assignment: str, grade):
    graded = grade(assignment)
    scores = graded.students["untouched"]
    earned = {gid: s.score for gid, s in scores.items() if s.score}
    assert scores and not earned, f"the untouched notebook earns points in {earned}"
    notebook = graded.course.autograded("untouched")
    for cell in notebook.cells:
        if (
            cell.cell_type != "code"
            or nbgrader_meta(cell).get("solution")
            or nbgrader_meta(cell).get("grade")
        ):
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"a setup or demonstration cell fails: {cell.source[:80]!r}"
