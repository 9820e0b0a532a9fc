"""`asyncdb-lab grade`: collect, grade what changed, keep every result, write the reports.

One run: find the submissions; reuse the results of those already graded and unchanged; hand the
rest to a session that grades them (session.py: worker processes and a private PostgreSQL on this
machine; cluster.py: the workers of a Dask cluster, with --cluster); then apply the manual grades
of formgrader and compare submissions. Whatever happens (a bad submission, a crash, Ctrl-C), the
workers, kernels, server and temporary folders go.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from asyncdb_lab.course import nbgrader_apps
from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.grading.collect import Candidate, Collector, Problem
from asyncdb_lab.grading.course_files import (
    CourseFiles,
    check_gradebook,
    concurrent_gradebook_url,
    graded_in_gradebook,
)
from asyncdb_lab.grading.manual_grades import apply_manual_grades
from asyncdb_lab.grading.options import GradeOptions, RunOutcome
from asyncdb_lab.grading.results import SubmissionResult
from asyncdb_lab.grading.run_folder import temporary_run_dir, terminate_as_interrupt
from asyncdb_lab.grading.session import GRADER_FORMAT, LocalSession, handed_in_stamp
from asyncdb_lab.grading.similar_submissions import similar_submissions
from asyncdb_lab.grading.store import ResultStore


def grade(options: GradeOptions) -> RunOutcome:
    started = time.monotonic()
    files = CourseFiles.read(options.config)
    notebooks = nbgrader_apps.assignments(files.source)
    unknown = sorted(set(options.notebooks) - set(notebooks))
    if unknown:
        raise AsyncDbLabError(
            f"no such notebook in {files.source}: {', '.join(unknown)} "
            f"(the course has {', '.join(notebooks)})"
        )
    options.out.mkdir(parents=True, exist_ok=True)
    with terminate_as_interrupt(), temporary_run_dir() as run_dir:
        collector = Collector(
            notebooks,
            only=options.notebooks,
            student_pattern=options.student_pattern,
            roster=_roster_ids(options.roster) if options.roster else None,
        )
        try:
            candidates, problems = collector.collect(options.submissions, run_dir)
        except (OSError, ValueError) as error:
            raise AsyncDbLabError(f"cannot read the submissions: {error}") from None
        _check_students(options.students, candidates, problems)
        store = ResultStore(options.out / "results")
        check_gradebook(options.gradebook or files.db_url, files.course_id)
        gradebook = concurrent_gradebook_url(options.gradebook or files.db_url)
        digests = {c: _digest(c, files, options) for c in candidates}
        in_gradebook = graded_in_gradebook(gradebook) if candidates else set()
        reused: list[SubmissionResult] = []
        todo: list[Candidate] = []
        left_out = 0
        for candidate in candidates:
            previous = store.load(candidate.student, candidate.notebook)
            asked_for = not options.students or candidate.student in options.students
            if previous is not None and (
                not asked_for
                or (not options.force and _still_valid(previous, digests[candidate], in_gradebook))
            ):
                previous.reused = True
                reused.append(previous)
            elif asked_for:
                todo.append(candidate)
            else:
                left_out += 1
        isolation = "no learner code ran in this run: every submission was already graded"
        graded: list[SubmissionResult] = []
        if todo:
            session = _session_kind(options)(options, files, gradebook, run_dir, store, digests)
            isolation = session.check_isolation()
            graded = session.run(todo)
        results = reused + graded + [_rejected(p, files) for p in problems]
        results.sort(key=lambda r: (r.student, r.notebook))
        if graded_in_gradebook(gradebook):
            apply_manual_grades(results, gradebook, files.course_id)
        similar = similar_submissions(
            candidates, {c.notebook: files.release_notebook(c.notebook) for c in candidates}
        )
        return RunOutcome(
            results,
            len(graded),
            len(reused),
            time.monotonic() - started,
            isolation,
            left_out,
            similar,
        )


def _session_kind(options: GradeOptions) -> type[LocalSession]:
    """Who grades: worker processes on this machine, or the Dask cluster of --cluster."""
    if options.cluster:
        from asyncdb_lab.grading.cluster import ClusterSession

        return ClusterSession
    return LocalSession


def _roster_ids(path: Path) -> Callable[[set[str]], list[str]]:
    """Read the roster now (a bad one stops the run, in one line, before any grading); match
    it to the students found later."""
    from asyncdb_lab.grading.export.matching import roster_ids
    from asyncdb_lab.grading.export.roster import read_roster

    roster = read_roster(path)
    return lambda found: roster_ids(roster, found)


def _check_students(
    students: list[str], candidates: list[Candidate], problems: list[Problem]
) -> None:
    known = {c.student for c in candidates} | {p.student for p in problems}
    unknown = sorted(set(students) - known)
    if unknown:
        shown = ", ".join(sorted(known)[:8]) + (", …" if len(known) > 8 else "")
        raise AsyncDbLabError(
            f"no submission from {', '.join(unknown)} in the submissions (students there: "
            f"{shown or 'none'}): check the id, as grades.csv spells it"
        )


def _still_valid(
    previous: SubmissionResult, digest: str, in_gradebook: set[tuple[str, str]]
) -> bool:
    if previous.digest != digest or previous.status == "error":
        return False
    return previous.status == "rejected" or previous.key in in_gradebook


def _digest(candidate: Candidate, files: CourseFiles, options: GradeOptions) -> str:
    parts = [
        GRADER_FORMAT,
        candidate.digest(),
        files.source_digest(candidate.notebook),
        f"{options.time_limit:g}",
        handed_in_stamp(candidate, options.deadline),
        str(options.memory_limit),
        "sandbox" if options.sandbox else "no-sandbox",
        str(options.database_limit),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _rejected(problem: Problem, files: CourseFiles) -> SubmissionResult:
    known = problem.notebook in nbgrader_apps.assignments(files.source)
    return SubmissionResult(
        student=problem.student,
        notebook=problem.notebook,
        status=problem.status,
        max_score=files.max_points(problem.notebook) if known else 0.0,
        reason=problem.reason,
        source=problem.source,
    )
