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
    candidates, problems = Collector(NOTEBOOKS, **options).collect(where, tmp_path / "work")
    return (
        {(c.student, c.notebook): c.source for c in candidates},
        {(p.student, p.notebook): p.reason for p in problems},
    )


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
    found, problems = collect(subs, tmp_path)
    assert found == {}
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
        ("nothing", ""): (
            "missing notebook: no notebook from nothing (expected e.g. 00_start_here.ipynb, "
            "01_engines_and_sessions.ipynb)"
        ),
        ("twice", "00_start_here"): (
            "2 files for 00_start_here (twice/00_start_here/00_start_here.ipynb, "
            "twice/00_start_here.ipynb): keep one and grade again"
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


def test_only_some_notebooks_and_who_is_missing_them(tmp_path: Path):
    subs = tmp_path / "subs"
    write(subs / "alice" / "00_start_here.ipynb")
    write(subs / "alice" / "01_engines_and_sessions.ipynb")
    write(subs / "bob" / "00_start_here.ipynb")
    found, problems = collect(subs, tmp_path, only=["01_engines_and_sessions"])
    assert found == {("alice", "01_engines_and_sessions"): "alice/01_engines_and_sessions.ipynb"}
    assert problems == {
        ("bob", "01_engines_and_sessions"): (
            "missing notebook: no 01_engines_and_sessions.ipynb from bob "
            "(expected e.g. 01_engines_and_sessions.ipynb)"
        )
    }


def test_neither_a_folder_nor_a_zip(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="neither a folder of submissions nor a zip"):
        collect(tmp_path / "nowhere", tmp_path)


def test_first_look_accepts_a_real_notebook():
    from asyncdb_lab.settings import REPO as repo

    assert first_look(repo / "notebooks" / "00_start_here" / "00_start_here.ipynb") == ""
