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


def _grade_id(cell: NotebookNode) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def _kind(cell: NotebookNode) -> str:
    meta = cell.metadata.get("nbgrader", {})
    if meta.get("grade") and not meta.get("solution"):
        return "test cell"
    if meta.get("solution"):
        return "answer cell"
    return "locked cell"


def _restore_metadata(nb: NotebookNode, reference: list[NotebookNode], findings: list[str]) -> None:
    known = {_grade_id(cell): cell for cell in reference if _grade_id(cell)}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if grade_id not in known:
            del cell.metadata["nbgrader"]
            claims = isinstance(meta, dict) and any(meta.get(k) for k in ("grade", "solution"))
            if claims:
                findings.append(
                    f"a cell claimed the grade id {str(grade_id)[:40]!r}, which this notebook "
                    f"does not have: it was graded as an ordinary cell"
                )
            continue
        released = known[grade_id].metadata["nbgrader"]
        changed = [k for k in _GRADING_KEYS if meta.get(k) != released.get(k)]
        if changed:
            findings.append(
                f"the grading metadata of {_kind(known[grade_id])} {grade_id} was changed "
                f"({', '.join(changed)}): restored"
            )
        cell.metadata["nbgrader"] = copy.deepcopy(released)


def _report_duplicates(nb: NotebookNode, findings: list[str]) -> None:
    seen: dict[str, int] = {}
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        if grade_id:
            seen[grade_id] = seen.get(grade_id, 0) + 1
    for grade_id, count in seen.items():
        if count > 1:
            findings.append(f"{grade_id} appears {count} times: only its last copy is graded")


def _restore_deleted(nb: NotebookNode, reference: list[NotebookNode], findings: list[str]) -> None:
    order = [_grade_id(cell) for cell in reference if _grade_id(cell)]
    for cell in reference:
        grade_id = _grade_id(cell)
        if not grade_id or not cell.metadata["nbgrader"].get("locked"):
            continue
        submitted = [c for c in nb.cells if _grade_id(c) == grade_id]
        if not submitted:
            nb.cells.insert(_insert_at(nb, order, order.index(grade_id)), _fresh_copy(nb, cell))
            findings.append(f"{_kind(cell)} {grade_id} was deleted: restored from the source")
            continue
        last = submitted[-1]
        if last.cell_type != cell.cell_type:
            findings.append(
                f"{_kind(cell)} {grade_id} was changed to {last.cell_type}: "
                "restored from the source"
            )
        elif last.source != cell.source:
            findings.append(f"{_kind(cell)} {grade_id} was edited: restored from the source")


def _insert_at(nb: NotebookNode, order: list[str | None], index: int) -> int:
    """Just after the last cell present of those that come before it in the source."""
    for previous in reversed(order[:index]):
        for where in range(len(nb.cells) - 1, -1, -1):
            if _grade_id(nb.cells[where]) == previous:
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
