"""The workspace: made on first use, new course notebooks added later, a learner's file never
overwritten, a newer course version announced, and reset only on request, with a backup."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from support.learner import REPO, asyncdb_lab, release

from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.learner.workspace import (
    newer_upstream,
    reset_notebook,
    resolve_notebook,
    sync_workspace,
)


def course_with(tmp_path: Path, *topics: str) -> Path:
    """A course folder (like notebooks/) with notebook 00's learner version under each topic."""
    course = tmp_path / "course"
    for topic in topics:
        add_topic(course, topic)
    return course


def add_topic(course: Path, topic: str, text: str = "") -> Path:
    notebook = release("00_start_here")
    notebook.cells[0].source += text
    path = course / topic / f"{topic}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def edit(path: Path, text: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[-1].source += text
    nbformat.write(notebook, path)


def test_the_first_sync_makes_the_workspace_with_every_course_file(tmp_path: Path):
    course = course_with(tmp_path, "00_intro", "01_more")
    (course / "01_more" / "data.csv").write_text("id\n1\n")
    (course / ".keep").write_text("")
    workspace = tmp_path / "workspace"
    report = sync_workspace(workspace, course)
    assert report.created
    assert sorted(report.added) == [
        "00_intro/00_intro.ipynb",
        "01_more/01_more.ipynb",
        "01_more/data.csv",
    ]
    for relative in report.added:
        assert (workspace / relative).read_bytes() == (course / relative).read_bytes()
    assert not (workspace / ".keep").exists()


def test_a_second_sync_keeps_the_learners_edits_and_adds_new_notebooks(tmp_path: Path):
    course = course_with(tmp_path, "00_intro")
    workspace = tmp_path / "workspace"
    sync_workspace(workspace, course)
    mine = workspace / "00_intro" / "00_intro.ipynb"
    edit(mine, "\n# my work")
    edited = mine.read_bytes()
    add_topic(course, "01_new")

    report = sync_workspace(workspace, course)

    assert not report.created
    assert report.added == ["01_new/01_new.ipynb"]
    assert report.newer_upstream == []
    assert mine.read_bytes() == edited


def test_a_deleted_notebook_comes_back(tmp_path: Path):
    course = course_with(tmp_path, "00_intro")
    workspace = tmp_path / "workspace"
    sync_workspace(workspace, course)
    (workspace / "00_intro" / "00_intro.ipynb").unlink()
    assert sync_workspace(workspace, course).added == ["00_intro/00_intro.ipynb"]


def test_a_changed_course_notebook_is_announced_not_copied_and_reset_keeps_a_backup(
    tmp_path: Path,
):
    course = course_with(tmp_path, "00_intro", "01_more")
    workspace = tmp_path / "workspace"
    sync_workspace(workspace, course)
    mine = workspace / "00_intro" / "00_intro.ipynb"
    edit(mine, "\n# my work")
    edited = mine.read_bytes()
    add_topic(course, "00_intro", "\nA clearer explanation.")  # the course changes both
    add_topic(course, "01_more", "\nA clearer explanation.")

    report = sync_workspace(workspace, course)

    # Neither copy is overwritten, whether the learner edited it or not.
    assert sorted(report.newer_upstream) == ["00_intro", "01_more"]
    assert mine.read_bytes() == edited
    assert newer_upstream(workspace, course) == ["00_intro", "01_more"]

    backup = reset_notebook("00_intro", workspace, course)

    assert backup is not None and backup.read_bytes() == edited
    assert backup.parent == workspace / "backups" / "00_intro"
    assert mine.read_bytes() == (course / "00_intro" / "00_intro.ipynb").read_bytes()
    assert newer_upstream(workspace, course) == ["01_more"]
    assert sync_workspace(workspace, course).newer_upstream == ["01_more"]
    # A second reset keeps both backups.
    second = reset_notebook("00_intro", workspace, course)
    assert second is not None and second != backup and backup.exists()


def test_reset_of_an_unknown_notebook_names_the_known_ones(tmp_path: Path):
    course = course_with(tmp_path, "00_intro")
    with pytest.raises(AsyncDbLabError, match="00_intro"):
        reset_notebook("07_nothing", tmp_path / "workspace", course)


def test_notebooks_are_found_by_name_prefix_or_path(tmp_path: Path):
    course = course_with(tmp_path, "00_intro", "01_more", "01_most")
    workspace = tmp_path / "workspace"
    sync_workspace(workspace, course)
    expected = workspace / "00_intro" / "00_intro.ipynb"
    assert resolve_notebook("00_intro", workspace) == expected
    assert resolve_notebook("00", workspace) == expected
    assert resolve_notebook("intro", workspace) == expected
    assert resolve_notebook(str(expected), workspace) == expected
    with pytest.raises(AsyncDbLabError, match="could mean 01_more, 01_most"):
        resolve_notebook("01", workspace)
    with pytest.raises(AsyncDbLabError, match="there are: 00_intro, 01_more, 01_most"):
        resolve_notebook("09", workspace)
    with pytest.raises(AsyncDbLabError, match="make lab"):
        resolve_notebook("00", tmp_path / "nowhere")


def test_git_ignores_the_workspace_so_a_pull_never_meets_the_learners_files():
    inside = REPO / "workspace" / "00_start_here" / "00_start_here.ipynb"
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", str(inside)], cwd=REPO, capture_output=True
    )
    assert result.returncode == 0, "workspace/ is not in .gitignore"


def test_the_workspace_and_reset_commands_say_what_they_did(tmp_path: Path):
    workspace = tmp_path / "ws"
    first = asyncdb_lab("workspace", "--workspace", str(workspace), timeout=60)
    assert first.returncode == 0, first.stderr
    assert "Made your workspace" in first.stdout
    assert "added 00_start_here/00_start_here.ipynb" in first.stdout
    mine = workspace / "00_start_here" / "00_start_here.ipynb"
    edit(mine, "\n# my work")

    again = asyncdb_lab("workspace", "--workspace", str(workspace), timeout=60)
    assert "nothing to copy" in again.stdout
    assert "# my work" in mine.read_text()

    reset = asyncdb_lab("reset", "00", "--workspace", str(workspace), timeout=60)
    assert reset.returncode == 0, reset.stderr
    assert "backups/00_start_here/00_start_here-" in reset.stdout
    assert "# my work" not in mine.read_text()
    (backup,) = (workspace / "backups" / "00_start_here").iterdir()
    assert "# my work" in backup.read_text()
    shutil.rmtree(workspace)
