"""Notebook sources: the reviewable text every notebook is built from, and the way back.

Where things are, and which way they are generated:

    sources/<topic>.py                    the authored source of one notebook (committed, reviewed)
      -> solutions/<topic>/<topic>.ipynb  built from it: nbgrader's source (committed, generated)
        -> notebooks/<topic>/<topic>.ipynb   the learner version nbgrader releases from it

Notebook 12's source is the question bank, data/questions.yaml (asyncdb_lab.interview.notebook
turns it into text in this format). `asyncdb-lab release` (`make notebooks`) regenerates it all:
solutions/ from the sources, then notebooks/ with nbgrader. tests/course/test_sources.py checks
that the text round trip is exact and every id stable; tests/course/test_notebooks.py that
solutions/ is byte for byte what the sources build, and notebooks/ what nbgrader makes of it.
The sources live outside solutions/ on purpose: nbgrader copies every file of an assignment folder
into the learner release, and a source holds the solutions.

Format: every cell starts with a marker line that names its kind and its id.

    # %% [markdown] id=why-async           Markdown: each line starts with "# " (or is "#")
    # %% id=sleep-demo                     an ordinary code cell
    # %% readonly id=setup-database        a code cell nbgrader restores before grading (set-up);
                                           its grade id is readonly-setup-database
    # %% solution id=count_users           an autograded answer cell: the id is its grade id
    # %% tests id=test_count_users_seed points=2    an autograder test cell (locked)

Two things are added to every built notebook and taken off again by `export`, so authors never
write them: each tests cell ends with `print("✔ <grade id> passed: N points")` (success_line:
a stdout line, which nbgrader never reads as a score), and every code cell but the setup cell
carries the `raises-exception` tag, with which JupyterLab's Run All goes on past a failing cell.

One blank line separates cells. The id is the cell's id in the notebook, and never depends on
where the cell is or what it says: adding, moving or editing a cell changes no other cell's id,
so a diff of solutions/ or notebooks/ shows only what changed. Markdown, ordinary and read-only
cells take a short slug (a-z, 0-9, hyphens); a solution or tests cell takes its grade id, which
hidden tests, data/hints.yaml and the course manifest use (never rename one). A new cell needs
a new id: a few words of what it shows.

    python -m asyncdb_lab.course.authoring build sources/00_x.py solutions/00_x/00_x.ipynb
    python -m asyncdb_lab.course.authoring export solutions/00_x/00_x.ipynb > sources/00_x.py
    python -m asyncdb_lab.course.authoring format sources/00_x.py    # rewrite it canonically

`export` keeps every readable id and suggests a slug from the content for a cell that has none
(a notebook written in Jupyter, say), so `export` then `build` gives back the same notebook.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat

from asyncdb_lab.course.notebook import BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, has_test_code
from asyncdb_lab.settings import SOLUTIONS_DIR, SOURCES_DIR

_MARKER = re.compile(r"^# %%(?P<rest>.*)$")
_KINDS = {
    "[markdown]": "markdown",
    "readonly": "readonly",
    "solution": "solution",
    "tests": "tests",
}
_OPTIONS = {"tests": {"id", "points"}}  # every other kind takes id= only
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
GRADE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SLUG_MAX = 48
READONLY_PREFIX = "readonly-"
# The kernelspec as ipykernel installs it (JupyterLab writes it back on connecting, so a
# different display name marks every notebook modified). language_info depends on the
# learner's Python: `asyncdb-lab workspace` stamps theirs into each notebook it copies.
_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


# JupyterLab runs a cell with this tag with stop_on_error false, so that Run All goes on past
# an exercise not done yet. The setup cell has none: nothing after it works if it fails.
RUN_ALL_TAG = "raises-exception"
SETUP_ID = "setup-database"


class DraftError(ValueError):
    """A source that cannot be turned into a notebook (or back); the message names the line."""


def source_path(topic: str, sources: Path = SOURCES_DIR) -> Path:
    return sources / f"{topic}.py"


def source_topics(sources: Path = SOURCES_DIR) -> list[str]:
    """The topics that have a source in sources/, in course order."""
    return sorted(path.stem for path in sources.glob("*.py")) if sources.is_dir() else []


def solution_path(topic: str, solutions: Path = SOLUTIONS_DIR) -> Path:
    return solutions / topic / f"{topic}.ipynb"


def _nbgrader(kind: str, grade_id: str, points: int | None) -> dict:
    meta = {
        "grade": kind == "tests",
        "grade_id": grade_id,
        "locked": kind in ("tests", "readonly"),
        "schema_version": 3,
        "solution": kind == "solution",
        "task": False,
    }
    if kind == "tests":
        meta["points"] = points
    return meta


def _parse_marker(rest: str, line_no: int) -> tuple[str, dict[str, str]]:
    if rest and not rest[0].isspace():
        raise DraftError(
            f"line {line_no}: a marker is '# %%', a space, then the cell's kind and id"
        )
    tokens = rest.split()
    kind = "code"
    if tokens and "=" not in tokens[0]:
        word = tokens.pop(0)
        if word not in _KINDS:
            raise DraftError(
                f"line {line_no}: unknown cell kind {word!r} (one of {', '.join(_KINDS)})"
            )
        kind = _KINDS[word]
    options: dict[str, str] = {}
    allowed = _OPTIONS.get(kind, {"id"})
    for token in tokens:
        key, equals, value = token.partition("=")
        if not equals or not value or key not in allowed or key in options:
            raise DraftError(
                f"line {line_no}: unexpected {token!r} (a {kind} cell takes "
                + " and ".join(f"{key}=" for key in sorted(allowed))
                + ")"
            )
        options[key] = value
    if "id" not in options:
        example = (
            "a short slug such as setup-database"
            if kind not in ("solution", "tests")
            else "its grade id"
        )
        raise DraftError(f"line {line_no}: every cell needs id=<{example}>")
    cell_id = options["id"]
    if kind in ("solution", "tests"):
        if not GRADE_ID.fullmatch(cell_id) or len(cell_id) > 64:
            raise DraftError(f"line {line_no}: the grade id {cell_id!r} must be a Python name")
    elif not SLUG.fullmatch(cell_id) or len(cell_id) > SLUG_MAX:
        raise DraftError(
            f"line {line_no}: the id {cell_id!r} must be a slug: a-z, 0-9 and hyphens, "
            f"at most {SLUG_MAX} characters"
        )
    if kind == "tests" and not options.get("points", "").isdigit():
        raise DraftError(f"line {line_no}: a tests cell needs points=N")
    return kind, options


def build(text: str) -> nbformat.NotebookNode:
    """The notebook a source describes; DraftError names the line of the first mistake."""
    cells: list[nbformat.NotebookNode] = []
    seen: dict[str, int] = {}
    current: tuple[str, dict[str, str], int] | None = None
    lines: list[str] = []

    def flush() -> None:
        if current is None:
            return
        kind, options, line_no = current
        body = "\n".join(lines).strip("\n")
        cell_id = options["id"]
        if cell_id in seen:
            raise DraftError(
                f"line {line_no}: id {cell_id} is already the id of line {seen[cell_id]}"
            )
        seen[cell_id] = line_no
        if kind == "markdown":
            source = "\n".join(_markdown_line(line, line_no) for line in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            if kind == "tests":
                body = f"{body}\n{_success_print(cell_id, int(options['points']), body)}"
            cell = nbformat.v4.new_code_cell(body)
            if not (kind == "readonly" and cell_id == SETUP_ID):
                cell.metadata["tags"] = [RUN_ALL_TAG]
            if kind != "code":
                grade_id = READONLY_PREFIX + cell_id if kind == "readonly" else cell_id
                points = int(options["points"]) if kind == "tests" else None
                cell.metadata["nbgrader"] = _nbgrader(kind, grade_id, points)
        cell["id"] = cell_id
        cells.append(cell)

    for number, line in enumerate(text.splitlines(), start=1):
        marker = _MARKER.match(line)
        if marker:
            flush()
            kind, options = _parse_marker(marker.group("rest"), number)
            current, lines = (kind, options, number), []
        elif current is None:
            if line.strip():
                raise DraftError(f"line {number}: text before the first '# %%' marker")
        else:
            lines.append(line)
    flush()
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {key: dict(value) for key, value in _METADATA.items()}
    nbformat.validate(notebook)
    return notebook


def success_line(grade_id: str, points: int, source: str) -> str:
    """What a test cell prints when it gets to its end: which test passed and its points."""
    worth = f"{points} point{'' if points == 1 else 's'}"
    hidden = any(line.strip() == BEGIN_HIDDEN_TESTS for line in source.splitlines())
    if not hidden:
        return f"✔ {grade_id} passed: {worth}"
    if not has_test_code(_without_hidden_tests(source)):
        return f"◌ {grade_id}: hidden tests only, run when graded ({worth})"
    later = f"{worth} once the hidden tests pass too, when graded"
    return f"✔ {grade_id}: visible tests passed ({later})"


def _success_print(grade_id: str, points: int, source: str) -> str:
    return f"print({success_line(grade_id, points, source)!r})"


def _without_hidden_tests(source: str) -> str:
    kept, inside = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker in (BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS):
            inside = marker == BEGIN_HIDDEN_TESTS
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _without_success_print(source: str, grade_id: str, points: int) -> str:
    """A test cell's source as its author wrote it: build's success line taken off again."""
    authored, _, last = source.rpartition("\n")
    return authored if last == _success_print(grade_id, points, authored) else source


def _markdown_line(line: str, line_no: int) -> str:
    if line == "#":
        return ""
    if line.startswith("# "):
        return line[2:]
    if not line.strip():
        return ""
    raise DraftError(f"Markdown near line {line_no} must start each line with '# ': {line!r}")


def export(notebook: nbformat.NotebookNode) -> str:
    """The source of a notebook: build(export(nb)) gives nb back (outputs aside).

    Raises DraftError for a cell that text cannot hold exactly (a line that looks like a marker,
    a source that starts or ends with an empty line)."""
    ids = _ids(notebook)
    parts = []
    for cell, cell_id in zip(notebook.cells, ids, strict=True):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            header = f"# %% [markdown] id={cell_id}"
            body = "\n".join(f"# {line}" if line else "#" for line in cell.source.splitlines())
        else:
            if meta.get("solution"):
                header = f"# %% solution id={cell_id}"
            elif meta.get("grade"):
                header = f"# %% tests id={cell_id} points={meta.get('points', 0)}"
            elif meta.get("locked"):
                header = f"# %% readonly id={cell_id}"
            else:
                header = f"# %% id={cell_id}"
            body = cell.source
            if meta.get("grade") and not meta.get("solution"):
                body = _without_success_print(body, cell_id, int(meta.get("points", 0)))
        if cell.source != cell.source.strip("\n") or any(map(_MARKER.match, body.splitlines())):
            raise DraftError(
                f"cell {cell_id}: starts or ends with an empty line, or has a line that would "
                "read as a '# %%' marker"
            )
        parts.append(f"{header}\n{body}\n")
    return "\n".join(parts)


def render(notebook: nbformat.NotebookNode) -> str:
    """The exact text of a notebook file, as nbformat.write writes it."""
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def write(notebook: nbformat.NotebookNode, path: Path) -> bool:
    """Write the notebook unless the file already holds exactly that; True if it wrote."""
    text = render(notebook)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


# -- ids for a notebook that has none yet ----------------------------------------------------

_MACHINE_ID = re.compile(
    r"c\d{2}-[0-9a-f]{8}|(?=[a-f]*\d)[0-9a-f]{8}(?:-[0-9a-f]{4}){0,3}(?:-[0-9a-f]{12})?"
)
_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an the in of to and or for with on at by is are your its it this that be as from into "
        "than you we do does what why how when s one e g",
    )
)


def _ids(notebook: nbformat.NotebookNode) -> list[str]:
    """Every cell's source id: its grade id, its readable id, or a slug suggested from its text."""
    chosen: list[str | None] = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        cell_id = str(cell.get("id", ""))
        if meta.get("solution") or meta.get("grade"):
            chosen.append(meta["grade_id"])
        elif (
            SLUG.fullmatch(cell_id)
            and len(cell_id) <= SLUG_MAX
            and not _MACHINE_ID.fullmatch(cell_id)
        ):
            chosen.append(cell_id)
        else:
            chosen.append(None)
    taken = {cell_id for cell_id in chosen if cell_id}
    previous, setup_named = "cell", "setup-database" in taken
    ids: list[str] = []
    for cell, kept in zip(notebook.cells, chosen, strict=True):
        if kept is None:
            meta = cell.metadata.get("nbgrader", {})
            setup = bool(meta.get("locked")) and "disposable_database(" in cell.source
            if cell.cell_type == "markdown":
                suggestion = _markdown_slug(cell.source)
            elif setup and not setup_named:
                suggestion, setup_named = "setup-database", True
            else:
                suggestion = _code_slug(cell.source) or _join(previous.split("-"), 4, 35) + "-code"
            suggestion = "-".join(re.findall(r"[a-z0-9]+", suggestion)) or "cell"
            kept, number = suggestion, 2
            while kept in taken:
                kept, number = f"{suggestion}-{number}", number + 1
            taken.add(kept)
        if cell.cell_type == "markdown":
            previous = kept
        ids.append(kept)
    return ids


def _words(text: str, camel: bool = False) -> list[str]:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link: its text
    text = re.sub(r"\([^)]*\)", " ", text)  # parentheses: call arguments, asides
    if camel:
        text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return re.findall(r"[a-z0-9]+", text.lower())


def _join(words: list[str], count: int = 4, room: int = 40) -> str:
    words = words[:count]
    while len(words) > 1 and len("-".join(words)) > room:
        words = words[:-1]
    return "-".join(words)[:room].strip("-")


def _slug(text: str, count: int = 4, room: int = 40) -> str:
    words = _words(text)
    kept = [word for word in words if word not in _STOP]
    return _join(kept if len(kept) >= 2 else words, count, room)


def _markdown_slug(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip() and line.strip() != "---"]
    first = lines[0] if lines else ""
    heading = re.match(r"^(#+)\s+(.*)$", first)
    if heading and heading.group(1) == "#":
        return "intro"
    if heading:
        part = re.match(r"^Part (\w+)\s*[—-]\s*(.*)$", heading.group(2))
        if part:
            return f"part-{part.group(1).lower()}-" + _slug(part.group(2), 3, 33)
        return _slug(heading.group(2))
    first = first.lstrip("> ")
    fix = re.match(r"^\**(Common mistake|The fix(?:es)?)\b\**:?\**\s*(.*)$", first)
    if fix:
        prefix = "mistake-" if fix.group(1).startswith("Common") else "fix-"
        rest = re.split(r"(?<=[.:!?])\s|\*\*", fix.group(2))[0]
        return prefix + _slug(rest, 3, 40 - len(prefix)) if _words(rest) else prefix.strip("-")
    bold = re.match(r"^\*\*(.+?)\*\*", first)
    if bold:
        return _slug(bold.group(1))
    return _slug(re.split(r"(?<=[.:!?])\s", first)[0])


def _code_slug(source: str) -> str | None:
    code = [
        line
        for line in source.splitlines()
        if line.strip() and not re.match(r"^(import |from \S+ import )", line)
    ]
    if code and code[0].startswith("%%writefile"):
        return "write-" + _join(_words(code[0].split()[-1].rsplit("/", 1)[-1]), 6, 34)
    if code and code[0].startswith("#"):
        return _slug(code[0].lstrip("# ")) or None
    try:
        flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        tree = compile(source, "<cell>", "exec", flags=flags)
    except SyntaxError:  # cell magics
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return _join(_words(node.name.replace("_", " "), camel=True), 8, 40) or None
    return None


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "build":
        write(build(Path(argv[1]).read_text(encoding="utf-8")), Path(argv[2]))
        return 0
    if len(argv) == 2 and argv[0] == "export":
        sys.stdout.write(export(nbformat.read(argv[1], as_version=4)))
        return 0
    if len(argv) == 2 and argv[0] == "format":
        path = Path(argv[1])
        path.write_text(export(build(path.read_text(encoding="utf-8"))), encoding="utf-8")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
