"""The workspace: made on first use, new course notebooks added later, a learner's file never
overwritten, a newer course version announced, and reset only on request, with a backup."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from support.learner import REPO, asyncdb_lab, release

from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.learner.workspace import (
    KERNEL_METADATA,
    content_hash,
    kernel_metadata,
    newer_upstream,
    reset_notebook,
    resolve_notebook,
    sync_workspace,
)

NOTEBOOK_00 = "00_start_here/00_start_here.ipynb"


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


def metadata(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["metadata"]


def set_kernel_metadata(path: Path, kernel: dict) -> None:
    """What JupyterLab does to a notebook it opens with another kernel (and saves)."""
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.update(kernel)
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
    data = "01_more/data.csv"
    assert (workspace / data).read_bytes() == (course / data).read_bytes()
    for relative in report.added:
        assert content_hash(workspace / relative) == content_hash(course / relative)
        if relative.endswith(".ipynb"):  # the same notebook, but for the learner's kernel
            stamped = {key: metadata(workspace / relative)[key] for key in KERNEL_METADATA}
            assert stamped == kernel_metadata("python3")
            unstamped = nbformat.read(workspace / relative, as_version=4)
            unstamped.metadata.update(metadata(course / relative))
            assert nbformat.writes(unstamped) + "\n" == (course / relative).read_text()
    assert not (workspace / ".keep").exists()


def test_a_copied_notebook_has_the_metadata_jupyterlab_writes_when_its_kernel_connects(
    tmp_path: Path,
):
    """JupyterLab (NotebookPanel._updateSpec and _updateLanguage) writes the kernelspec's name,
    display_name and language, and the kernel_info reply's language_info, into the notebook as
    soon as its kernel connects; anything different marks an untouched notebook modified."""
    workspace = tmp_path / "workspace"
    sync_workspace(workspace)
    copied = metadata(workspace / NOTEBOOK_00)
    manager, client = start_new_kernel(kernel_name=copied["kernelspec"]["name"])
    try:
        reply = client.kernel_info(reply=True, timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    spec = manager.kernel_spec
    assert spec is not None
    assert copied["kernelspec"] == {
        "name": manager.kernel_name,
        "display_name": spec.display_name,
        "language": spec.language,
    }
    assert copied["language_info"] == reply["content"]["language_info"]
    # The course's own notebook names the kernel as installed (so an instructor opening it in
    # JupyterLab sees it unmodified too, but for language_info, which depends on the Python).
    assert metadata(REPO / "notebooks" / NOTEBOOK_00)["kernelspec"] == copied["kernelspec"]


def test_a_notebook_the_learner_has_is_never_stamped(tmp_path: Path):
    course = course_with(tmp_path, "00_intro")
    workspace = tmp_path / "workspace"
    sync_workspace(workspace, course)
    mine = workspace / "00_intro" / "00_intro.ipynb"
    elsewhere = {"language_info": {"name": "python", "version": "3.99.0"}}
    set_kernel_metadata(mine, elsewhere)  # saved by a JupyterLab on another Python
    before = mine.read_bytes()

    report = sync_workspace(workspace, course)

    assert report.added == [] and report.newer_upstream == []
    assert mine.read_bytes() == before


def test_a_course_change_of_kernel_metadata_only_is_not_announced(tmp_path: Path):
    course = course_with(tmp_path, "00_intro")
    workspace = tmp_path / "workspace"
    sync_workspace(workspace, course)
    set_kernel_metadata(
        course / "00_intro" / "00_intro.ipynb",
        {"kernelspec": {"display_name": "Py", "language": "python", "name": "python3"}},
    )

    assert sync_workspace(workspace, course).newer_upstream == []
    assert newer_upstream(workspace, course) == []
    # A change of content still is.
    add_topic(course, "00_intro", "\nA clearer explanation.")
    assert newer_upstream(workspace, course) == ["00_intro"]


def test_a_workspace_made_before_kernel_metadata_was_ignored_is_not_told_the_course_changed(
    tmp_path: Path,
):
    """Its record holds each file's plain sha256; an edited copy of an unchanged course
    notebook is not announced, the record moves to today's form, and a real change still is."""
    course = course_with(tmp_path, "00_intro")
    workspace = tmp_path / "workspace"
    sync_workspace(workspace, course)
    source = course / "00_intro" / "00_intro.ipynb"
    record = workspace / ".asyncdb-lab" / "course.json"
    old_form = {
        "files": {"00_intro/00_intro.ipynb": hashlib.sha256(source.read_bytes()).hexdigest()}
    }
    record.write_text(json.dumps(old_form))
    edit(workspace / "00_intro" / "00_intro.ipynb", "\n# my work")

    assert newer_upstream(workspace, course) == []
    assert sync_workspace(workspace, course).newer_upstream == []
    assert json.loads(record.read_text())["files"] == {
        "00_intro/00_intro.ipynb": content_hash(source)
    }
    add_topic(course, "00_intro", "\nA clearer explanation.")
    assert newer_upstream(workspace, course) == ["00_intro"]


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
    assert content_hash(mine) == content_hash(course / "00_intro" / "00_intro.ipynb")
    assert metadata(mine)["language_info"] == kernel_metadata("python3")["language_info"]
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
