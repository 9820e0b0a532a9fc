"""The class list as the LMS exported it: Canvas's gradebook export, or Moodle's grade export.

Canvas (Grades → Export): Student ("Last, First"), ID (the Canvas user id), SIS User ID, SIS
Login ID, Section, then one column per assignment titled "Title (assignment id)", a
"    Points Possible" row first, and a "Manual Posting" row when some grades are hidden
(lib/gradebook_exporter.rb in instructure/canvas-lms; the importer recognises the file by
"Student" and "ID" first and "Section" last, app/models/gradebook_importer.rb).
Moodle (Export → Plain text file): First name, Last name, ID number, Institution, Department,
Email address, then one column per grade item titled "Module: Name (Real)"; its assignment
grading worksheet (Identifier, Full name, Email address, …) reads as well.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from asyncdb_lab.grading.export.errors import ExportError

Lms = Literal["canvas", "moodle"]

CANVAS_IDENTITY = frozenset(
    {
        "Student",
        "LastName",
        "FirstName",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Integration ID",
        "Root Account",
        "Section",
    }
)
MOODLE_IDENTITY = frozenset(
    {
        "First name",
        "Last name",
        "Full name",
        "Identifier",
        "ID number",
        "Username",
        "Institution",
        "Department",
        "Email address",
    }
)
MOODLE_USER_COLUMNS = ("Email address", "ID number", "Username")
# What the LMSs write in a cell without a grade: blank, Moodle's "-", Canvas's "N/A" (not assigned).
NO_GRADE = frozenset({"", "-", "N/A"})
_CANVAS_ASSIGNMENT_ID = re.compile(r"\s*\(\d+\)$")
_MOODLE_DISPLAY_TYPE = re.compile(r"\s*\((Real|Percentage|Letter)\)$")
_MOODLE_MODULE = re.compile(r"^[^:]+:\s+")


@dataclass(frozen=True)
class Person:
    cells: Mapping[str, str]  # the roster's own row, by column title
    name: str  # Canvas: "Doe, Jane"; Moodle: "Jane Doe"
    canvas_id: str = ""
    sis_user_id: str = ""
    login: str = ""
    section: str = ""
    email: str = ""
    id_number: str = ""
    username: str = ""
    first_name: str = ""
    last_name: str = ""

    def grade(self, column: str) -> str:
        """What the LMS holds in this column for this person, '' when no grade."""
        value = self.cells.get(column, "").strip()
        return "" if value in NO_GRADE else value

    @property
    def label(self) -> str:
        """Who this is, for people: the name, else the first identifier there is."""
        for value in (self.name, self.login, self.email, self.username, self.id_number):
            if value:
                return value
        return self.canvas_id


@dataclass(frozen=True)
class Roster:
    path: Path
    lms: Lms
    columns: tuple[str, ...]  # every column title, in the file's order
    people: tuple[Person, ...]

    def column_for(self, name: str, title: str) -> str | None:
        """The roster's existing column for a notebook: titled with its name (00_start_here) or
        its title, with or without its number, once the LMS's additions are taken off."""
        wanted = {_squashed(name), _squashed(title), _squashed(f"{name[:2]} {title}")}
        identity = CANVAS_IDENTITY if self.lms == "canvas" else MOODLE_IDENTITY
        for column in self.columns:
            if column not in identity and _squashed(self._bare(column)) in wanted:
                return column
        return None

    def _bare(self, column: str) -> str:
        if self.lms == "canvas":
            return _CANVAS_ASSIGNMENT_ID.sub("", column)
        return _MOODLE_MODULE.sub("", _MOODLE_DISPLAY_TYPE.sub("", column))


def read_roster(path: Path) -> Roster:
    rows = _rows(path)
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ExportError(f"the roster {path} is empty: give the CSV your LMS's grade export wrote")
    columns = tuple(cell.strip() for cell in rows[0])
    lms = _lms_of(columns, path)
    people = []
    for row in rows[1:]:
        if _not_a_person(row):
            continue
        cells = dict(zip(columns, (cell.strip() for cell in row), strict=False))
        people.append(_canvas_person(cells) if lms == "canvas" else _moodle_person(cells))
    return Roster(path=path, lms=lms, columns=columns, people=tuple(people))


def _rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ExportError(
            f"no roster at {path}: give the CSV your LMS's gradebook export wrote"
        ) from None
    except UnicodeDecodeError:
        raise ExportError(
            f"cannot read the roster {path}: it is not UTF-8 text; save it as CSV (UTF-8) and "
            "try again"
        ) from None
    except OSError as error:
        raise ExportError(f"cannot read the roster {path}: {error.strerror}") from None
    lines = text.splitlines()
    first = lines[0] if lines else ""
    # Canvas writes ';' under some locales and Moodle lets the teacher pick the separator.
    delimiter = max((",", ";", "\t"), key=lambda sep: len(next(csv.reader([first], delimiter=sep))))
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as error:
        raise ExportError(
            f"cannot read the roster {path}: line {reader.line_num}: {error}; give the CSV file "
            "as your LMS exported it"
        ) from None


def _lms_of(columns: tuple[str, ...], path: Path) -> Lms:
    names_first = len(columns) > 1 and "Student" in columns[0] and "ID" in columns[1]
    split_names = len(columns) > 2 and columns[:3] == ("LastName", "FirstName", "ID")
    if (names_first or split_names) and "Section" in columns:
        return "canvas"
    if any(column in columns for column in MOODLE_USER_COLUMNS):
        return "moodle"
    raise ExportError(
        f"cannot read the roster {path}: its first row has neither Canvas's columns (Student, "
        "ID, …, Section) nor Moodle's (Email address or ID number): give the file Canvas "
        "(Grades → Export) or Moodle (Export → Plain text file) wrote"
    )


def _not_a_person(row: list[str]) -> bool:
    if not any(cell.strip() for cell in row):
        return True
    if "Points Possible" in row[0]:
        return True
    # Canvas's row saying which assignments post grades by hand (its importer skips it too).
    return all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", cell, re.I) for cell in row)


def _canvas_person(cells: dict[str, str]) -> Person:
    if "LastName" in cells:
        last, first = cells.get("LastName", ""), cells.get("FirstName", "")
        name = f"{last}, {first}" if last and first else last or first
    else:
        name = cells.get("Student", "")
        last, _, first = name.partition(", ")
    return Person(
        cells=cells,
        name=name,
        canvas_id=cells.get("ID", ""),
        sis_user_id=cells.get("SIS User ID", ""),
        login=cells.get("SIS Login ID", ""),
        section=cells.get("Section", ""),
        first_name=first,
        last_name=last,
    )


def _moodle_person(cells: dict[str, str]) -> Person:
    first, last = cells.get("First name", ""), cells.get("Last name", "")
    name = cells.get("Full name", "") or " ".join(part for part in (first, last) if part)
    return Person(
        cells=cells,
        name=name,
        email=cells.get("Email address", ""),
        id_number=cells.get("ID number", ""),
        username=cells.get("Username", ""),
        first_name=first,
        last_name=last,
    )


def _squashed(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())
