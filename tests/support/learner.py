"""Helpers for the learner-tool tests: workspaces with solved, half-solved or untouched notebooks,
and the `asyncdb-lab` command run as a learner runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from asyncdb_lab.course.notebook import nbgrader_meta
from asyncdb_lab.settings import REPO

ASSIGNMENTS = sorted(
    p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file()
)


def release(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)


def solution_sources(assignment: str) -> dict[str, str]:
    """Each exercise's solution, as a learner would type it (without nbgrader's markers)."""
    source = nbformat.read(REPO / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {
        nbgrader_meta(c)["grade_id"]: "\n".join(
            line for line in c.source.splitlines() if "### BEGIN SOLUTION" not in line
            and "### END SOLUTION" not in line
        )
        for c in source.cells
        if nbgrader_meta(c).get("solution")
    }  # fmt: skip


def learner_notebook(assignment: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The learner version with the given exercises' cells replaced by `answers`."""
    notebook = release(assignment)
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def put(workspace: Path, topic: str, notebook: nbformat.NotebookNode) -> Path:
    path = workspace / topic / f"{topic}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def cli_env(workspace: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCDB_LAB_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "100"
    if workspace is not None:
        env["ASYNCDB_LAB_WORKSPACE"] = str(workspace)
    return env


def asyncdb_lab(
    *args: str, workspace: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asyncdb_lab.cli", *args],
        cwd=REPO,
        env=cli_env(workspace),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
