"""Test cells as the course wrote them, whatever the submission did to them.

nbgrader's OverwriteCells restores a locked cell's source and type from the gradebook when its
checksum changed, but only if the cell is still there with its metadata, and it stops on some
forged metadata (a solution cell that claims points, say). This preprocessor runs first:

- metadata of cells the course defines is put back as released;
- cells claiming a grade id the course does not define lose their nbgrader metadata;
- a locked cell (setup or test) that was deleted is put back where it was;
- every change is recorded for the report (deleted, edited, changed to markdown, …).

nbgrader then restores the sources, hidden tests included, as usual.
"""

from __future__ import annotations

import copy
import secrets
import typing as t

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from asyncdb_lab.course.notebook import cell_kind, grade_id, locked_cell_changes
from asyncdb_lab.grading import context

_GRADING_KEYS = ("grade", "solution", "locked", "task", "points", "grade_id")


class CheckTestCells(NbGraderPreprocessor):
    def preprocess(self, nb: NotebookNode, resources: t.Any) -> tuple[NotebookNode, t.Any]:
        job = context.current()
        reference = [NotebookNode(copy.deepcopy(cell)) for cell in job.release_cells]
        findings = job.integrity
        _restore_metadata(nb, reference, findings)
        _report_duplicates(nb, findings)
        _restore_deleted(nb, reference, findings)
        return nb, resources


def _restore_metadata(nb: NotebookNode, reference: list[NotebookNode], findings: list[str]) -> None:
    known = {grade_id(cell): cell for cell in reference if grade_id(cell)}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        gid = grade_id(cell)
        if gid not in known:
            del cell.metadata["nbgrader"]
            claims = isinstance(meta, dict) and any(meta.get(k) for k in ("grade", "solution"))
            if claims:
                findings.append(
                    f"a cell claimed the grade id {str(gid)[:40]!r}, which this notebook "
                    f"does not have: it was graded as an ordinary cell"
                )
            continue
        released = known[gid].metadata["nbgrader"]
        changed = [k for k in _GRADING_KEYS if meta.get(k) != released.get(k)]
        if changed:
            findings.append(
                f"the grading metadata of {cell_kind(known[gid])} {gid} was changed "
                f"({', '.join(changed)}): restored"
            )
        cell.metadata["nbgrader"] = copy.deepcopy(released)


def _report_duplicates(nb: NotebookNode, findings: list[str]) -> None:
    seen: dict[str, int] = {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid:
            seen[gid] = seen.get(gid, 0) + 1
    for gid, count in seen.items():
        if count > 1:
            findings.append(f"{gid} appears {count} times: only its last copy is graded")


def _restore_deleted(nb: NotebookNode, reference: list[NotebookNode], findings: list[str]) -> None:
    released = NotebookNode(cells=reference)
    order = [grade_id(cell) for cell in reference if grade_id(cell)]
    for change in locked_cell_changes(nb, released):
        findings.append(f"{change}: restored from the source")
        if change.change == "deleted":
            cell = next(c for c in reference if grade_id(c) == change.grade_id)
            at = _insert_at(nb, order, order.index(change.grade_id))
            nb.cells.insert(at, _fresh_copy(nb, cell))


def _insert_at(nb: NotebookNode, order: list[str | None], index: int) -> int:
    """Just after the last cell present of those that come before it in the source."""
    for previous in reversed(order[:index]):
        for where in range(len(nb.cells) - 1, -1, -1):
            if grade_id(nb.cells[where]) == previous:
                return where + 1
    return 0


def _fresh_copy(nb: NotebookNode, cell: NotebookNode) -> NotebookNode:
    restored = NotebookNode(copy.deepcopy(cell))
    if "id" in restored or nb.get("nbformat_minor", 0) >= 5:
        restored["id"] = secrets.token_hex(4)
    if restored.cell_type == "code":
        restored.outputs = []
        restored.execution_count = None
    return restored
