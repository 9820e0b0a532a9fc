"""`asyncdb-lab release` never loses a learner version: nbgrader removes the released folder before
it generates the new one, and a refusal (a gradebook with submissions under changed test cells)
would otherwise leave none."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncdb_lab.cli.release import _kept_on_failure
from asyncdb_lab.errors import AsyncDbLabError


def test_a_failed_generation_puts_the_released_folder_back(tmp_path: Path):
    released = tmp_path / "00_start_here"
    released.mkdir()
    (released / "00_start_here.ipynb").write_text("the learner version")
    with pytest.raises(AsyncDbLabError), _kept_on_failure(released):
        (released / "00_start_here.ipynb").unlink()  # as nbgrader's --force does first
        raise AsyncDbLabError("nbgrader generate_assignment failed: submissions associated")
    assert (released / "00_start_here.ipynb").read_text() == "the learner version"


def test_a_successful_generation_keeps_what_it_wrote(tmp_path: Path):
    released = tmp_path / "00_start_here"
    released.mkdir()
    (released / "00_start_here.ipynb").write_text("old")
    with _kept_on_failure(released):
        (released / "00_start_here.ipynb").write_text("new")
    assert (released / "00_start_here.ipynb").read_text() == "new"
