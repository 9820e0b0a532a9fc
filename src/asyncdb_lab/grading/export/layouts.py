"""The three files, as rows of text: canvas, moodle and wide.

A notebook a learner did not hand in is a blank cell, never 0: both LMSs read a blank as "no
grade", and 0 would fail a learner the instructor may still excuse or accept late. Where the
gradebook has nothing but the roster holds a grade (entered in the LMS, or Canvas's "EX" for
excused), that grade is written back unchanged: an import compares each cell with what the LMS
holds, and a blank there would erase it (Canvas's GradebookImporter counts blank-over-a-score
as a change; Moodle's CSV import sets the grade to none).

canvas  Canvas's gradebook import layout (as its own export writes it, lib/gradebook_exporter.rb):
        Student, ID, SIS User ID, SIS Login ID, Section, one column per notebook titled as the
        roster titles it ("Title (assignment id)": the id makes Canvas update that assignment),
        else with the notebook's title (Canvas creates the assignment), a "    Points Possible"
        row, then one row per roster person in the roster's order.
moodle  Moodle's CSV grade import: the column that identifies the user (Email address, else ID
        number, else Username, whichever the roster has), then one column per notebook, titled
        like the roster's grade item or with the notebook's title. Moodle stops the whole import
        at a row whose user it cannot find, so a person without that identifier is left out.
wide    student, one column per notebook (its name), total: the gradebook as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asyncdb_lab.grading.export.matching import Matching
from asyncdb_lab.grading.export.roster import MOODLE_USER_COLUMNS, Person, Roster
from asyncdb_lab.grading.export.scores import ClassScores, NotebookColumn

CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "    Points Possible"  # Canvas's own spelling, leading spaces included
_MOODLE_FIELDS = {"Email address": "email", "ID number": "id_number", "Username": "username"}


@dataclass(frozen=True)
class Sheet:
    rows: list[list[str]]  # the header first
    students: int  # rows that are people
    left_out: list[str] = field(default_factory=list)  # roster people not written, and why


def points(value: float) -> str:
    """A score as the LMSs show one: at most two decimals, no trailing zeros (2.5, 3, 0.33)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def canvas_sheet(scores: ClassScores, roster: Roster, matching: Matching) -> Sheet:
    columns = _columns(scores.notebooks, roster)
    header = [*CANVAS_STUDENT_COLUMNS, *(title for _, title, _ in columns)]
    possible = [CANVAS_POINTS_POSSIBLE, "", "", "", ""]
    possible += [points(notebook.max_score) for notebook, _, _ in columns]
    student_of = matching.student_of()
    rows = [header, possible]
    for index, person in enumerate(roster.people):
        identity = [person.name, person.canvas_id, person.sis_user_id, person.login, person.section]
        rows.append(identity + _cells(scores, student_of.get(index), person, columns))
    return Sheet(rows=rows, students=len(roster.people))


def moodle_sheet(scores: ClassScores, roster: Roster, matching: Matching) -> Sheet:
    user_column = next(column for column in MOODLE_USER_COLUMNS if column in roster.columns)
    attribute = _MOODLE_FIELDS[user_column]
    columns = _columns(scores.notebooks, roster)
    student_of = matching.student_of()
    rows = [[user_column, *(title for _, title, _ in columns)]]
    left_out = []
    for index, person in enumerate(roster.people):
        user = getattr(person, attribute)
        if not user:
            left_out.append(person.label)
            continue
        rows.append([user, *_cells(scores, student_of.get(index), person, columns)])
    return Sheet(rows=rows, students=len(rows) - 1, left_out=left_out)


def wide_sheet(scores: ClassScores, roster: Roster | None, matching: Matching | None) -> Sheet:
    """Roster people first, in its order (named by their gradebook id once matched), then the
    gradebook's other students, sorted."""
    order: list[tuple[str, str | None]] = []
    if roster is not None and matching is not None:
        student_of = matching.student_of()
        for index, person in enumerate(roster.people):
            student = student_of.get(index)
            order.append((student or person.label, student))
    placed = {student for _, student in order}
    order += [(student, student) for student in scores.students if student not in placed]
    rows = [["student", *(notebook.name for notebook in scores.notebooks), "total"]]
    for label, student in order:
        got = [scores.score(student, notebook.name) for notebook in scores.notebooks]
        earned = [score for score in got if score is not None]
        total = points(sum(earned)) if earned else ""
        rows.append([label, *("" if score is None else points(score) for score in got), total])
    return Sheet(rows=rows, students=len(order))


def _columns(
    notebooks: tuple[NotebookColumn, ...], roster: Roster
) -> list[tuple[NotebookColumn, str, str | None]]:
    """Each notebook with its column title and the roster column it continues, if any."""
    columns = []
    for notebook in notebooks:
        existing = roster.column_for(notebook.name, notebook.title)
        columns.append((notebook, existing or notebook.title, existing))
    return columns


def _cells(
    scores: ClassScores,
    student: str | None,
    person: Person,
    columns: list[tuple[NotebookColumn, str, str | None]],
) -> list[str]:
    cells = []
    for notebook, _, existing in columns:
        score = scores.score(student, notebook.name)
        if score is not None:
            cells.append(points(score))
        else:
            cells.append(person.grade(existing) if existing else "")
    return cells
