"""What `asyncdb-lab grade` finds in a folder or a zip, and the one-line reasons for the rest."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from asyncdb_lab.grading.collect import Collector, first_look

NOTEBOOKS = ["00_start_here", "01_engines_and_sessions"]
NOTEBOOK_JSON = json.dumps(
    {
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": "hi"}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
)


def write(path: Path, text: str = NOTEBOOK_JSON) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def collect(where: Path, tmp_path: Path, **options) -> tuple[dict, dict]:
    """What is graded, and every problem that is not a missing notebook (see `missing`)."""
    candidates, problems = Collector(NOTEBOOKS, **options).collect(where, tmp_path / "work")
    return (
        {(c.student, c.notebook): c.source for c in candidates},
        {(p.student, p.notebook): p.reason for p in problems if p.status != "missing"},
    )


def missing(where: Path, tmp_path: Path, **options) -> set[tuple[str, str]]:
    _, problems = Collector(NOTEBOOKS, **options).collect(where, tmp_path / "work")
    return {(p.student, p.notebook) for p in problems if p.status == "missing"}


def test_both_folder_layouts_and_flat_files(tmp_path: Path):
    subs = tmp_path / "subs"
    write(subs / "alice" / "00_start_here.ipynb")
    write(subs / "bob" / "01_engines_and_sessions" / "01_engines_and_sessions.ipynb")
    write(subs / "carol_00_start_here.ipynb")
    write(subs / ".DS_Store", "junk")
    write(subs / "alice" / ".ipynb_checkpoints" / "00_start_here-checkpoint.ipynb")
    found, problems = collect(subs, tmp_path)
    assert found == {
        ("alice", "00_start_here"): "alice/00_start_here.ipynb",
        (
            "bob",
            "01_engines_and_sessions",
        ): "bob/01_engines_and_sessions/01_engines_and_sessions.ipynb",
        ("carol", "00_start_here"): "carol_00_start_here.ipynb",
    }
    assert problems == {}
    assert missing(subs, tmp_path) == {
        ("alice", "01_engines_and_sessions"),
        ("bob", "00_start_here"),
        ("carol", "01_engines_and_sessions"),
    }


def test_a_zip_from_an_lms_with_a_wrapper_folder_and_junk(tmp_path: Path):
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("week1/dave_17_99_00_start_here-2.ipynb", NOTEBOOK_JSON)
        zipped.writestr("week1/erin_18_98_01_engines_and_sessions.ipynb", NOTEBOOK_JSON)
        zipped.writestr("__MACOSX/week1/._dave_17_99_00_start_here-2.ipynb", "junk")
        zipped.writestr("../evil_00_start_here.ipynb", NOTEBOOK_JSON)
    found, problems = collect(archive, tmp_path)
    assert found == {
        ("dave", "00_start_here"): "download.zip:week1/dave_17_99_00_start_here-2.ipynb",
        (
            "erin",
            "01_engines_and_sessions",
        ): "download.zip:week1/erin_18_98_01_engines_and_sessions.ipynb",
    }
    assert problems == {("evil", "evil_00_start_here.ipynb"): "an unsafe path in the archive"}
    assert not (tmp_path / "evil_00_start_here.ipynb").exists()
    assert missing(archive, tmp_path) == {
        ("dave", "01_engines_and_sessions"),
        ("erin", "00_start_here"),
    }


def test_a_student_pattern_for_other_lms_names(tmp_path: Path):
    subs = tmp_path / "subs"
    write(subs / "Smith, Jo (4711)_00_start_here.ipynb")
    found, problems = collect(subs, tmp_path, student_pattern=r"\((?P<student>\d+)\)")
    assert found == {("4711", "00_start_here"): "Smith, Jo (4711)_00_start_here.ipynb"}
    assert problems == {}


def test_every_file_that_cannot_be_graded_gets_a_one_line_reason(tmp_path: Path):
    subs = tmp_path / "subs"
    write(subs / "empty" / "00_start_here.ipynb", "")
    write(subs / "broken" / "00_start_here.ipynb", '{"cells": [')
    write(subs / "nocells" / "00_start_here.ipynb", json.dumps({"cells": [], "nbformat": 4}))
    write(subs / "list" / "00_start_here.ipynb", "[1, 2]")
    write(subs / "binary" / "00_start_here.ipynb").write_bytes(b"\xff\xfe\x00")
    write(subs / "renamed" / "start_here_final.ipynb")
    write(subs / "nothing" / "notes.txt", "later")
    write(subs / "twice" / "00_start_here.ipynb")
    write(subs / "twice" / "00_start_here" / "00_start_here.ipynb")
    write(subs / "Bad Name" / "00_start_here.ipynb")
    write(subs / "00_start_here.ipynb")
    os.symlink("/etc/passwd", subs / "sneaky_00_start_here.ipynb")
    os.utime(subs / "twice" / "00_start_here.ipynb", (1, 1))  # the earlier upload
    found, problems = collect(subs, tmp_path)
    assert found == {("twice", "00_start_here"): "twice/00_start_here/00_start_here.ipynb"}
    assert problems == {
        ("empty", "00_start_here"): "empty file (0 bytes): not a notebook",
        ("broken", "00_start_here"): "invalid JSON (line 1, column 12: Expecting value)",
        ("nocells", "00_start_here"): "empty notebook: it has no cells",
        (
            "list",
            "00_start_here",
        ): "not a Jupyter notebook: valid JSON, but without a list of cells",
        ("binary", "00_start_here"): "not a notebook: the file is not text (UTF-8)",
        ("renamed", "start_here_final.ipynb"): (
            "wrong notebook name 'start_here_final.ipynb': it must be one of the course's "
            "notebooks, e.g. 00_start_here.ipynb; did you mean 00_start_here.ipynb? "
            "Rename it and grade again"
        ),
        ("twice", "00_start_here"): (
            "superseded by a later upload (twice/00_start_here/00_start_here.ipynb), "
            "which is graded"
        ),
        ("Bad Name", "00_start_here.ipynb"): (
            "the student id 'Bad Name' cannot be a gradebook id (letters, digits and . _ @ + - "
            "only): rename it"
        ),
        ("00", "00_start_here.ipynb"): (
            "no student id in the file name '00_start_here.ipynb': put it in a folder named "
            "after the student, or name it <student>_00_start_here.ipynb"
        ),
        ("sneaky", "sneaky_00_start_here.ipynb"): "a symbolic link: not followed, not graded",
    }
    assert all("\n" not in reason for reason in problems.values())
    # Everyone with a student id is accounted for in the one notebook handed in; "00" is no one.
    assert missing(subs, tmp_path) == {
        (student, "00_start_here") for student in ("renamed", "nothing")
    }


def test_only_some_notebooks_and_who_is_missing_them(tmp_path: Path):
    subs = tmp_path / "subs"
    write(subs / "alice" / "00_start_here.ipynb")
    write(subs / "alice" / "01_engines_and_sessions.ipynb")
    write(subs / "bob" / "00_start_here.ipynb")
    only = ["01_engines_and_sessions"]
    found, problems = collect(subs, tmp_path, only=only)
    assert found == {("alice", "01_engines_and_sessions"): "alice/01_engines_and_sessions.ipynb"}
    assert problems == {}
    _, every_problem = Collector(NOTEBOOKS, only=only).collect(subs, tmp_path / "work")
    assert [(p.student, p.notebook, p.status, p.reason) for p in every_problem] == [
        (
            "bob",
            "01_engines_and_sessions",
            "missing",
            "missing notebook: no 01_engines_and_sessions.ipynb from bob "
            "(expected e.g. 01_engines_and_sessions.ipynb)",
        )
    ]


def test_a_roster_student_who_handed_in_nothing_is_missing_every_notebook_graded(
    tmp_path: Path,
):
    subs = tmp_path / "subs"
    write(subs / "alice" / "00_start_here.ipynb")
    write(subs / "alice" / "01_engines_and_sessions.ipynb")

    def roster(found: set[str]) -> list[str]:
        return sorted({"alice", "zoe"} - found)

    assert missing(subs, tmp_path, roster=roster) == {
        ("zoe", "00_start_here"),
        ("zoe", "01_engines_and_sessions"),
    }
    _, problems = Collector(NOTEBOOKS, roster=roster).collect(subs, tmp_path / "work")
    assert {p.source for p in problems} == {"the roster"}


def test_canvas_re_uploads_the_latest_is_graded_and_the_others_superseded(tmp_path: Path):
    """Canvas names a second upload name-1.ipynb, a third name-2.ipynb; the number decides,
    whatever the files' times say (a zip keeps the upload order only in the names)."""
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, when in [
            ("doejane_1234_5678_00_start_here-2.ipynb", (2026, 1, 1, 0, 0, 0)),
            ("doejane_1234_5679_00_start_here-1.ipynb", (2026, 3, 1, 0, 0, 0)),
            ("doejane_1234_5680_00_start_here.ipynb", (2026, 5, 1, 0, 0, 0)),
            ("roejohn_late_1235_5690_00_start_here.ipynb", (2026, 1, 1, 0, 0, 0)),
        ]:
            zipped.writestr(zipfile.ZipInfo(name, when), NOTEBOOK_JSON)
    candidates, problems = Collector(NOTEBOOKS).collect(archive, tmp_path / "work")
    assert [(c.student, c.source) for c in candidates] == [
        ("doejane", "canvas.zip:doejane_1234_5678_00_start_here-2.ipynb"),
        ("roejohn", "canvas.zip:roejohn_late_1235_5690_00_start_here.ipynb"),
    ]
    assert sorted((p.source, p.status) for p in problems) == [
        ("canvas.zip:doejane_1234_5679_00_start_here-1.ipynb", "superseded"),
        ("canvas.zip:doejane_1234_5680_00_start_here.ipynb", "superseded"),
    ]


def test_without_an_upload_number_the_later_file_is_graded(tmp_path: Path):
    subs = tmp_path / "subs"
    older = write(subs / "amy" / "00_start_here.ipynb")
    newer = write(subs / "amy" / "00_start_here" / "00_start_here.ipynb")
    os.utime(older, (2_000_000_000, 2_000_000_000))  # the nested copy is now the older one
    os.utime(newer, (1_000_000_000, 1_000_000_000))
    found, problems = collect(subs, tmp_path)
    assert found == {("amy", "00_start_here"): "amy/00_start_here.ipynb"}
    assert problems == {
        ("amy", "00_start_here"): (
            "superseded by a later upload (amy/00_start_here.ipynb), which is graded"
        )
    }


def test_neither_a_folder_nor_a_zip(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="neither a folder of submissions nor a zip"):
        collect(tmp_path / "nowhere", tmp_path)


def test_first_look_accepts_a_real_notebook():
    from asyncdb_lab.settings import REPO as repo

    assert first_look(repo / "notebooks" / "00_start_here" / "00_start_here.ipynb") == ""


CANVAS_ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,Start here (4711)
    Points Possible,,,,,4
"Doe, Jane",1234,s1,jane@example.edu,A,
"Roe, John",1235,s2,john@example.edu,A,
"Poe, Edgar",1236,s3,edgar@example.edu,B,
"""


@pytest.mark.parametrize(
    ("file_name", "pattern", "nobody"),
    [
        ("doejane_1234_5678_00_start_here.ipynb", None, "poeedgar"),
        ("doejane_1234_5678_00_start_here.ipynb", r"_(?P<student>\d+)_\d+_", "1236"),
    ],
)
def test_a_canvas_roster_names_who_handed_in_nothing_as_the_run_names_students(
    tmp_path: Path, file_name: str, pattern: str | None, nobody: str
):
    from asyncdb_lab.grading.export.matching import roster_ids
    from asyncdb_lab.grading.export.roster import read_roster

    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(CANVAS_ROSTER)
    roster = read_roster(roster_file)
    subs = tmp_path / "subs"
    write(subs / file_name)
    write(subs / file_name.replace("doejane_1234", "roejohn_1235"))
    candidates, problems = Collector(
        NOTEBOOKS, student_pattern=pattern, roster=lambda found: roster_ids(roster, found)
    ).collect(subs, tmp_path / "work")
    assert len(candidates) == 2
    assert [(p.student, p.notebook, p.status) for p in problems] == [
        (nobody, "00_start_here", "missing")
    ]


def test_a_file_the_lms_named_late_is_marked_and_every_file_keeps_its_time(tmp_path: Path):
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(
            zipfile.ZipInfo("doejane_LATE_1234_5678_00_start_here.ipynb", (2026, 1, 2, 3, 4, 6)),
            NOTEBOOK_JSON,
        )
        zipped.writestr(
            zipfile.ZipInfo("roejohn_1235_5690_00_start_here.ipynb", (2025, 12, 30, 0, 0, 0)),
            NOTEBOOK_JSON,
        )
    candidates, _ = Collector(NOTEBOOKS).collect(archive, tmp_path / "work")
    import datetime

    assert [
        (c.student, c.marked_late, datetime.datetime.fromtimestamp(c.handed_in).isoformat())
        for c in candidates
    ] == [
        ("doejane", True, "2026-01-02T03:04:06"),
        ("roejohn", False, "2025-12-30T00:00:00"),
    ]


def test_a_moodle_download_with_a_pattern_for_its_folders(tmp_path: Path):
    """Moodle's "Download all submissions": a folder per learner and assignment, named by the
    full name and a participant id that differs between assignments."""
    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("Jane Doe_801_assignsubmission_file_/00_start_here.ipynb", NOTEBOOK_JSON)
        zipped.writestr(
            "Jane Doe_955_assignsubmission_file_/01_engines_and_sessions.ipynb", NOTEBOOK_JSON
        )
        zipped.writestr("John Roe_802_assignsubmission_file_/00_start_here.ipynb", NOTEBOOK_JSON)
    pattern = r"^(?P<student>[^_]+)_\d+_assignsubmission"
    found, problems = collect(archive, tmp_path, student_pattern=pattern)
    assert set(found) == {
        ("janedoe", "00_start_here"),
        ("janedoe", "01_engines_and_sessions"),
        ("johnroe", "00_start_here"),
    }
    assert problems == {}
    assert missing(archive, tmp_path, student_pattern=pattern) == {
        ("johnroe", "01_engines_and_sessions")
    }
