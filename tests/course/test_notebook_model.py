"""course/notebook.py: the one reading of an nbgrader notebook, for checks and for grading."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat

from asyncdb_lab.course.notebook import (
    BEGIN_HIDDEN_TESTS,
    END_HIDDEN_TESTS,
    NOT_RUN,
    exercise_names,
    exercise_of,
    grade_id,
    hidden_test_lines,
    last_line,
    locked_cell_changes,
    locked_cells,
    nbgrader_meta,
    skip_iri_grammar,
    status_words,
)
from asyncdb_lab.settings import REPO

RELEASE = REPO / "notebooks" / "00_start_here" / "00_start_here.ipynb"


def test_a_test_belongs_to_the_longest_exercise_name_that_fits_and_else_to_none():
    exercises = ["count", "count_users", "make_engine"]
    assert exercise_of("test_count_users_seed", exercises) == "count_users"
    assert exercise_of("test_count_all", exercises) == "count"
    assert exercise_of("test_make_engine_url", exercises) == "make_engine"
    assert exercise_of("test_other_thing", exercises) is None
    assert exercise_of("count_users", exercises) is None  # an answer cell, not a test
    assert exercise_of("test_count_users", ["count_users"]) is None  # no case after the name


def test_cells_without_usable_nbgrader_metadata_have_none():
    assert nbgrader_meta({"metadata": {}}) == {}
    assert nbgrader_meta({"metadata": {"nbgrader": "forged"}}) == {}
    assert grade_id({"metadata": {"nbgrader": {"grade_id": "x"}}}) == "x"


def test_statuses_read_as_words():
    assert NOT_RUN == "not_run"
    assert status_words(NOT_RUN) == "not run"
    assert status_words("passed") == "passed"


def test_the_released_notebook_has_its_exercises_and_locked_cells_and_no_change_to_itself():
    release = nbformat.read(RELEASE, 4)
    exercises = exercise_names(release)
    assert exercises and all(gid not in locked_cells(release) for gid in exercises)
    tests = [gid for gid in locked_cells(release) if gid.startswith("test_")]
    assert tests and all(exercise_of(gid, exercises) for gid in tests)
    assert locked_cell_changes(release, copy.deepcopy(release)) == []


def test_changes_to_locked_cells_are_named_in_the_released_order():
    release = nbformat.read(RELEASE, 4)
    first, second, third = list(locked_cells(release))[-3:]
    mine = copy.deepcopy(release)
    mine.cells = [c for c in mine.cells if grade_id(c) != third]
    for cell in mine.cells:
        if grade_id(cell) == first:
            cell.source += "\npass"
        if grade_id(cell) == second:
            cell.cell_type = "markdown"
    assert [str(c) for c in locked_cell_changes(mine, release)] == [
        f"test cell {first} was edited",
        f"test cell {second} was changed to markdown",
        f"test cell {third} was deleted",
    ]


def test_hidden_test_lines_are_the_long_lines_between_the_markers(tmp_path: Path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            f"assert visible_check()\n{BEGIN_HIDDEN_TESTS}\n    assert secret() == 42\n"
            f"x = (\n{END_HIDDEN_TESTS}\nassert after_the_end()"
        )
    ]
    path = tmp_path / "source.ipynb"
    nbformat.write(notebook, path)
    assert hidden_test_lines(path) == {"assert secret() == 42"}


def test_last_line_is_the_last_line_that_says_something():
    assert last_line("Traceback:\n  File x\nValueError: bad\n\n  ") == "ValueError: bad"
    assert last_line("") == ""


def test_skipping_the_iri_grammar_leaves_an_imported_package_alone(monkeypatch):
    marker = object()
    monkeypatch.setitem(sys.modules, "rfc3987_syntax", marker)
    skip_iri_grammar()
    assert sys.modules["rfc3987_syntax"] is marker
