"""Which roster row is which gradebook student.

A gradebook student id is what the collector took from a file or folder name (collect.py): for
a Canvas download, `doejane_1234_5678_00_start_here.ipynb`, that is `doejane` by default, or the
Canvas user id 1234 with a --student-pattern that captures it. Canvas names a download after
the learner's sortable name, lower case, keeping only letters, digits and _ ("Doe, Jane" →
doejane; lib/content_zipper.rb in instructure/canvas-lms), so that is one of the keys here.

Keys are tried strongest first, and the first kind that names any row decides:
  1. the Canvas user id (or nbgrader's lms_user_id for the student);
  2. an identifier: SIS user id, login, e-mail address, Moodle ID number or username;
  3. a derived name: the part of a login or e-mail before "@", the name as Canvas writes it in
     downloads (doejane), or the full name squashed the same way (janedoe).
Keys 2 and 3 ignore case. A student whose key names several rows is ambiguous and matched to
none; a row named by several students goes to the one with the strongest key (then the first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from asyncdb_lab.grading.export.roster import Person, Roster

KEY_KINDS = 3


@dataclass(frozen=True)
class Matching:
    row_of: Mapping[str, int]  # gradebook student → index of its row in roster.people
    ambiguous: Mapping[str, tuple[int, ...]]  # student → the rows its key names
    row_taken: Mapping[str, str]  # student → the student who got the row it matches

    def student_of(self) -> dict[int, str]:
        return {row: student for student, row in self.row_of.items()}


def download_name(sortable_name: str) -> str:
    """The name Canvas puts first in a submissions download: doejane for "Doe, Jane"."""
    name = re.sub(r"_(\d+)_", r"\1", sortable_name).lower()
    return re.sub(r"\W", "", name)


def match_students(students: Iterable[str], roster: Roster, lms_ids: Mapping[str, str]) -> Matching:
    keys = [_keys_of(person) for person in roster.people]
    found: list[tuple[int, str, int]] = []  # (kind of key, student, row)
    ambiguous: dict[str, tuple[int, ...]] = {}
    for student in students:
        wanted = (
            {student, lms_ids.get(student, "")} - {""},
            {student.casefold()},
            {student.casefold()},
        )
        for kind in range(KEY_KINDS):
            rows = tuple(
                row for row, person_keys in enumerate(keys) if person_keys[kind] & wanted[kind]
            )
            if len(rows) == 1:
                found.append((kind, student, rows[0]))
            elif rows:
                ambiguous[student] = rows
            if rows:
                break
    row_of: dict[str, int] = {}
    holder: dict[int, str] = {}
    row_taken: dict[str, str] = {}
    for _, student, row in sorted(found):
        if row in holder:
            row_taken[student] = holder[row]
        else:
            holder[row] = student
            row_of[student] = row
    return Matching(row_of=row_of, ambiguous=ambiguous, row_taken=row_taken)


def _keys_of(person: Person) -> tuple[set[str], set[str], set[str]]:
    identifiers = (
        person.sis_user_id,
        person.login,
        person.email,
        person.id_number,
        person.username,
    )
    derived = {value.partition("@")[0] for value in (person.login, person.email) if "@" in value}
    if person.last_name and person.first_name:
        derived.add(download_name(f"{person.last_name}, {person.first_name}"))
    derived.add(download_name(person.name))
    return (
        {person.canvas_id} - {""},
        {value.casefold() for value in identifiers if value},
        {value.casefold() for value in derived if value},
    )


def roster_ids(roster: Roster, students: Iterable[str]) -> list[str]:
    """The ids, in the style of `students` (those a grading run found), of the roster's people
    none of them matches: the students who handed in nothing at all. A Canvas user id when the
    ids found are numbers (a --student-pattern that captured it), else the name as Canvas writes
    it in downloads, else a login, e-mail, ID number or username."""
    found = list(students)
    matched = set(match_students(found, roster, {}).row_of.values())
    numeric = bool(found) and all(student.isdigit() for student in found)
    ids = []
    for row, person in enumerate(roster.people):
        if row in matched:
            continue
        candidates = (
            person.canvas_id if numeric else "",
            download_name(person.name) if person.name else "",
            person.login,
            person.email,
            person.id_number,
            person.username,
            person.canvas_id,
        )
        ids.append(next((value for value in candidates if value), person.label))
    return ids
