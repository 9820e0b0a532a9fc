"""Check a learner's notebook: run it against a fresh database and judge every exercise.

The learner's notebook is read, never written. Its locked cells (setup and tests) are first
restored from the course's version, as nbgrader does when it grades, so an accidental edit to a
test cannot make it pass. Each test cell is judged by course/verdict.py's rule, the one grading
applies: it fails if and only if it raised. What it wrote to stderr does not fail it; the report
shows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import nbformat

from asyncdb_lab.course.hints import hint_for
from asyncdb_lab.course.misconceptions import describe, diagnose
from asyncdb_lab.course.notebook import (
    Structure,
    TestStatus,
    code_hash,
    nbgrader_meta,
    read_structure,
    restore_locked_cells,
)
from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.learner.execute import (
    CELL_TIMEOUT_SECONDS,
    TIMEOUT_ERROR,
    CellRun,
    NotebookRun,
    run_notebook,
)

ExerciseStatus = Literal["done", "failing", "not_started", "unchecked"]
NOT_STARTED_ERROR = "NotImplementedError"


@dataclass
class CheckedTest:
    grade_id: str
    points: float
    status: TestStatus
    description: str = ""
    message: str = ""
    hint: str = ""

    @property
    def earned(self) -> float:
        return self.points if self.status == "passed" else 0.0


@dataclass
class ExerciseResult:
    name: str
    status: ExerciseStatus
    tests: list[CheckedTest]
    message: str = ""
    hint: str = ""
    mistake: str = ""  # the known mistake its failures look like (course/misconceptions.py)

    @property
    def earned(self) -> float:
        return sum(t.earned for t in self.tests)

    @property
    def checkable(self) -> float:
        """Points of the test cells this notebook can run (not the hidden-only ones)."""
        return sum(t.points for t in self.tests if t.status != "hidden")

    @property
    def hidden(self) -> float:
        return sum(t.points for t in self.tests if t.status == "hidden")


@dataclass
class CheckResult:
    notebook: str
    path: str
    code_hash: str
    checked_at: str
    seconds: float
    exercises: list[ExerciseResult]
    # Things that went wrong outside the exercises: the setup cell, a demonstration, the kernel.
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(e.status == "done" for e in self.exercises)

    @property
    def done(self) -> int:
        return sum(e.status == "done" for e in self.exercises)

    @property
    def earned(self) -> float:
        return sum(e.earned for e in self.exercises)

    @property
    def checkable(self) -> float:
        return sum(e.checkable for e in self.exercises)

    @property
    def hidden(self) -> float:
        return sum(e.hidden for e in self.exercises)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        exercises = [
            ExerciseResult(**{**e, "tests": [CheckedTest(**t) for t in e["tests"]]})
            for e in data["exercises"]
        ]
        return cls(**{**data, "exercises": exercises})


def check_notebook(
    path: Path,
    *,
    reference: Path | None = None,
    name: str | None = None,
    timeout: int = CELL_TIMEOUT_SECONDS,
) -> CheckResult:
    """Run the notebook at `path` and judge its exercises.

    `reference` is the course's version of the notebook (notebooks/<topic>/<topic>.ipynb): its
    exercises and test cells are the ones that count, and its locked cells replace the learner's.
    Without it, the notebook's own cells are used.
    """
    learner = _read(path)
    course = _read(reference) if reference is not None else learner
    prepared, missing = restore_locked_cells(learner, course)
    structure = read_structure(course)
    # The course's stubs tell an exercise not yet started; without a course version, only a
    # NotImplementedError does.
    stubs = (
        {
            nbgrader_meta(c)["grade_id"]: c.source
            for c in course.cells
            if nbgrader_meta(c).get("solution")
        }
        if reference is not None
        else {}
    )
    run = run_notebook(prepared, path.parent, timeout=timeout)
    notebook_name = name or path.stem
    return CheckResult(
        notebook=notebook_name,
        path=str(path),
        code_hash=code_hash(learner),
        checked_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        seconds=round(run.seconds, 2),
        exercises=_judge(notebook_name, prepared, stubs, structure, run, missing),
        problems=_problems(prepared, run),
    )


def _read(path: Path) -> nbformat.NotebookNode:
    try:
        return nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise AsyncDbLabError(f"There is no notebook at {path}.") from None
    except Exception as error:  # nbformat raises several kinds for a damaged file
        raise AsyncDbLabError(
            f"{path} cannot be read as a notebook ({type(error).__name__}: {error}). If you "
            f"edited it outside JupyterLab, undo that edit, or `asyncdb-lab reset` it (your copy "
            f"is kept as a backup)."
        ) from None


def _judge(
    notebook: str,
    prepared: nbformat.NotebookNode,
    stubs: dict[str, str],
    structure: Structure,
    run: NotebookRun,
    missing: set[str],
) -> list[ExerciseResult]:
    cell_of = {
        nbgrader_meta(c)["grade_id"]: index
        for index, c in enumerate(prepared.cells)
        if "grade_id" in nbgrader_meta(c)
    }
    results = []
    for exercise in structure.exercises:
        tests = [
            _judge_test(notebook, test.grade_id, test.points, test.description, test.visible,
                        run.cells.get(cell_of.get(test.grade_id, -1)), test.grade_id in missing)
            for test in structure.tests_of(exercise)
        ]  # fmt: skip
        solution_index = cell_of.get(exercise)
        solution = prepared.cells[solution_index] if solution_index is not None else None
        results.append(
            _judge_exercise(
                notebook,
                exercise,
                tests,
                solution_source=solution.source if solution is not None else None,
                stub=stubs.get(exercise),
                solution_run=run.cells.get(solution_index) if solution_index is not None else None,
            )
        )
    return results


def _judge_test(
    notebook: str,
    grade_id: str,
    points: float,
    description: str,
    visible: bool,
    cell: CellRun | None,
    missing: bool,
) -> CheckedTest:
    result = CheckedTest(grade_id, points, "passed", description)
    if missing:
        result.status = "missing"
        result.message = (
            "This test cell is missing from your notebook, so it cannot be checked and will "
            "score nothing. `asyncdb-lab reset` gives you a fresh copy (yours is kept as a backup)."
        )
    elif not visible:
        result.status = "hidden"
    elif cell is None or cell.outcome == "not_run":
        result.status = "not_run"
        result.message = "This test cell did not run: the kernel stopped before it."
    elif cell.outcome == "error" and cell.ename == NOT_STARTED_ERROR:
        result.status = "not_started"
    elif cell.outcome == "error":
        result.status = "failed"
        result.message = describe_error(cell.ename, cell.evalue)
    elif cell.stderr.strip():
        last = cell.stderr.strip().splitlines()[-1]
        last = last if len(last) <= 300 else last[:299] + "…"
        result.message = (
            f"It wrote to stderr, which does not fail a test (the grader shows it to you too): "
            f"{last}"
        )
    if result.status in ("failed", "missing", "not_run"):
        result.hint = hint_for(notebook, grade_id)
    return result


def _judge_exercise(
    notebook: str,
    name: str,
    tests: list[CheckedTest],
    *,
    solution_source: str | None,
    stub: str | None,
    solution_run: CellRun | None,
) -> ExerciseResult:
    exercise = ExerciseResult(name, "done", tests)
    unchanged = (
        stub is not None
        and solution_source is not None
        and (solution_source.strip() == stub.strip())
    )
    if solution_source is None:
        exercise.status = "failing"
        exercise.message = (
            f"The code cell for {name} is missing from your notebook. `asyncdb-lab reset` gives "
            f"you a fresh copy (yours is kept as a backup, so you can copy your code back)."
        )
    elif (
        unchanged
        or any(t.status == "not_started" for t in tests)
        or (solution_run is not None and solution_run.ename == NOT_STARTED_ERROR)
    ):
        exercise.status = "not_started"
        exercise.message = (
            f"Not started: {name} still raises NotImplementedError. Replace "
            f"`raise NotImplementedError()` with your code, run the cell, then check again."
        )
        exercise.hint = hint_for(notebook, name)
        for test in tests:
            if test.status not in ("hidden", "missing"):
                test.status, test.message, test.hint = "not_started", "", ""
    elif solution_run is not None and solution_run.outcome == "error":
        exercise.status = "failing"
        exercise.message = (
            f"Your code cell for {name} raised "
            f"{describe_error(solution_run.ename, solution_run.evalue)}"
        )
    if exercise.status == "done":
        if any(t.status in ("failed", "missing", "not_run") for t in tests):
            exercise.status = "failing"
            failed = {t.grade_id: t.message for t in tests if t.status == "failed"}
            exercise.mistake = describe(diagnose(name, failed))
        elif not any(t.status == "passed" for t in tests):
            exercise.status = "unchecked"
            exercise.message = "Its tests are all hidden: it is checked when graded."
    return exercise


def _problems(prepared: nbformat.NotebookNode, run: NotebookRun) -> list[str]:
    problems = []
    for index, cell in enumerate(prepared.cells):
        meta = nbgrader_meta(cell)
        outcome = run.cells.get(index)
        if outcome is None or meta.get("grade") or meta.get("solution"):
            continue
        if outcome.outcome == "error":
            what = "The setup cell" if meta.get("locked") else "The cell"
            problems.append(
                f"{what} starting {_first_line(cell.source)!r} raised "
                f"{describe_error(outcome.ename, outcome.evalue)}"
                + (
                    " Nothing after it can work without it: run `asyncdb-lab backend` to see "
                    "which PostgreSQL the course uses here."
                    if meta.get("locked")
                    else ""
                )
            )
    if run.kernel_died:
        last = run.kernel_log.strip().splitlines()[-1:] or ["it left no message"]
        problems.append(
            f"The kernel died while running the notebook (out of memory, or a crash), so the "
            f"cells after that point did not run. Its last words: {last[0]}"
        )
    return problems


def describe_error(ename: str, evalue: str) -> str:
    """An exception as a person reads it: the assertion's message, or `Name: message`."""
    text = "\n".join(evalue.strip().splitlines()[:6])
    if len(text) > 600:
        text = text[:597] + "…"
    if ename == "AssertionError":
        return text or "an assert in the test failed (it gave no message)."
    if ename == TIMEOUT_ERROR:
        return (
            f"{text}: look for an await that never finishes, such as waiting for a connection "
            f"the pool never gets back."
        )
    return f"{ename}: {text}" if text else ename


def _first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    line = lines[0].strip() if lines else ""
    return line if len(line) <= 60 else line[:57] + "…"
