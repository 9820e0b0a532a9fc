"""`asyncdb-lab export`: the gradebook's scores as a file an LMS imports, or a plain table.

scores.py    every learner's score per notebook, from nbgrader's gradebook, overrides included
roster.py    the class list an LMS exported (Canvas's gradebook export, Moodle's grade export)
matching.py  which roster row is which gradebook student
layouts.py   the canvas, moodle and wide files, as rows
errors.py    ExportError
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from asyncdb_lab.course.manifest import Course
from asyncdb_lab.grading.export.errors import ExportError
from asyncdb_lab.grading.export.layouts import Sheet, canvas_sheet, moodle_sheet, wide_sheet
from asyncdb_lab.grading.export.matching import Matching, match_students
from asyncdb_lab.grading.export.roster import Roster, read_roster
from asyncdb_lab.grading.export.scores import ClassScores, read_scores

FORMATS = ("canvas", "moodle", "wide")
LISTED = 8  # names shown in one line of notes before "…"
_WHERE_TO_EXPORT = {
    "canvas": "Canvas's gradebook export (Grades → Export → Export Entire Gradebook)",
    "moodle": "Moodle's grade export (Grades → Export → Plain text file)",
}

__all__ = ["FORMATS", "ExportError", "ExportOutcome", "ExportRequest", "export_grades"]


@dataclass(frozen=True)
class ExportRequest:
    layout: str  # one of FORMATS
    gradebook: str  # SQLAlchemy URL
    out: Path
    roster: Path | None = None
    force: bool = False


@dataclass(frozen=True)
class ExportOutcome:
    path: Path
    students: int  # rows of people written
    notebooks: int
    notes: tuple[str, ...]  # one line each: who or what is not in the file, and why


def export_grades(request: ExportRequest, course: Course) -> ExportOutcome:
    """Write request.out, or raise ExportError having written nothing."""
    layout = request.layout
    if layout not in FORMATS:
        raise ExportError(f"no format {layout!r}: use --format canvas, moodle or wide", exit_code=2)
    if layout != "wide" and request.roster is None:
        raise ExportError(
            f"--format {layout} needs --roster: give {_WHERE_TO_EXPORT[layout]}, whose ids the "
            "LMS matches rows by (or use --format wide)",
            exit_code=2,
        )
    if request.out.is_dir():
        raise ExportError(f"{request.out} is a folder: give --out a file name", exit_code=2)
    if request.out.exists() and not request.force:
        raise ExportError(
            f"{request.out} already exists: pass --force to replace it, or --out another file",
            exit_code=2,
        )
    roster = read_roster(request.roster) if request.roster else None
    if roster is not None and layout != "wide" and roster.lms != layout:
        raise ExportError(
            f"{request.roster} is a {roster.lms.capitalize()} export, and --format {layout} "
            f"needs {_WHERE_TO_EXPORT[layout]}",
            exit_code=2,
        )
    scores = read_scores(request.gradebook, course)
    matching = match_students(scores.students, roster, scores.lms_ids) if roster else None
    if roster is None or matching is None or layout == "wide":
        sheet = wide_sheet(scores, roster, matching)
    elif layout == "canvas":
        sheet = canvas_sheet(scores, roster, matching)
    else:
        sheet = moodle_sheet(scores, roster, matching)
    _write(request.out, sheet)
    return ExportOutcome(
        path=request.out,
        students=sheet.students,
        notebooks=len(scores.notebooks),
        notes=tuple(_notes(layout, scores, roster, matching, sheet)),
    )


def _write(path: Path, sheet: Sheet) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(sheet.rows)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _notes(
    layout: str,
    scores: ClassScores,
    roster: Roster | None,
    matching: Matching | None,
    sheet: Sheet,
) -> list[str]:
    notes = []
    outcome = "still exported" if layout == "wide" else "not in this file"
    if roster is not None and matching is not None:
        unmatched = [
            student
            for student in scores.students
            if scores.has_work(student)
            and student not in matching.row_of
            and student not in matching.ambiguous
            and student not in matching.row_taken
        ]
        if unmatched:
            notes.append(
                f"{len(unmatched)} graded students are not in the roster {roster.path.name} "
                f"({outcome}): {_listed(unmatched)}; a student id must be the roster's user id, "
                "login, e-mail or SIS id, or the name as the LMS's download writes it (doejane)"
            )
        for student, rows in sorted(matching.ambiguous.items()):
            names = "; ".join(roster.people[row].label for row in rows)
            notes.append(
                f"{student} matches {len(rows)} roster rows ({names}) ({outcome}): grade with a "
                "--student-pattern that captures the LMS's user id"
            )
        for student, holder in sorted(matching.row_taken.items()):
            name = roster.people[matching.row_of[holder]].label
            notes.append(
                f"{student} and {holder} both match the roster row of {name}; only {holder}'s "
                f"scores are in its row ({student}: {outcome}): grade each learner under one id"
            )
    if sheet.left_out:
        notes.append(
            f"{len(sheet.left_out)} roster rows have no {sheet.rows[0][0]} and are left out, "
            f"as Moodle stops the whole import at a user it cannot find: {_listed(sheet.left_out)}"
        )
    if scores.needs_review:
        shown = _listed([f"{student}/{notebook}" for student, notebook in scores.needs_review])
        notes.append(
            f"{len(scores.needs_review)} submissions still need grading by hand in formgrader "
            f"and are exported with the score they have now: {shown}"
        )
    if scores.not_in_course:
        notes.append(
            f"the gradebook also holds {_listed(list(scores.not_in_course))}, not notebooks of "
            "data/course.yaml: not exported"
        )
    return notes


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f", … ({len(names) - LISTED} more)" if len(names) > LISTED else "")
