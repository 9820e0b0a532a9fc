"""A throwaway nbgrader course for tests: generate, submit, autograde, read the gradebook.

It runs nbgrader's own command-line apps with the course's grader/nbgrader_config.py, only
pointing the course root at a temporary folder, so that what is tested is what instructors run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from asyncdb_lab.course.nbgrader_apps import nbgrader_env
from asyncdb_lab.settings import REPO


@dataclass(frozen=True)
class CellScore:
    grade_id: str
    score: float
    max_score: float


def write_course_config(root: Path) -> Path:
    """grader/nbgrader_config.py for a course at `root`: the repository's configuration, with the
    course root and the gradebook (grader/gradebook.db) moved there. Returns its path."""
    grader = root / "grader"
    grader.mkdir(parents=True, exist_ok=True)
    config = grader / "nbgrader_config.py"
    config.write_text(
        f"load_subconfig({str(REPO / 'grader' / 'nbgrader_config.py')!r})\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{grader / 'gradebook.db'}'\n"
    )
    return config


class TempCourse:
    def __init__(self, root: Path, assignment: str) -> None:
        self.root = root
        self.assignment = assignment
        shutil.copytree(REPO / "solutions" / assignment, root / "solutions" / assignment)
        write_course_config(root)

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'grader' / 'gradebook.db'}"

    def nbgrader(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "nbgrader", *args],
            cwd=self.root / "grader",
            env=nbgrader_env(),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{result.stderr[-4000:]}")
        return result

    def generate(self) -> Path:
        self.nbgrader("generate_assignment", self.assignment, "--force")
        return self.release_path()

    def release_path(self) -> Path:
        return self.root / "notebooks" / self.assignment / f"{self.assignment}.ipynb"

    def submit(self, student: str, notebook: nbformat.NotebookNode) -> None:
        folder = self.root / "grader" / "submitted" / student / self.assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / f"{self.assignment}.ipynb")

    def autograde(self) -> None:
        self.nbgrader("autograde", self.assignment, "--create", "--force")

    def scores(self, student: str) -> dict[str, CellScore]:
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gradebook:
            submission = gradebook.find_submission_notebook(
                self.assignment, self.assignment, student
            )
            return {
                grade.name: CellScore(grade.name, grade.score, grade.max_score)
                for grade in submission.grades
            }

    def autograded(self, student: str) -> nbformat.NotebookNode:
        path = (
            self.root
            / "grader"
            / "autograded"
            / student
            / self.assignment
            / f"{self.assignment}.ipynb"
        )
        return nbformat.read(path, as_version=4)
