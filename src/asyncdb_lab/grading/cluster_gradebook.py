"""A submission's gradebook entry, carried from a Dask worker's scratch gradebook to the course's.

On a cluster, nbgrader's autograde writes into a gradebook private to the Dask worker (the
course's may be an SQLite file on the instructor's machine). What it wrote for one submission,
read there with `read_record`, is written into the course's gradebook by the grade command with
`write_record`, once per submission, whatever the worker that graded it.

    record = read_record(scratch_url, "alice", "00_start_here")      # on the Dask worker
    write_record(course_url, "my-course", "alice", "00_start_here", record)   # on the client
"""

from __future__ import annotations

import datetime
import warnings
from dataclasses import dataclass

DEFAULT_COURSE_ID = "default_course"  # nbgrader's own, when the configuration sets none


@dataclass(frozen=True)
class GradedCell:
    name: str  # the grade id
    auto_score: float | None
    needs_manual_grade: bool


@dataclass(frozen=True)
class CommentedCell:
    name: str
    auto_comment: str | None


@dataclass(frozen=True)
class GradebookRecord:
    """What autograde stored for one (student, notebook): nbgrader's own fields."""

    timestamp: datetime.datetime | None  # the hand-in time nbgrader read from timestamp.txt
    grades: tuple[GradedCell, ...]
    comments: tuple[CommentedCell, ...]
    late_penalty: float | None


def read_record(db_url: str, student: str, notebook: str) -> GradebookRecord:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        submission = gradebook.find_submission(notebook, student)
        entry = gradebook.find_submission_notebook(notebook, notebook, student)
        return GradebookRecord(
            timestamp=submission.timestamp,
            grades=tuple(
                GradedCell(grade.name, grade.auto_score, bool(grade.needs_manual_grade))
                for grade in entry.grades
            ),
            comments=tuple(
                CommentedCell(comment.name, comment.auto_comment) for comment in entry.comments
            ),
            late_penalty=entry.late_submission_penalty,
        )


def write_record(
    db_url: str, course_id: str, student: str, notebook: str, record: GradebookRecord
) -> None:
    """Record the submission as autograde would have (the notebook must be in the gradebook:
    nbgrader generate_assignment). An instructor's manual scores and comments are kept."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with (
        warnings.catch_warnings(),
        Gradebook(db_url, course_id=course_id or DEFAULT_COURSE_ID) as gradebook,
    ):
        # nbgrader's add_submission warns about its own autoflush (as in every autograde).
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(student)
        gradebook.update_or_create_submission(notebook, student, timestamp=record.timestamp)
        entry = gradebook.find_submission_notebook(notebook, notebook, student)
        for cell in record.grades:
            grade = gradebook.find_grade(cell.name, notebook, notebook, student)
            grade.auto_score = cell.auto_score
            grade.needs_manual_grade = cell.needs_manual_grade
        for note in record.comments:
            comment = gradebook.find_comment(note.name, notebook, notebook, student)
            comment.auto_comment = note.auto_comment
        entry.late_submission_penalty = record.late_penalty
        gradebook.db.commit()


def set_due_date(db_url: str, course_id: str, notebook: str, due: str) -> None:
    """The due date (naive UTC, ISO) nbgrader's late-submission plugin measures against."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id=course_id or DEFAULT_COURSE_ID) as gradebook:
        gradebook.update_or_create_assignment(
            notebook, duedate=datetime.datetime.fromisoformat(due)
        )
