"""Where the learner stands in the whole course: one row per notebook, from saved checks.

Nothing is run: each row comes from the notebook's last `asyncdb-lab check` (results.py), so
the table is instant. A notebook whose code changed since that check says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

import nbformat

from asyncdb_lab.course.notebook import Structure, code_hash, read_structure
from asyncdb_lab.learner.report import next_step, plural, points, wrap
from asyncdb_lab.learner.results import load_result
from asyncdb_lab.learner.workspace import course_notebooks, newer_upstream, topic_notebooks
from asyncdb_lab.settings import NOTEBOOKS_DIR

State = Literal["not_in_workspace", "not_checked", "changed", "checked", "unreadable"]


class _Sizes(TypedDict):
    exercises: int
    checkable: float
    hidden: float


@dataclass(frozen=True)
class ProgressRow:
    notebook: str
    state: State
    exercises: int
    checkable: float
    hidden: float
    done: int = 0
    earned: float = 0.0
    complete: bool = False
    next: str = ""


def progress_rows(workspace: Path, course: Path = NOTEBOOKS_DIR) -> list[ProgressRow]:
    """A row for every notebook of the course and of the workspace, in course order."""
    course_books = course_notebooks(course)
    workspace_books = topic_notebooks(workspace)
    rows = []
    for topic in sorted(set(course_books) | set(workspace_books)):
        reference = course_books.get(topic) or workspace_books[topic]
        structure = _read(reference)
        if isinstance(structure, str):
            rows.append(ProgressRow(topic, "unreadable", 0, 0.0, 0.0, next=structure))
            continue
        sizes = _Sizes(
            exercises=len(structure.exercises),
            checkable=structure.visible_points,
            hidden=structure.max_points - structure.visible_points,
        )
        mine = workspace_books.get(topic)
        if mine is None:
            adds = "`asyncdb-lab workspace` adds it"
            rows.append(ProgressRow(topic, "not_in_workspace", **sizes, next=adds))
            continue
        notebook = _read_notebook(mine)
        if isinstance(notebook, str):
            rows.append(ProgressRow(topic, "unreadable", **sizes, next=notebook))
            continue
        saved = load_result(workspace, topic)
        if saved is None:
            rows.append(
                ProgressRow(topic, "not_checked", **sizes, next=f"asyncdb-lab check {topic}")
            )
            continue
        changed = saved.code_hash != code_hash(notebook)
        rows.append(
            ProgressRow(
                topic,
                "changed" if changed else "checked",
                **sizes,
                done=saved.done,
                earned=saved.earned,
                complete=saved.passed and not changed,
                next=(
                    f"changed since the last check: asyncdb-lab check {topic}"
                    if changed
                    else ("done" if saved.passed else next_step(saved))
                ),
            )
        )
    return rows


def _read(path: Path) -> Structure | str:
    """The notebook's structure, or why it cannot be read (see _read_notebook)."""
    notebook = _read_notebook(path)
    return notebook if isinstance(notebook, str) else read_structure(notebook)


def _read_notebook(path: Path) -> nbformat.NotebookNode | str:
    """The notebook, or one line saying why it cannot be read and what to do."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several kinds for a damaged file
        first = (str(error).splitlines() or [""])[0][:80]
        kind = type(error).__name__
        why = "it is not valid JSON" if kind == "NotJSONError" else f"{kind}: {first}"
        topic = path.parent.name
        return f"cannot be read ({why}): undo your last edit, or asyncdb-lab reset {topic}"


def format_progress(rows: list[ProgressRow], workspace: Path, course: Path = NOTEBOOKS_DIR) -> str:
    if not rows:
        return "The course has no notebooks yet."
    table = [("Notebook", "Exercises", "Points", "Next")]
    for row in rows:
        checked = row.state in ("checked", "changed")
        done = str(row.done) if checked else "-"
        earned = points(row.earned) if checked else "-"
        table.append(
            (row.notebook, f"{done}/{row.exercises}", f"{earned}/{points(row.checkable)}", row.next)
        )
    totals = (
        "Total",
        f"{sum(r.done for r in rows)}/{sum(r.exercises for r in rows)}",
        f"{points(sum(r.earned for r in rows))}/{points(sum(r.checkable for r in rows))}",
        "",
    )
    widths = [max(len(line[i]) for line in [*table, totals]) for i in range(3)]

    def line(cells: tuple[str, str, str, str]) -> str:
        name, exercises, score, upcoming = cells
        text = f"{name:<{widths[0]}}  {exercises:>{widths[1]}}  {score:>{widths[2]}}  {upcoming}"
        return text.rstrip()

    lines = [line(cells) for cells in table]
    lines.append("-" * max(len(text) for text in lines))
    lines.append(line(totals))
    lines.append("")
    hidden = sum(r.hidden for r in rows)
    note = (
        "Points come from the visible tests, as of each notebook's last `asyncdb-lab check`; "
        "hidden tests add checks when a notebook is graded"
    )
    if hidden:
        note += f", and test cells that are all hidden hold {plural(hidden, 'more point')}"
    lines += wrap(note + ".", 100)
    for topic in newer_upstream(workspace, course) if workspace.exists() else []:
        lines.append(
            f"The course has a newer version of {topic}: `asyncdb-lab reset {topic}` switches to "
            f"it (your copy is kept in backups/)."
        )
    upcoming = next((r for r in rows if not r.complete), None)
    if upcoming is None:
        lines.append("Every notebook passes its visible tests. Well done.")
    else:
        lines.append(f"Next: {upcoming.notebook}: {upcoming.next}")
    return "\n".join(lines)
