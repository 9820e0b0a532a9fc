"""The instructor's pipeline on the whole course: `asyncdb-lab grade` gives every solution
notebook full marks and every untouched learner notebook zero, in the sandbox, with each
submission's own database role (not the superuser the notebooks' own tests run as)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asyncdb_lab.course.nbgrader_apps import assignments
from asyncdb_lab.settings import NOTEBOOKS_DIR, SOLUTIONS_DIR


@pytest.mark.slow
def test_every_solution_scores_full_marks_and_every_learner_notebook_zero(tmp_path: Path):
    submissions = tmp_path / "submissions"
    for student, folder in (("solution", SOLUTIONS_DIR), ("untouched", NOTEBOOKS_DIR)):
        (submissions / student).mkdir(parents=True)
        for name in assignments():
            shutil.copy(folder / name / f"{name}.ipynb", submissions / student / f"{name}.ipynb")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "asyncdb_lab.cli", "grade", str(submissions), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    graded = json.loads((out / "summary.json").read_text())["submissions"]
    scores = {(s["student"], s["notebook"]): (s["score"], s["max_score"]) for s in graded}
    assert len(scores) == 2 * len(assignments())
    lost = {
        s["notebook"]: [
            t["name"] + ": " + t["message"] for t in s["tests"] if t["status"] != "passed"
        ]
        for s in graded
        if s["student"] == "solution" and s["score"] != s["max_score"]
    }
    assert not lost, f"solutions losing points when graded: {lost}"
    earned = {
        nb: score
        for (student, nb), (score, _) in scores.items()
        if student == "untouched" and score
    }
    assert not earned, f"untouched learner notebooks earning points: {earned}"
