"""data/misconceptions.yaml names only real wrong answers, their own exercise's visible tests and a
real heading; a diagnosis needs the same tests failing with the same messages, and never guesses
among many. (That each signature is what check sees today is the mutants suite's job.)"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml
from support.mutants import cases, notebooks, release_path

from asyncdb_lab.course.misconceptions import (
    MISCONCEPTIONS_FILE,
    MOST_CANDIDATES,
    describe,
    diagnose,
    load_misconceptions,
)
from asyncdb_lab.course.notebook import read_structure
from asyncdb_lab.interview.bank import NOTEBOOK as INTERVIEW_NOTEBOOK
from asyncdb_lab.settings import REPO

RECORDED = yaml.safe_load(MISCONCEPTIONS_FILE.read_text(encoding="utf-8"))


def headings(notebook: str) -> set[str]:
    solved = nbformat.read(REPO / "solutions" / notebook / f"{notebook}.ipynb", as_version=4)
    found = set()
    for cell in solved.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                heading = re.match(r"^#{2,4} (.*)$", line)
                if heading:
                    found.add(re.sub(r"\s*\(\d+ points?\)\s*$", "", heading.group(1)).strip())
    return found


def test_the_file_loads_whole():
    entries = sum(len(e) for exercises in RECORDED.values() for e in exercises.values())
    assert entries > 0
    assert len(load_misconceptions()) == entries


@pytest.mark.parametrize("notebook", notebooks())
def test_every_entry_is_a_wrong_answer_failing_its_own_visible_tests(notebook: str):
    labels = {(c.exercise, c.label) for c in cases(notebook) if c.kind == "wrong"}
    structure = read_structure(nbformat.read(release_path(notebook), as_version=4))
    sections = headings(notebook)
    for exercise, entries in (RECORDED.get(notebook) or {}).items():
        visible = {t.grade_id for t in structure.tests_of(exercise) if t.visible}
        for entry in entries:
            what = f"{notebook} {exercise} ({entry['mistake']})"
            assert (exercise, entry["mistake"]) in labels, (
                f"{what} is not a wrong answer in tests/wrong_answers/: run make misconceptions"
            )
            assert entry["fails"] and set(entry["fails"]) <= visible, (
                f"{what}: {sorted(entry['fails'])} are not all visible tests of {exercise}"
            )
            if notebook != INTERVIEW_NOTEBOOK:  # its sections name the topic notebooks'
                assert entry["section"] in sections, (
                    f"{what}: no heading {entry['section']!r} in the notebook"
                )
            else:
                assert entry["section"]


@pytest.mark.parametrize("notebook", notebooks())
def test_wrong_answers_of_an_exercise_have_distinct_labels(notebook: str):
    labels = [(c.exercise, c.label) for c in cases(notebook) if c.kind == "wrong"]
    assert len(labels) == len(set(labels)), "two wrong answers of an exercise share a label"


TABLE = """\
nb:
  count_things:
  - mistake: returns a number it saw
    fails:
      test_count_things_seed: 'expected 1000 (int), got 7 (int). Took 0.52 s.'
    section: Part A
  - mistake: keeps a connection
    fails:
      test_count_things_seed: 'expected 1000 (int), got 7 (int). Took 0.52 s.'
      test_count_things_pool: 'pool exhausted at <Pool 0x7f00aa>'
    section: Part B
  - mistake: counts in Python
    fails:
      test_count_things_statements: 'expected 1 statement, got 2'
    section: Part A
  - mistake: races
    fails:
      test_count_things_race: 'errors raised by 20 racing calls: expected [] (list), got …'
    section: Part C
"""


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "misconceptions.yaml"
    path.write_text(TABLE)
    return path


def test_a_diagnosis_needs_the_same_tests_with_the_same_messages(table: Path):
    seed = {"test_count_things_seed": "expected 1000 (int),\n got 7 (int). Took 3.9 s."}
    assert [m.mistake for m in diagnose("count_things", seed, table)] == ["returns a number it saw"]
    both = {**seed, "test_count_things_pool": "pool exhausted at <Pool 0x55aa01>"}
    assert [m.mistake for m in diagnose("count_things", both, table)] == ["keeps a connection"]
    other_value = {"test_count_things_seed": "expected 1000 (int), got 8 (int). Took 0.5 s."}
    assert diagnose("count_things", other_value, table) == []
    more = {**seed, "test_count_things_statements": "expected 1 statement, got 2"}
    assert diagnose("count_things", more, table) == []
    assert diagnose("count_things", {}, table) == []
    assert diagnose("another_exercise", seed, table) == []


def test_a_message_recorded_as_a_prefix_matches_whatever_follows_it(table: Path):
    """What varied between checks of the known wrong answer (how many of 20 racing calls
    failed) is left out of its signature; the rest must still be said."""
    said = "errors raised by 20 racing calls: expected [] (list), got [Deadlock(), Deadlock()]"
    race = {"test_count_things_race": said}
    assert [m.mistake for m in diagnose("count_things", race, table)] == ["races"]
    other = {"test_count_things_race": said.replace("20 racing", "10 racing")}
    assert diagnose("count_things", other, table) == []


def test_too_many_candidates_give_no_diagnosis(tmp_path: Path):
    entry = "  - mistake: mistake {}\n    fails:\n      test_x_seed: wrong\n    section: Part A\n"
    path = tmp_path / "too_many.yaml"
    path.write_text("nb:\n  x:\n" + "".join(entry.format(i) for i in range(MOST_CANDIDATES + 1)))
    assert diagnose("x", {"test_x_seed": "wrong"}, path) == []
    path = tmp_path / "as_many_as_allowed.yaml"
    path.write_text("nb:\n  x:\n" + "".join(entry.format(i) for i in range(MOST_CANDIDATES)))
    assert len(diagnose("x", {"test_x_seed": "wrong"}, path)) == MOST_CANDIDATES


def test_the_diagnosis_names_the_mistake_and_where_it_is_taught(table: Path):
    seed = {"test_count_things_seed": "expected 1000 (int), got 7 (int). Took 0.52 s."}
    one = describe(diagnose("count_things", seed, table))
    assert one == (
        "Looks like a known mistake: returns a number it saw. The notebook teaches it in “Part A”."
    )
    assert describe([]) == ""
    statements = {"test_count_things_statements": "expected 1 statement, got 2"}
    two = describe(
        [*diagnose("count_things", seed, table), *diagnose("count_things", statements, table)]
    )
    assert two.startswith("Looks like one of 2 known mistakes, which fail these same tests: ")
    assert "returns a number it saw; counts in Python." in two
    assert two.endswith("The notebook teaches them in “Part A”.")


@pytest.mark.parametrize("damage", ["nb: [", "nb:\n  x:\n  - fails: {}\n", "- just a list\n"])
def test_a_damaged_file_gives_no_diagnosis_rather_than_an_error(tmp_path: Path, damage: str):
    path = tmp_path / "damaged.yaml"
    path.write_text(damage)
    assert load_misconceptions(path) == ()
    assert diagnose("x", {"test_x_seed": "wrong"}, path) == []
