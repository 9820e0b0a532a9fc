"""Every learner's score per notebook, as nbgrader's gradebook holds it, hand overrides included.

Read through nbgrader's own API, so its rule is the rule (nbgrader/api.py): a Grade's score is
its manual_score when one is set (formgrader), else its auto_score, plus any extra credit; a
submission's score is the sum of its grades. The late penalty comes off, floored at 0, as
nbgrader's own CSV exporter does (nbgrader/plugins/export.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from asyncdb_lab.course.manifest import Course
from asyncdb_lab.grading.export.errors import ExportError


@dataclass(frozen=True)
class NotebookColumn:
    name: str  # the assignment (and notebook) name, e.g. 00_start_here
    title: str  # from data/course.yaml
    max_score: float


@dataclass(frozen=True)
class ClassScores:
    notebooks: tuple[NotebookColumn, ...]  # the course's notebooks the gradebook knows, in order
    students: tuple[str, ...]  # every student in the gradebook, sorted
    scores: Mapping[tuple[str, str], float]  # (student, notebook) → score; absent: no submission
    lms_ids: Mapping[str, str]  # student → nbgrader's lms_user_id, where one is set
    needs_review: tuple[tuple[str, str], ...]  # (student, notebook) formgrader still flags
    not_in_course: tuple[str, ...]  # assignments of the gradebook that are not course notebooks

    def score(self, student: str | None, notebook: str) -> float | None:
        return None if student is None else self.scores.get((student, notebook))

    def has_work(self, student: str) -> bool:
        return any(self.score(student, column.name) is not None for column in self.notebooks)


def read_scores(db_url: str, course: Course) -> ClassScores:
    check_gradebook(db_url)
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        assignments = {assignment.name: assignment for assignment in gradebook.assignments}
        columns = tuple(
            NotebookColumn(
                notebook.name, notebook.title, float(assignments[notebook.name].max_score)
            )
            for notebook in course.notebooks
            if notebook.name in assignments
        )
        scores: dict[tuple[str, str], float] = {}
        needs_review: list[tuple[str, str]] = []
        for column in columns:
            for submission in gradebook.assignment_submissions(column.name):
                penalty = submission.late_submission_penalty or 0.0
                key = (submission.student_id, column.name)
                scores[key] = max(0.0, float(submission.score) - penalty)
                if submission.needs_manual_grade:
                    needs_review.append(key)
        students = gradebook.students
        return ClassScores(
            notebooks=columns,
            students=tuple(sorted(student.id for student in students)),
            scores=scores,
            lms_ids={s.id: s.lms_user_id for s in students if s.lms_user_id},
            needs_review=tuple(sorted(needs_review)),
            not_in_course=tuple(sorted(set(assignments) - set(course.names))),
        )


def check_gradebook(db_url: str) -> None:
    """Refuse a URL that holds no gradebook before nbgrader opens it: nbgrader would create an
    empty one there, and the export would be a file of blanks."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        url = make_url(db_url)
    except ArgumentError:
        raise ExportError(
            f"{db_url!r} is not a database URL: give --gradebook like sqlite:///grader/gradebook.db"
        ) from None
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not url.database or not path.is_file():
            raise ExportError(
                f"no gradebook at {url.database or shown}: grade first (asyncdb-lab grade), or "
                "give the gradebook's URL with --gradebook"
            )
    try:
        engine = create_engine(url)
        try:
            tables = inspect(engine).get_table_names()
        finally:
            engine.dispose()
    except (SQLAlchemyError, ImportError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ExportError(f"cannot open the gradebook {shown}: {reason}") from None
    if "submitted_assignment" not in tables:
        raise ExportError(
            f"{shown} is not an nbgrader gradebook (it has no submitted_assignment table): give "
            "the one asyncdb-lab grade wrote, with --gradebook"
        )
