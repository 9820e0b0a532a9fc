"""Write notebooks as plain text, build the .ipynb nbgrader wants, and back again.

The committed nbgrader sources are the .ipynb files in solutions/. This converter exists so that
a notebook can be drafted and reviewed as text:

    python -m asyncdb_lab.course.authoring build draft.py solutions/00_x/00_x.ipynb
    python -m asyncdb_lab.course.authoring export solutions/00_x/00_x.ipynb > draft.py

Draft format: cells start with a marker line.

    # %% [markdown]                      a Markdown cell; each line starts with "# " (or is "#")
    # %%                                 an ordinary code cell
    # %% readonly                        a code cell nbgrader restores before grading (setup)
    # %% solution id=count_users         an autograded answer cell (grade_id = the exercise)
    # %% tests id=test_count_users_basic points=1     an autograder test cell (locked)
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import nbformat

_MARKER = re.compile(r"^# %%(?P<rest>.*)$")
_KIND = re.compile(r"^\s*(?P<kind>\[markdown\]|readonly|solution|tests)?(?P<args>.*)$")


class DraftError(ValueError):
    """A draft that cannot be turned into a notebook; the message names the line."""


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


def build(text: str) -> nbformat.NotebookNode:
    cells: list[nbformat.NotebookNode] = []
    current: tuple[str, dict[str, str], int] | None = None
    lines: list[str] = []

    def flush() -> None:
        if current is None:
            return
        kind, args, line_no = current
        body = "\n".join(lines).strip("\n")
        cell_id = f"c{len(cells):02d}-" + hashlib.sha1(body.encode()).hexdigest()[:8]
        if kind == "markdown":
            source = "\n".join(_markdown_line(line, line_no) for line in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(body)
            if kind != "code":
                grade_id = args.get("id") or f"{kind}-{cell_id}"
                if kind in ("solution", "tests") and "id" not in args:
                    raise DraftError(f"line {line_no}: a {kind} cell needs id=<grade_id>")
                points = None
                if kind == "tests":
                    try:
                        points = int(args["points"])
                    except (KeyError, ValueError):
                        raise DraftError(f"line {line_no}: a tests cell needs points=N") from None
                cell.metadata["nbgrader"] = _nbgrader(kind, grade_id, points)
        cell["id"] = cell_id
        cells.append(cell)

    for number, line in enumerate(text.splitlines(), start=1):
        marker = _MARKER.match(line)
        if marker:
            flush()
            parsed = _KIND.match(marker.group("rest"))
            assert parsed is not None
            kind = (parsed.group("kind") or "code").strip("[]")
            args = dict(re.findall(r"(\w+)=(\S+)", parsed.group("args")))
            current, lines = (kind, args, number), []
        elif current is None:
            if line.strip():
                raise DraftError(f"line {number}: text before the first '# %%' marker")
        else:
            lines.append(line)
    flush()
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(notebook)
    return notebook


def _markdown_line(line: str, line_no: int) -> str:
    if line == "#":
        return ""
    if line.startswith("# "):
        return line[2:]
    if not line.strip():
        return ""
    raise DraftError(f"Markdown near line {line_no} must start each line with '# ': {line!r}")


def export(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            header = "# %% [markdown]"
            body = "\n".join(f"# {line}" if line else "#" for line in cell.source.splitlines())
        else:
            if meta.get("solution"):
                header = f"# %% solution id={meta['grade_id']}"
            elif meta.get("grade"):
                header = f"# %% tests id={meta['grade_id']} points={meta.get('points', 0)}"
            elif meta.get("locked"):
                header = "# %% readonly"
            else:
                header = "# %%"
            body = cell.source
        parts.append(f"{header}\n{body}\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "build":
        notebook = build(Path(argv[1]).read_text())
        nbformat.write(notebook, argv[2])
        return 0
    if len(argv) == 2 and argv[0] == "export":
        sys.stdout.write(export(nbformat.read(argv[1], as_version=4)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
