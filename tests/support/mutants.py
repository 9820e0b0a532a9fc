"""The wrong-answer suite: plausible wrong answers and correct alternatives, graded for real.

tests/wrong_answers/<notebook>.py defines, per exercise, WRONG_ANSWERS (each must lose points in a
hidden test of its own exercise and nowhere else) and CORRECT_ALTERNATIVES (each must keep full
marks). A wrong answer becomes one learner notebook: the course's learner version with every
exercise solved, except the case's exercise, which gets the case's source. Correct alternatives are
handed in together: the k-th alternative of every exercise in one notebook, as a learner who writes
every answer their own way would (and a notebook that keeps full marks keeps them for each).

A notebook's cases are graded together by `asyncdb-lab grade` (the instructors' command: sandbox,
fresh database per submission, parallel), and each is also run by `asyncdb-lab check`'s engine,
so that the two verdicts can be compared test by test.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import nbformat

from asyncdb_lab.course.misconceptions import load_misconceptions
from asyncdb_lab.course.notebook import BEGIN_HIDDEN_TESTS, nbgrader_meta, read_structure
from asyncdb_lab.settings import REPO
from support.nbgrader_course import write_course_config

SUITE = REPO / "tests" / "wrong_answers"
SECONDS: dict[str, tuple[int, float, float]] = {}  # notebook → (submissions, grade s, check s)
Kind = Literal["wrong", "alternative"]


@dataclass(frozen=True)
class Case:
    notebook: str
    exercise: str
    kind: Kind
    index: int
    label: str
    student: str  # the submission it is graded in
    sources: dict[str, str]  # exercise → the source of its solution cell, in that submission
    row: str  # its row in the table: the exercise, or all of a notebook's independent answers


@dataclass
class TestVerdict:
    __test__ = False

    grade_id: str
    exercise: str
    visible: bool
    hidden_part: bool  # the cell has hidden tests
    graded_full: bool
    checked: str  # asyncdb-lab check's status of the cell ("hidden" when it cannot see it)
    check_message: str = ""  # what check said of it


@dataclass
class Submission:
    student: str
    tests: dict[str, TestVerdict] = field(default_factory=dict)
    problem: str = ""  # why it has no per-test result, if so


@dataclass
class Outcome:
    case: Case
    submission: Submission

    def own(self) -> list[TestVerdict]:
        return [t for t in self.submission.tests.values() if t.exercise == self.case.exercise]

    def lost_in_hidden(self) -> list[str]:
        return [t.grade_id for t in self.own() if t.hidden_part and not t.graded_full]

    def collateral(self) -> list[str]:
        """Tests of exercises this submission did not change that lost points."""
        return [
            t.grade_id
            for t in self.submission.tests.values()
            if t.exercise not in self.case.sources and not t.graded_full
        ]

    def misconception_drift(self) -> str:
        """How data/misconceptions.yaml misstates this wrong answer's visible failures, or ""."""
        failed = {t.grade_id: t.check_message for t in self.own() if t.checked == "failed"}
        recorded = [
            m
            for m in load_misconceptions()
            if m.exercise == self.case.exercise and m.mistake == self.case.label
        ]
        if not failed and not recorded:
            return ""
        if len(recorded) == 1 and recorded[0].matches(failed):
            return ""
        said = recorded[0].fails if len(recorded) == 1 else f"{len(recorded)} entries"
        return (
            f"data/misconceptions.yaml records {said} for it, but check now fails "
            f"{failed or 'no visible test'}: run `make misconceptions`, commit the file"
        )

    def lost(self) -> list[str]:
        return [t.grade_id for t in self.submission.tests.values() if not t.graded_full]

    def disagreements(self) -> list[str]:
        """Visible tests that `check` and `grade` judged differently. `check` runs the visible
        part of a test cell; grading runs it and then the hidden part, so a cell that passes its
        grading passes its check, and one that fails its check fails its grading; for a cell
        without hidden tests, the two are the same run."""
        found = []
        for t in self.submission.tests.values():
            if not t.visible:
                continue
            check_passed = t.checked == "passed"
            agree = (
                check_passed == t.graded_full
                if not t.hidden_part
                else check_passed or not t.graded_full
            )
            if not agree:
                graded = "passed" if t.graded_full else "failed"
                found.append(f"{t.grade_id}: grade {graded}, check {t.checked}")
        return found

    @property
    def ok(self) -> bool:
        if self.submission.problem:
            return False
        if self.case.kind == "alternative":
            return not self.lost()
        return bool(self.lost_in_hidden()) and not self.collateral()


def _module(notebook: str) -> dict:
    path = SUITE / f"{notebook}.py"
    return runpy.run_path(str(path)) if path.exists() else {}


def notebooks() -> list[str]:
    return sorted(
        p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file()
    )


def cases(notebook: str) -> list[Case]:
    module = _module(notebook)
    wrong: dict[str, list[tuple[str, str]]] = module.get("WRONG_ANSWERS", {})
    alternatives: dict[str, list[tuple[str, str]]] = dict(module.get("CORRECT_ALTERNATIVES", {}))
    found = []
    independent = bool(module.get("INDEPENDENT"))
    row = f"each of {len(wrong)} answers" if independent else ""
    if independent:
        # Answers that cannot affect one another (notebook 12) share submissions: the k-th wrong
        # answer of every exercise in one half of the exercises goes in one notebook.
        halves = [sorted(wrong)[0::2], sorted(wrong)[1::2]]
        for half, group in enumerate(halves):
            for index in range(max((len(wrong[e]) for e in group), default=0)):
                student = f"wrong-{index}-half-{half}"
                sources = {e: wrong[e][index][1] for e in group if index < len(wrong[e])}
                found += [
                    Case(notebook, e, "wrong", index, wrong[e][index][0], student, sources, row)
                    for e in sources
                ]
    else:
        for exercise, answers in sorted(wrong.items()):
            for index, (label, source) in enumerate(answers):
                student = f"wrong-{exercise.lower()}-{index}"
                sources = {exercise: source}
                found.append(
                    Case(notebook, exercise, "wrong", index, label, student, sources, exercise)
                )
    if not independent:
        solved = _solutions(notebook)
        for exercise in sorted(wrong):
            logged = (
                "the solution, logging a warning in every call",
                logging_solution(solved[exercise]),
            )
            alternatives[exercise] = [*alternatives.get(exercise, []), logged]
    for exercise, answers in sorted(alternatives.items()):
        for index, (label, source) in enumerate(answers):
            student = f"alt-{index}"
            sources = {exercise: source}
            found.append(
                Case(
                    notebook,
                    exercise,
                    "alternative",
                    index,
                    label,
                    student,
                    sources,
                    row or exercise,
                )
            )
    return found


def logging_solution(source: str) -> str:
    """The solution cell, with a warning logged (to stderr) and a line printed at the start of every
    function and method it defines at its top level: what a learner who logs writes, which must
    cost nothing."""
    import ast

    lines = source.splitlines()
    inserts: list[tuple[int, str]] = []
    module = ast.parse(source)
    defined = [n for n in module.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for cls in (n for n in module.body if isinstance(n, ast.ClassDef)):
        defined += [n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for node in defined:
        first = node.body[0]
        docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        after = first.end_lineno if docstring and len(node.body) > 1 else first.lineno - 1
        anchor = node.body[1] if docstring and len(node.body) > 1 else first
        indent = " " * anchor.col_offset
        call = f"{node.name} called"
        inserts.append(
            (after, f"{indent}_logging.getLogger('learner').warning({call!r}); print({call!r})")
        )
    for at, line in sorted(inserts, reverse=True):
        lines.insert(at, line)
    return "import logging as _logging\n" + "\n".join(lines) + "\n"


def _solution(notebook: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "solutions" / notebook / f"{notebook}.ipynb", as_version=4)


def _solutions(notebook: str) -> dict[str, str]:
    """Exercise → the source of its solution cell."""
    cells = _solution(notebook).cells
    return {
        nbgrader_meta(c)["grade_id"]: c.source for c in cells if nbgrader_meta(c).get("solution")
    }


def learner_notebook(notebook: str, sources: dict[str, str]) -> nbformat.NotebookNode:
    """The learner version with every exercise solved, those in `sources` with that source."""
    solved = _solutions(notebook)
    learner = nbformat.read(release_path(notebook), as_version=4)
    for cell in learner.cells:
        if nbgrader_meta(cell).get("solution"):
            grade_id = nbgrader_meta(cell)["grade_id"]
            cell.source = sources.get(grade_id, solved[grade_id])
    return learner


def release_path(notebook: str) -> Path:
    return REPO / "notebooks" / notebook / f"{notebook}.ipynb"


def _test_cells(notebook: str) -> dict[str, tuple[bool, bool]]:
    """grade id → (the released cell has test code `check` runs, the cell has hidden tests)."""
    released = read_structure(nbformat.read(release_path(notebook), as_version=4))
    hidden = {
        nbgrader_meta(cell)["grade_id"]
        for cell in _solution(notebook).cells
        if nbgrader_meta(cell).get("grade") and BEGIN_HIDDEN_TESTS in cell.source
    }
    return {test.grade_id: (test.visible, test.grade_id in hidden) for test in released.tests}


def _check(path: str, reference: str) -> dict[str, tuple[str, str]]:
    """`asyncdb-lab check`'s verdict of every test cell and its message (run in a worker
    process)."""
    from asyncdb_lab.learner.check import check_notebook

    result = check_notebook(Path(path), reference=Path(reference))
    return {
        test.grade_id: (test.status, test.message) for ex in result.exercises for test in ex.tests
    }


JOBS = 3  # most of a submission's time is the notebook's own waits (timeouts, sleeps), not CPU


def grade_notebook(
    notebook: str, work: Path, jobs: int = JOBS, only: set[str] | None = None
) -> dict[str, Outcome]:
    """Grade every case of `notebook` (or those whose case id is in `only`) and check each;
    case id → outcome."""
    all_cases = [c for c in cases(notebook) if only is None or case_id(c) in only]
    submissions: dict[str, dict[str, str]] = {}
    for case in all_cases:
        submissions.setdefault(case.student, {}).update(case.sources)
    root = work / notebook
    (root / "submitted").mkdir(parents=True)
    root.chmod(0o755)
    for student, sources in submissions.items():
        folder = root / "submitted" / student
        folder.mkdir()
        nbformat.write(learner_notebook(notebook, sources), folder / f"{notebook}.ipynb")
    started = time.monotonic()
    graded = _grade(notebook, root, jobs)
    grading = time.monotonic() - started
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {
            student: pool.submit(
                _check,
                str(root / "submitted" / student / f"{notebook}.ipynb"),
                str(release_path(notebook)),
            )
            for student in submissions
        }
        checked = {student: future.result() for student, future in futures.items()}
    SECONDS[notebook] = (len(submissions), grading, time.monotonic() - started - grading)
    cells = _test_cells(notebook)
    results = {}
    for student in submissions:
        submission = Submission(student)
        summary = graded.get(student)
        if summary is None or not summary.get("tests"):
            reason = summary.get("reason", "") if summary else "not graded"
            submission.problem = f"no test results from grade ({reason})"
        else:
            for test in summary["tests"]:
                visible, hidden = cells.get(test["name"], (False, False))
                submission.tests[test["name"]] = TestVerdict(
                    test["name"],
                    test["exercise"],
                    visible,
                    hidden,
                    test["points"] == test["max_points"],
                    *checked[student].get(test["name"], ("missing", "")),
                )
        results[student] = submission
    return {case_id(c): Outcome(c, results[c.student]) for c in all_cases}


def case_id(case: Case) -> str:
    kind = "alt" if case.kind == "alternative" else "wrong"
    return f"{case.notebook}-{case.exercise}-{kind}{case.index}"


def _grade(notebook: str, root: Path, jobs: int) -> dict[str, dict]:
    """Run `asyncdb-lab grade` on root/submitted; student → its summary.json entry."""
    shutil.copytree(REPO / "solutions" / notebook, root / "solutions" / notebook)
    config = write_course_config(root)
    out = root / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCDB_LAB_")}
    env["ASYNCDB_LAB_QUIET"] = "1"
    command = [sys.executable, "-m", "asyncdb_lab.cli", "grade", str(root / "submitted")]
    command += ["--config", str(config), "--out", str(out), "--jobs", str(jobs)]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    summary_path = out / "summary.json"
    if not summary_path.exists():
        raise AssertionError(
            f"asyncdb-lab grade wrote no summary (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    summary = json.loads(summary_path.read_text())
    return {s["student"]: s for s in summary["submissions"] if s["notebook"] == notebook}


def new_workspace() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="asyncdb-lab-mutants-"))
    folder.chmod(0o755)
    return folder


def table(outcomes: list[Outcome]) -> str:
    """Per exercise: wrong answers caught of total, alternatives at full marks, and the visible
    tests on which `check` and `grade` disagreed (each submission counted once)."""
    rows: dict[tuple[str, str], list[int]] = {}
    disagreeing: dict[tuple[str, str], set[str]] = {}
    for outcome in outcomes:
        case = outcome.case
        key = (case.notebook, case.row)
        row = rows.setdefault(key, [0, 0, 0, 0, 0])
        at = 0 if case.kind == "wrong" else 2
        row[at] += outcome.ok
        row[at + 1] += 1
        found = {f"{case.student} {d}" for d in outcome.disagreements()}
        disagreeing.setdefault(key, set()).update(found)
    for key, found in disagreeing.items():
        rows[key][4] = len(found)
    line = "{:<30} {:<26} {:>9} {:>13} {:>12}"
    lines = [line.format("notebook", "exercise", "caught", "alternatives", "check≠grade")]
    totals = [0, 0, 0, 0, 0]
    for (notebook, exercise), row in sorted(rows.items()):
        lines.append(line.format(notebook, exercise, *_counts(row)))
        totals = [a + b for a, b in zip(totals, row, strict=True)]
    lines.append(line.format("all", f"{len(rows)} rows", *_counts(totals)))
    count = sum(n for n, _, _ in SECONDS.values())
    graded = sum(g for _, g, _ in SECONDS.values())
    checked = sum(c for _, _, c in SECONDS.values())
    lines.append(f"{count} submissions: graded in {graded:.0f} s, checked in {checked:.0f} s")
    return "\n".join(lines)


def _counts(row: list[int]) -> tuple[str, str, int]:
    return f"{row[0]}/{row[1]}", f"{row[2]}/{row[3]} full", row[4]
