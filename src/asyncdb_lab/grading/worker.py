"""A grading worker: a long-lived process that runs nbgrader's autograde, one submission at a time.

    python -m asyncdb_lab.grading.worker --config grader/nbgrader_config.py --gradebook URL ...

It reads one request per line on stdin and answers one line on the file descriptor --reply-fd,
each a JSON message of messages.py (its stdout and stderr, and the kernels', go to its log).
Importing nbgrader takes seconds; a worker pays that once, not once per submission.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import os
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from asyncdb_lab.course.notebook import (
    NOT_RUN,
    exercise_names,
    exercise_of,
    hidden_test_lines,
    hidden_test_values,
    last_line,
    skip_iri_grammar,
)
from asyncdb_lab.course.verdict import cell_verdict
from asyncdb_lab.grading.messages import (
    TO_WORKER,
    Failed,
    Grade,
    Graded,
    KernelStarted,
    Prepare,
    Prepared,
    Ready,
    ToRunner,
    decode,
    encode,
)
from asyncdb_lab.grading.results import TestResult

skip_iri_grammar()  # before nbgrader (and so nbformat) is imported

PR_SET_PDEATHSIG = 1
RELEASE_DIGEST_FILE = ".asyncdb-lab-source"
MESSAGE_CHARS = 600
OUTPUT_CHARS = 2000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asyncdb_lab.grading.worker")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--gradebook", required=True)
    parser.add_argument("--release-dir", type=Path, required=True)
    parser.add_argument("--log-dir", type=Path, required=True)
    parser.add_argument("--reply-fd", type=int, required=True)
    args = parser.parse_args(argv)
    # Die with the grade command, even if it is killed with SIGKILL.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    replies = os.fdopen(args.reply_fd, "w", buffering=1)

    def send(message: ToRunner) -> None:
        replies.write(encode(message))

    worker = GradingWorker(args.config, args.gradebook, args.release_dir, args.log_dir, send)
    send(Ready(pid=os.getpid()))
    for line in sys.stdin:
        try:
            request = decode(line, TO_WORKER)
            if isinstance(request, Prepare):
                send(worker.prepare(request))
            else:
                send(worker.grade(request))
        except Exception:  # a bug here must not take the batch down: report it and go on
            send(Failed(error=traceback.format_exc()))
    return 0


class GradingWorker:
    """nbgrader's autograde in this process, for the requests the grade command sends."""

    def __init__(
        self,
        config_file: Path,
        gradebook: str,
        release_dir: Path,
        log_dir: Path,
        send: Callable[[ToRunner], None],
    ) -> None:
        from nbgrader.apps.api import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        self.gradebook = gradebook
        self.release_dir = release_dir
        self.log_dir = log_dir
        self.send = send
        config = load_config(config_file, gradebook)
        self.coursedir = CourseDirectory(config=config)
        self.api = NbGraderAPI(coursedir=self.coursedir, config=config)
        release_config = load_config(config_file, gradebook)
        release_config.CourseDirectory.release_directory = os.path.relpath(
            release_dir, self.coursedir.root
        )
        self.release_api = NbGraderAPI(
            coursedir=CourseDirectory(config=release_config), config=release_config
        )

    # -- preparing: the gradebook knows every assignment and student --------------------------

    def prepare(self, request: Prepare) -> Prepared:
        from nbgrader.api import Gradebook

        errors: dict[str, str] = {}
        for assignment in request.assignments:
            problem = self._ensure_assignment(assignment)
            if problem:
                errors[assignment] = problem
        with Gradebook(self.gradebook) as gradebook:
            for student in request.students:
                gradebook.update_or_create_student(student)
        return Prepared(errors=errors)

    def _ensure_assignment(self, assignment: str) -> str:
        """Record the assignment in the gradebook (nbgrader generate_assignment) if it changed."""
        from nbgrader.api import Gradebook, MissingEntry

        source = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", assignment))
        digest = source_digest(source / f"{assignment}.ipynb")
        marker = self.release_dir / assignment / RELEASE_DIGEST_FILE
        with Gradebook(self.gradebook) as gradebook:
            try:
                gradebook.find_notebook(assignment, assignment)
                recorded = True
            except MissingEntry:
                recorded = False
        if recorded and marker.is_file() and marker.read_text() == digest:
            return ""
        outcome = self.release_api.generate_assignment(assignment, force=True, create=True)
        self._write_log("_prepare", assignment, outcome)
        if not outcome["success"]:
            return (
                f"nbgrader generate_assignment failed: {nbgrader_failure(outcome)} (the whole "
                f"log: {self.log_dir / '_prepare' / assignment}.log)"
            )
        marker.write_text(digest)
        return ""

    # -- grading one submission ---------------------------------------------------------------

    def grade(self, request: Grade) -> Graded:
        import nbformat

        from asyncdb_lab.grading import context

        student, assignment = request.student, request.notebook
        problem = check_notebook(request.submitted)
        if problem:
            return Graded(status="rejected", reason=problem)
        release = nbformat.read(self.release_dir / assignment / f"{assignment}.ipynb", 4)
        job = context.Job(
            kernel_env=dict(request.env),
            sandbox=request.sandbox,
            deadline=time.monotonic() + request.time_limit,
            time_limit=request.time_limit,
            memory_limit=request.memory_limit,
            release_cells=[dict(cell) for cell in release.cells],
            on_kernel_start=lambda pid: self.send(KernelStarted(pid=pid)),
        )
        if request.due:
            self._set_due_date(assignment, request.due)
        started = time.monotonic()
        with context.grading(job):
            outcome = self.api.autograde(assignment, student, force=True, create=False)
        autograde_seconds = round(time.monotonic() - started, 2)
        self._write_log(student, assignment, outcome)
        execution = job.execution
        ran = Graded(
            status="error",
            integrity=tuple(job.integrity),
            stop=execution.stop,
            stop_kind=execution.stop_kind,
            tampering=first_findings(execution.tampering),
            output_capped=execution.output_capped,
            notes=tuple(execution.notes),
            timing={
                "kernel_start": execution.kernel_start_seconds,
                "cells": execution.cells_seconds,
                "autograde": autograde_seconds,
            },
        )
        if not outcome["success"]:
            return replace(ran, reason=f"nbgrader autograde failed: {nbgrader_failure(outcome)}")
        exercises = list(exercise_names(release))
        source = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", assignment))
        hidden = Hidden(
            hidden_test_lines(source / f"{assignment}.ipynb"),
            hidden_test_values(source / f"{assignment}.ipynb", nbformat.writes(release)),
        )
        tests = [TestResult(**test) for test in self._tests(student, assignment, exercises, hidden)]
        if execution.tampering:
            self._zero_for_review(student, assignment)
            for test in tests:
                test.points = 0.0
                if test.status == "passed":
                    test.status = "failed"
                    test.message = "not counted: this notebook changed how failures are reported"
        return replace(
            ran,
            status="graded",
            tests=tuple(tests),
            late_penalty=0.0 if execution.tampering else self._late_penalty(student, assignment),
        )

    def _set_due_date(self, assignment: str, due: str) -> None:
        """The due date nbgrader's late-submission plugin measures a timestamp.txt against."""
        import datetime

        from nbgrader.api import Gradebook

        with Gradebook(self.gradebook) as gradebook:
            gradebook.update_or_create_assignment(
                assignment, duedate=datetime.datetime.fromisoformat(due)
            )

    def _late_penalty(self, student: str, assignment: str) -> float:
        """What nbgrader's late-submission plugin (the course's configuration) took off: 0 unless
        the submission has a timestamp after the assignment's due date."""
        from nbgrader.api import Gradebook

        with Gradebook(self.gradebook) as gradebook:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            return float(notebook.late_submission_penalty or 0.0)

    def _tests(
        self, student: str, assignment: str, exercises: list[str], hidden: Hidden
    ) -> list[dict[str, Any]]:
        import nbformat
        from nbgrader.api import Gradebook

        with Gradebook(self.gradebook) as gradebook:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            grades = {
                grade.name: (float(grade.score or 0), float(grade.max_score))
                for grade in notebook.grades
            }
        graded = (
            Path(
                self.coursedir.format_path(self.coursedir.autograded_directory, student, assignment)
            )
            / f"{assignment}.ipynb"
        )
        cells = nbformat.read(graded, 4).cells if graded.is_file() else []
        tests = []
        for cell in cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            name = meta.get("grade_id")
            if not meta.get("grade") or name not in grades:
                continue
            points, max_points = grades.pop(name)
            outputs = cell.get("outputs", [])
            errors = [o for o in outputs if o.get("output_type") == "error"]
            if errors and errors[0].get("evalue", "").startswith("not run: "):
                status = NOT_RUN
            else:
                status = cell_verdict(outputs)  # what nbgrader scored too (ScoreByVerdict)
            tests.append(
                {
                    "name": name,
                    "exercise": exercise_of(name, exercises) or "",
                    "points": points,
                    "max_points": max_points,
                    "status": status,
                    "message": redact(failure_message(errors), hidden, name)
                    if status != "passed"
                    else "",
                    "output": redact(learner_output(cell), hidden, name),
                }
            )
        for name, (points, max_points) in grades.items():  # a grade cell missing from the output
            tests.append(
                {
                    "name": name,
                    "exercise": exercise_of(name, exercises) or "",
                    "points": points,
                    "max_points": max_points,
                    "status": NOT_RUN,
                    "message": "not run: the cell was not in the graded notebook",
                    "output": "",
                }
            )
        return tests

    def _zero_for_review(self, student: str, assignment: str) -> None:
        """Tampered with: nothing it earned can be trusted. Formgrader lists it for review."""
        from nbgrader.api import Gradebook

        with Gradebook(self.gradebook) as gradebook:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = True
            gradebook.db.commit()

    def _write_log(self, student: str, assignment: str, outcome: dict[str, Any]) -> None:
        folder = self.log_dir / student
        folder.mkdir(parents=True, exist_ok=True)
        text = outcome.get("log", "") + ("\n" + outcome["error"] if outcome.get("error") else "")
        (folder / f"{assignment}.log").write_text(text)


def load_config(config_file: Path, gradebook: str) -> Any:
    """The course's nbgrader configuration, with the grading pipeline's plug-ins."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )
    from traitlets.config.loader import PyFileConfigLoader

    from asyncdb_lab.grading.cells import CheckTestCells
    from asyncdb_lab.grading.execute import GradingExecute
    from asyncdb_lab.grading.verdict import ScoreByVerdict

    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    config.CourseDirectory.db_url = gradebook
    config.Autograde.sanitize_preprocessors = [
        ClearOutput,
        CheckTestCells,
        DeduplicateIds,
        OverwriteKernelspec,
        OverwriteCells,
        CheckCellMetadata,
    ]
    config.Autograde.autograde_preprocessors = [
        GradingExecute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        # Test cells are scored by the course's rule: they fail only if they raised.
        ScoreByVerdict,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    return config


def source_digest(path: Path) -> str:
    import nbgrader

    return hashlib.sha256(path.read_bytes() + nbgrader.__version__.encode()).hexdigest()


def first_findings(findings: list[str], shown: int = 4) -> tuple[str, ...]:
    """The first few distinct findings, and how many more there were."""
    distinct = list(dict.fromkeys(findings))
    if len(distinct) <= shown:
        return tuple(distinct)
    return (*distinct[:shown], f"and {len(distinct) - shown} more finding(s) of the same kind")


def check_notebook(path: Path) -> str:
    """'' if nbformat reads and validates the notebook, else why not, in one line."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        return f"not a valid notebook: {last_line(error.message)}"
    except Exception as error:
        return f"not a notebook nbformat can read: {last_line(str(error)) or type(error).__name__}"
    return ""


@dataclass(frozen=True)
class Hidden:
    """What feedback must not show of a notebook's hidden tests."""

    lines: set[str]  # their code (course.notebook.hidden_test_lines)
    # Their data the learner never saw, by test (course.notebook.hidden_test_values).
    values: dict[str, set[str]]


HIDDEN_VALUE = "[hidden]"


def redact(text: str, hidden: Hidden, test: str = "") -> str:
    """Learner code can print (or raise) the source of the test calling it, and a failure can
    quote a hidden test's data (its e-mail address, its trigger's message): neither reaches
    feedback. The message still says what went wrong, in general terms."""
    if not text:
        return text
    kept = [
        "[a line of a hidden test was removed]" if any(h in line for h in hidden.lines) else line
        for line in text.split("\n")
    ]
    text = "\n".join(kept)
    # Longest first, so that no fragment of a longer value is left; a value that starts or ends
    # with a letter or digit only as a whole word ("Pool" is hidden, "QueuePool" is not).
    for value in sorted(hidden.values.get(test, ()), key=len, reverse=True):
        start = r"\b" if value[0].isalnum() else ""
        end = r"\b" if value[-1].isalnum() else ""
        text = re.sub(start + re.escape(value) + end, HIDDEN_VALUE, text)
    return text


def failure_message(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return ""
    error = errors[0]
    text = f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".strip().rstrip(":")
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def learner_output(cell: Any) -> str:
    text = "".join(
        output.get("text", "")
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )
    return text if len(text) <= OUTPUT_CHARS else text[:OUTPUT_CHARS] + "\n[… output cut]"


def nbgrader_failure(outcome: dict[str, Any]) -> str:
    """The line of nbgrader's log that says what went wrong (not its 'see above')."""
    lines = f"{outcome.get('log', '')}\n{outcome.get('error', '')}".splitlines()
    errors = [
        line.strip()
        for line in lines
        if re.match(r"^[\w.]*(Error|Exception|Entry|Violation)\b[^:]*:", line.strip())
        and "the above traceback" not in line
    ]
    return (errors or [last_line(outcome.get("error", "")) or "no details"])[-1][:MESSAGE_CHARS]


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
