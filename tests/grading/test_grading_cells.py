"""Locked cells as released, whatever a submission did to them."""

from __future__ import annotations

import copy
import time

import nbformat

from asyncdb_lab.grading import context
from asyncdb_lab.settings import REPO

RELEASE = nbformat.read(REPO / "notebooks" / "00_start_here" / "00_start_here.ipynb", 4)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def check(notebook: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    from asyncdb_lab.grading.cells import CheckTestCells

    job = context.Job(
        kernel_env={},
        sandbox=None,
        deadline=time.monotonic(),
        time_limit=1,
        memory_limit=1,
        release_cells=[dict(cell) for cell in RELEASE.cells],
    )
    with context.grading(job):
        checked, _ = CheckTestCells().preprocess(notebook, {})
    return checked, job.integrity


def ids(notebook: nbformat.NotebookNode) -> list[str | None]:
    return [grade_id(cell) for cell in notebook.cells if grade_id(cell)]


def test_an_untouched_notebook_has_nothing_to_report():
    checked, findings = check(copy.deepcopy(RELEASE))
    assert findings == []
    assert ids(checked) == ids(RELEASE)


def test_deleted_locked_cells_come_back_in_their_place():
    notebook = copy.deepcopy(RELEASE)
    gone = {"readonly-setup-database", "count_users", "test_count_users_seed"}
    notebook.cells = [cell for cell in notebook.cells if grade_id(cell) not in gone]
    checked, findings = check(notebook)
    # The answer cell is the learner's to delete; the setup and the test are put back.
    assert ids(checked) == [i for i in ids(RELEASE) if i != "count_users"]
    assert findings == [
        "locked cell readonly-setup-database was deleted: restored from the source",
        "test cell test_count_users_seed was deleted: restored from the source",
    ]


def test_forged_metadata_is_put_back_or_dropped():
    notebook = copy.deepcopy(RELEASE)
    for cell in notebook.cells:
        if grade_id(cell) == "test_count_users_seed":
            cell.metadata["nbgrader"]["points"] = 99
    extra = nbformat.v4.new_code_cell("pass")
    extra.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 9}
    broken = nbformat.v4.new_code_cell("pass")
    broken.metadata["nbgrader"] = {"locked": True}  # no grade id: nbgrader itself would crash
    notebook.cells += [extra, broken]
    checked, findings = check(notebook)
    points = {
        grade_id(c): c.metadata["nbgrader"].get("points") for c in checked.cells if grade_id(c)
    }
    assert points["test_count_users_seed"] == 2
    assert "nbgrader" not in checked.cells[-2].metadata
    assert "nbgrader" not in checked.cells[-1].metadata
    assert findings == [
        "the grading metadata of test cell test_count_users_seed was changed (points): restored",
        "a cell claimed the grade id 'bonus', which this notebook does not have: it was graded "
        "as an ordinary cell",
    ]
