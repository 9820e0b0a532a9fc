"""Grading speed: `asyncdb-lab grade` against plain, sequential `nbgrader autograde`.

    python benchmarks/grading.py [N] [--jobs J]        (make benchmark-grading)

Builds N synthetic submissions of notebook 00 (full, partial, untouched and broken work, and one
file that is not JSON), then grades them twice, each time in a fresh copy of the course:

- `asyncdb-lab grade SUBMISSIONS --jobs J` (timed from the command's start: collecting, its
  own gradebook sync, workers, server, grading, reports);
- one `nbgrader autograde 00_start_here --create --force` over all students (timed).

Both courses start alike: a gradebook made by `nbgrader generate_assignment` (not timed).

It prints both times, their ratio and the seconds per notebook, and compares every
(student, test) score of the two gradebooks; it exits 1 if any differs.
"""

from __future__ import annotations

import argparse
import os
import runpy
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.grading_run import NOTEBOOK, GradingCourse  # noqa: E402

BUILD = runpy.run_path(str(REPO / "tests" / "submissions" / "build.py"))
SYNTAX_ERROR = "async def count_users(engine) -> int:\n    return (\n"
RAISES = "async def count_users(engine) -> int:\n    return 1 // 0\n"
KINDS = [
    ("full", BUILD["SOLUTION"]),
    ("counts-in-python", BUILD["COUNTS_IN_PYTHON"]),
    ("full", BUILD["SOLUTION"]),
    ("returns-1000", BUILD["RETURNS_1000"]),
    ("untouched", None),
    ("syntax-error", SYNTAX_ERROR),
    ("full", BUILD["SOLUTION"]),
    ("raises", RAISES),
]


def build(folder: Path, count: int) -> dict[str, str]:
    """N students in folder/<student>/00_start_here.ipynb; returns student → kind."""
    import nbformat

    kinds = {}
    for index in range(count):
        if index == count // 2:
            student, kind, text = f"s{index:03d}", "invalid-json", "{not json"
        else:
            kind, answer = KINDS[index % len(KINDS)]
            student = f"s{index:03d}"
            notebook = BUILD["release"]() if answer is None else BUILD["submission"](answer)
            text = nbformat.writes(notebook)
        path = folder / student / f"{NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(text)
        kinds[student] = kind
    return kinds


def scores(gradebook: Path) -> dict[tuple[str, str], float | None]:
    if not gradebook.exists():
        return {}
    with sqlite3.connect(gradebook) as conn:
        rows = conn.execute(
            "SELECT a.student_id, c.name, g.auto_score FROM grade g "
            "JOIN submitted_notebook n ON g.notebook_id = n.id "
            "JOIN submitted_assignment a ON n.assignment_id = a.id "
            "JOIN base_cell c ON g.cell_id = c.id"
        ).fetchall()
    return {(student, cell): score for student, cell, score in rows}


def nbgrader(course: GradingCourse, *args: str) -> tuple[float, int]:
    env = course.env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course.grader,
        env=env,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=40, help="submissions (default 40)")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()

    ours, theirs = GradingCourse(), GradingCourse()
    try:
        submissions = ours.root / "submissions"
        kinds = build(submissions, args.count)
        counts = {kind: list(kinds.values()).count(kind) for kind in dict.fromkeys(kinds.values())}
        print(
            f"{args.count} submissions of {NOTEBOOK} "
            f"({', '.join(f'{n} {kind}' for kind, n in counts.items())}); "
            f"{len(os.sched_getaffinity(0))} cores",
            flush=True,
        )
        subprocess.run([sys.executable, "-c", "import nbgrader.apps"], check=True)  # warm caches

        for course in (ours, theirs):
            nbgrader(course, "generate_assignment", NOTEBOOK, "--force")
        # Other work on the machine slows either run down: say how busy it was around each.
        loads = [os.getloadavg()[0]]
        run = ours.grade(submissions, ours.root / "out", "--jobs", str(args.jobs))
        loads.append(os.getloadavg()[0])
        if run.returncode not in (0, 3):
            print(run.explain())
            return 2
        ours_seconds = run.seconds

        for student in kinds:
            target = theirs.grader / "submitted" / student / NOTEBOOK
            target.mkdir(parents=True)
            shutil.copyfile(
                submissions / student / f"{NOTEBOOK}.ipynb", target / f"{NOTEBOOK}.ipynb"
            )
        loads.append(os.getloadavg()[0])
        theirs_seconds, _ = nbgrader(theirs, "autograde", NOTEBOOK, "--create", "--force")
        loads.append(os.getloadavg()[0])

        print(
            f"asyncdb-lab grade --jobs {args.jobs}:   {ours_seconds:6.1f} s  "
            f"({ours_seconds / args.count:.2f} s per notebook; load average {loads[0]:.1f} "
            f"before, {loads[1]:.1f} after)"
        )
        print(
            f"nbgrader autograde (sequential): {theirs_seconds:6.1f} s  "
            f"({theirs_seconds / args.count:.2f} s per notebook; load average {loads[2]:.1f} "
            f"before, {loads[3]:.1f} after)"
        )
        print(f"speed-up: {theirs_seconds / ours_seconds:.2f}x  (target: at least 1.7x)")
        mine, baseline = scores(ours.gradebook), scores(theirs.gradebook)
        graded = {student for student, _ in mine}
        different = {key for key in mine.keys() | baseline.keys() if key[0] in graded}
        different = {key for key in different if mine.get(key) != baseline.get(key)}
        rejected = sorted(set(kinds) - graded)
        if different:
            print(f"scores DIFFER for {len(different)} (student, test) pairs:")
            for key in sorted(different)[:20]:
                print(f"  {key}: asyncdb-lab {mine.get(key)}, nbgrader {baseline.get(key)}")
            return 1
        print(
            f"scores: identical for all {len(graded)} graded submissions ({len(mine)} test "
            f"cells); not graded by asyncdb-lab (and failed in nbgrader): {', '.join(rejected)} "
            f"({', '.join(kinds[s] for s in rejected)})"
        )
        return 0
    finally:
        ours.remove()
        theirs.remove()


if __name__ == "__main__":
    sys.exit(main())
