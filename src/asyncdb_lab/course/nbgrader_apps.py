"""The course's assignments, and running nbgrader's own apps on them with its configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from asyncdb_lab.course.manifest import course
from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.settings import GRADER_DIR, QUIET_ENV, SOLUTIONS_DIR


def assignments(solutions: Path = SOLUTIONS_DIR) -> list[str]:
    """Topic folders of solutions/ that hold their notebook, in course order. The course's own
    solutions/ must hold exactly the notebooks of its manifest (data/course.yaml)."""
    found = sorted(
        folder.name
        for folder in solutions.iterdir()
        if folder.is_dir() and (folder / f"{folder.name}.ipynb").is_file()
    )
    if solutions.resolve() == SOLUTIONS_DIR.resolve():
        course().check_assignments(found, solutions)
    return found


def nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    # nbgrader runs `alembic` by name for its gradebook: this Python's bin folder must be on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault(QUIET_ENV, "1")
    return env


def run_nbgrader(*args: str, cwd: Path = GRADER_DIR) -> subprocess.CompletedProcess[str]:
    """Run `nbgrader ARGS` with the course configuration; fail with nbgrader's last words."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = [line for line in result.stderr.strip().splitlines() if line.strip()][-3:]
        raise AsyncDbLabError(f"nbgrader {' '.join(args)} failed: {' | '.join(tail)}")
    return result
