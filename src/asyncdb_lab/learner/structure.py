"""What a notebook asks of the learner: its exercises, its test cells and their points.

Exercises are nbgrader solution cells (grade id = the function or class name). Test cells are
grade cells named `test_<exercise>_<case>`; each belongs to the exercise whose name is its
longest matching prefix, and carries its points in nbgrader's metadata.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from typing import Any

import nbformat


@dataclass(frozen=True)
class GradeCell:
    grade_id: str
    exercise: str | None
    points: float
    # False when the learner's copy holds only the docstring: every check is a hidden test,
    # run when the notebook is graded.
    visible: bool
    description: str


@dataclass(frozen=True)
class Structure:
    exercises: tuple[str, ...]
    tests: tuple[GradeCell, ...]

    def tests_of(self, exercise: str) -> list[GradeCell]:
        return [test for test in self.tests if test.exercise == exercise]

    @property
    def max_points(self) -> float:
        return sum(test.points for test in self.tests)

    @property
    def visible_points(self) -> float:
        """Points in test cells the learner's copy can run (the rest are hidden-only)."""
        return sum(test.points for test in self.tests if test.visible)


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def exercise_of(grade_id: str, exercises: tuple[str, ...] | list[str]) -> str | None:
    matches = [e for e in exercises if grade_id.startswith(f"test_{e}_")]
    return max(matches, key=len) if matches else None


def read_structure(notebook: nbformat.NotebookNode) -> Structure:
    exercises = tuple(
        nbgrader_meta(c)["grade_id"] for c in notebook.cells if nbgrader_meta(c).get("solution")
    )
    tests = tuple(
        GradeCell(
            grade_id=meta["grade_id"],
            exercise=exercise_of(meta["grade_id"], exercises),
            points=float(meta.get("points") or 0),
            visible=has_test_code(cell.source),
            description=_first_docstring_line(cell.source),
        )
        for cell in notebook.cells
        if (meta := nbgrader_meta(cell)).get("grade") and cell.cell_type == "code"
    )
    return Structure(exercises, tests)


def has_test_code(source: str) -> bool:
    """True unless the cell is empty or only a docstring (its tests were hidden)."""
    tree = _parse(source)
    if tree is None:
        return bool(source.strip())
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return bool(body)


def _first_docstring_line(source: str) -> str:
    tree = _parse(source)
    if tree is None:
        return ""
    docstring = ast.get_docstring(tree)
    return docstring.strip().splitlines()[0] if docstring else ""


def _parse(source: str) -> ast.Module | None:
    try:
        tree = compile(
            source, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        )
    except (SyntaxError, ValueError):
        return None  # IPython magics, or a syntax error the run will report
    assert isinstance(tree, ast.Module)
    return tree


def code_hash(notebook: nbformat.NotebookNode) -> str:
    """A hash of the code the learner wrote: code cell sources only, so that running cells and
    saving (new outputs) or editing Markdown does not make a saved check stale."""
    digest = hashlib.sha256()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode())
            digest.update(b"\0")
    return digest.hexdigest()[:16]
