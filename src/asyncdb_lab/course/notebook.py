"""An nbgrader notebook as the learner's checks and grading both read it.

Cells carry nbgrader metadata. An answer cell (`solution`) is an exercise: its grade id is the
function or class the learner writes. A test cell (`grade`) has points and a grade id
`test_<exercise>_<case>`; it belongs to the exercise whose name is the longest that fits. Test
cells and the setup and read-only cells are locked: whatever a learner does to them, the
released notebook's version is the one that runs. The released notebook holds no hidden tests:
they sit between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS` in the course's source and
run only when the notebook is graded.

cells             nbgrader_meta, grade_id, cell_kind, cell_points
exercises, tests  exercise_names, exercise_of, read_structure (Structure, GradeCell), code_hash
test status       TestStatus and GradedStatus, PASSED ... MISSING, status_words (whether a test
                  cell passed: verdict.py)
locked cells      locked_cells, locked_cell_changes, restore_locked_cells
hidden tests      hidden_test_lines
errors            last_line
jsonschema        skip_iri_grammar

nbformat is imported only inside the one function that reads a file, so that importing this
module and then calling skip_iri_grammar() is still in time.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import re
import sys
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from nbformat import NotebookNode

# -- cells ------------------------------------------------------------------------------------


def nbgrader_meta(cell: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's nbgrader metadata: {} when it has none, or something that is not a mapping."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: Mapping[str, Any]) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def cell_kind(cell: Mapping[str, Any]) -> str:
    """How a report names a locked or graded cell: test cell, answer cell or locked cell."""
    meta = nbgrader_meta(cell)
    if meta.get("grade") and not meta.get("solution"):
        return "test cell"
    if meta.get("solution"):
        return "answer cell"
    return "locked cell"


def cell_points(cell: Mapping[str, Any]) -> float:
    """The points a graded cell is worth (0 for any other cell)."""
    return float(nbgrader_meta(cell).get("points") or 0)


# -- exercises and their tests ----------------------------------------------------------------


def exercise_names(notebook: NotebookNode) -> tuple[str, ...]:
    """The notebook's exercises: the grade ids of its answer cells, in order."""
    return tuple(
        nbgrader_meta(c)["grade_id"] for c in notebook.cells if nbgrader_meta(c).get("solution")
    )


def exercise_of(grade_id: str, exercises: Iterable[str]) -> str | None:
    """The exercise a test cell checks: test_<exercise>_<case> → the longest exercise name that
    fits. None when the grade id belongs to no exercise (not a test cell, or a test of nothing
    in `exercises`)."""
    matches = [e for e in exercises if grade_id.startswith(f"test_{e}_")]
    return max(matches, key=len) if matches else None


@dataclass(frozen=True)
class GradeCell:
    grade_id: str
    exercise: str | None
    points: float
    # False when the released copy holds only the docstring: every check is a hidden test,
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
        """Points in test cells the released copy can run (the rest are hidden-only)."""
        return sum(test.points for test in self.tests if test.visible)


def read_structure(notebook: NotebookNode) -> Structure:
    """What the notebook asks: its exercises, and its test cells with their points."""
    exercises = exercise_names(notebook)
    tests = tuple(
        GradeCell(
            grade_id=meta["grade_id"],
            exercise=exercise_of(meta["grade_id"], exercises),
            points=cell_points(cell),
            visible=has_test_code(cell.source),
            description=_first_docstring_line(cell.source),
        )
        for cell in notebook.cells
        if (meta := nbgrader_meta(cell)).get("grade") and cell.cell_type == "code"
    )
    return Structure(exercises, tests)


def has_test_code(source: str) -> bool:
    """True unless the cell is empty or only a docstring (its tests were hidden), leaving aside
    the line that reports its result (course/authoring.py's success line)."""
    tree = _parse(source)
    if tree is None:
        return bool(source.strip())
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if body and is_success_line(body[-1]):
        body = body[:-1]
    return bool(body)


# The marks that start the line every test cell ends with: print("✔ … passed: 2 points").
SUCCESS_MARKS: Final = ("✔ ", "◌ ")


def is_success_line(node: ast.stmt) -> bool:
    """True for `print("✔ …")` (or "◌ …"): the line that reports a test cell's result."""
    call = node.value if isinstance(node, ast.Expr) else None
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "print"
        and len(call.args) == 1
        and not call.keywords
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
        and call.args[0].value.startswith(SUCCESS_MARKS)
    )


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


def code_hash(notebook: NotebookNode) -> str:
    """A hash of the code the learner wrote: code cell sources only, so that running cells and
    saving (new outputs) or editing Markdown does not change it."""
    digest = hashlib.sha256()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


# -- the status of a test cell ----------------------------------------------------------------

# Grading says one of these three of every test cell.
GradedStatus = Literal["passed", "failed", "not_run"]
# A learner's check can say more: an exercise not started, a test whose checks are all hidden
# (run only when graded), a test cell deleted from the learner's notebook.
TestStatus = Literal[GradedStatus, "not_started", "hidden", "missing"]

PASSED: Final = "passed"
FAILED: Final = "failed"
NOT_RUN: Final = "not_run"  # the notebook stopped (time limit, kernel died) before the cell
NOT_STARTED: Final = "not_started"
HIDDEN: Final = "hidden"
MISSING: Final = "missing"


def status_words(status: str) -> str:
    """A status as words in a sentence or a page: not_run → "not run"."""
    return status.replace("_", " ")


# -- locked cells -----------------------------------------------------------------------------


def locked_cells(notebook: NotebookNode) -> dict[str, NotebookNode]:
    """The notebook's locked cells (setup, read-only and test cells) by grade id, in order."""
    found: dict[str, NotebookNode] = {}
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if meta.get("locked") and meta.get("grade_id"):
            found[meta["grade_id"]] = cell
    return found


@dataclass(frozen=True)
class LockedCellChange:
    grade_id: str
    kind: str  # cell_kind() of the released cell
    change: str  # "deleted", "changed to markdown" (or another cell type), "edited"

    def __str__(self) -> str:
        return f"{self.kind} {self.grade_id} was {self.change}"


def locked_cell_changes(notebook: NotebookNode, released: NotebookNode) -> list[LockedCellChange]:
    """What became of each locked cell of `released` in `notebook`, in the released order: only
    the cells deleted, changed to another cell type or edited. When a grade id appears more than
    once, its last copy is the one compared (nbgrader grades the last)."""
    changes = []
    for gid, cell in locked_cells(released).items():
        copies = [c for c in notebook.cells if grade_id(c) == gid]
        if not copies:
            change = "deleted"
        elif copies[-1].cell_type != cell.cell_type:
            change = f"changed to {copies[-1].cell_type}"
        elif copies[-1].source != cell.source:
            change = "edited"
        else:
            continue
        changes.append(LockedCellChange(gid, cell_kind(cell), change))
    return changes


def restore_locked_cells(
    notebook: NotebookNode, released: NotebookNode
) -> tuple[NotebookNode, set[str]]:
    """A copy of `notebook` whose locked cells have the released source; and the grade ids of
    the released test cells that `notebook` no longer has. `notebook` itself is not changed."""
    sources = {gid: cell.source for gid, cell in locked_cells(released).items()}
    restored = copy.deepcopy(notebook)
    present = set()
    for cell in restored.cells:
        gid = grade_id(cell)
        if gid is not None:
            present.add(gid)
            if gid in sources:
                cell.source = sources[gid]
    tests = {nbgrader_meta(c)["grade_id"] for c in released.cells if nbgrader_meta(c).get("grade")}
    return restored, tests - present


# -- hidden tests -----------------------------------------------------------------------------

BEGIN_HIDDEN_TESTS: Final = "### BEGIN HIDDEN TESTS"
END_HIDDEN_TESTS: Final = "### END HIDDEN TESTS"
HIDDEN_LINE_CHARS = 12


def hidden_test_lines(path: Path) -> set[str]:
    """The lines of the hidden tests of the course's source notebook at `path`, stripped (those
    long enough to be code, not a bracket): what no feedback may show."""
    import nbformat

    lines: set[str] = set()
    for cell in nbformat.read(path, as_version=4).cells:
        inside = False
        for line in cell.source.splitlines():
            marker = line.strip()
            if marker == BEGIN_HIDDEN_TESTS:
                inside = True
            elif marker == END_HIDDEN_TESTS:
                inside = False
            elif inside and len(marker) >= HIDDEN_LINE_CHARS:
                lines.add(marker)
    return lines


SECRET_MIN_CHARS = 4  # shorter strings ("id", "x") say nothing about a hidden test
_QUOTED_IN_STRING = re.compile(r"'([^']{4,})'|\"([^\"]{4,})\"")
_BIG_NUMBER = re.compile(r"\b\d{3,}\b")
# A long string that is not SQL is prose for the learner (a hint kept in a table of cases).
PROSE_WORDS = 8
_SQL = re.compile(
    r"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WITH|DO|BEGIN|SET|LOCK|TRUNCATE|COPY"
    r"|GRANT|REVOKE|COMMENT|VALUES|CALL)\b",
    re.IGNORECASE,
)


def hidden_test_values(source: Path, release_text: str) -> dict[str, set[str]]:
    """The data of the hidden tests of the course's source notebook at `source` that the learner
    was never shown: the strings (and the quoted parts of SQL inside them: a trigger's message,
    say) and numbers of three digits or more that a hidden block writes, other than its messages
    for the learner (expect()'s `what` and `hint`, an assert's or a raise's text, and prose of
    eight words or more that is not SQL), and that appear
    nowhere in `release_text` (the released notebook), by the grade id of the test cell. A
    failure can quote them (the e-mail address a hidden test inserted, the value it expected):
    feedback must not."""
    import nbformat

    by_test: dict[str, set[str]] = {}
    for cell in nbformat.read(source, as_version=4).cells:
        values: set[str] = set()
        for block in _hidden_blocks(cell.source):
            values |= _data_literals(block)
        secret = {v for v in values if len(v.strip()) >= SECRET_MIN_CHARS and v not in release_text}
        if secret:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
            by_test.setdefault(grade_id, set()).update(secret)
    return by_test


def _hidden_blocks(source: str) -> list[str]:
    blocks: list[str] = []
    current: list[str] = []
    inside = False
    for line in source.splitlines():
        marker = line.strip()
        if marker == BEGIN_HIDDEN_TESTS:
            inside, current = True, []
        elif marker == END_HIDDEN_TESTS and inside:
            inside = False
            blocks.append(textwrap.dedent("\n".join(current)))
        elif inside:
            current.append(line)
    return blocks


def _data_literals(code: str) -> set[str]:
    """Strings and big numbers `code` writes as data, not as a message for the learner. Code
    that does not parse on its own counts every string as data."""
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    # A block inside a `with` or `try` that dedent cannot free (a string continued at the left
    # edge, say) parses as the body of an `if`.
    for attempt in (code, "if True:\n" + code):
        try:
            tree = compile(attempt, "<hidden>", "exec", flags)
            break
        except SyntaxError:
            continue
    else:
        texts = {m.group(1) or m.group(2) for m in _QUOTED_IN_STRING.finditer(code)}
        return texts | set(_BIG_NUMBER.findall(code))
    messages = {id(node) for node in _message_nodes(tree)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in messages or not isinstance(node, ast.Constant):
            continue
        if isinstance(node.value, str):
            if len(node.value.split()) >= PROSE_WORDS and not _SQL.match(node.value):
                continue
            found.add(node.value)
            found.update(m.group(1) or m.group(2) for m in _QUOTED_IN_STRING.finditer(node.value))
        elif isinstance(node.value, int) and abs(node.value) >= 100:
            found.add(str(node.value))
    return found


def _message_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node inside a message for the learner, and docstrings."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name.startswith("expect"):
                roots += node.args[2:] + [
                    k.value for k in node.keywords if k.arg in ("what", "hint")
                ]
        elif isinstance(node, ast.Assert) and node.msg is not None:
            roots.append(node.msg)
        elif isinstance(node, ast.Raise) and node.exc is not None:
            roots.append(node.exc)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                roots.append(body[0].value)
    return [inner for root in roots for inner in ast.walk(root)]


# -- errors -----------------------------------------------------------------------------------


def last_line(text: str) -> str:
    """The last line of `text` that is not blank, stripped ("" if none): what an error message
    or a traceback comes to."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- jsonschema -------------------------------------------------------------------------------


def skip_iri_grammar() -> None:
    """Spare this process the RFC 3987 grammar jsonschema would build; call it before anything
    imports jsonschema (importing nbformat does, and so do nbclient and nbgrader through it)."""
    # When the optional rfc3987-syntax package can be imported (jupyter-events depends on
    # jsonschema[format-nongpl], which installs it), jsonschema imports it while it is itself
    # imported, to register "iri" and "iri-reference" format checkers for drafts 7 and later;
    # and importing rfc3987-syntax builds Lark Earley parsers of the RFC 3987 grammar: about a
    # second of CPU here, more on a slow machine. nbformat never checks an IRI: it validates
    # against a draft 4 schema that has no "format" keyword, with fastjsonschema or with
    # jsonschema and no format checker. A None in sys.modules makes that import raise
    # ImportError, which jsonschema expects of an optional package: it goes on without those
    # two checkers (other schemas validated in this process lose only them). setdefault: once
    # the package is imported it is too late, and it is left alone.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
