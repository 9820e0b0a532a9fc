"""`asyncdb-lab progress`: every notebook, exercises done, points, what next; sums that add up."""

from __future__ import annotations

from pathlib import Path

import nbformat
from support.learner import asyncdb_lab

from asyncdb_lab.course.authoring import build
from asyncdb_lab.course.notebook import code_hash
from asyncdb_lab.learner.check import CheckedTest, CheckResult, ExerciseResult
from asyncdb_lab.learner.progress import format_progress, progress_rows
from asyncdb_lab.learner.results import load_result, save_result
from asyncdb_lab.learner.workspace import sync_workspace


def draft(*exercises: tuple[str, list[int]]) -> str:
    """A notebook with the given exercises, each with visible test cells worth these points,
    and one hidden-only test cell worth 1 point."""
    parts = []
    for name, points in exercises:
        parts.append(f"# %% solution id={name}\ndef {name}():\n    raise NotImplementedError()\n")
        for index, worth in enumerate(points):
            parts.append(
                f"# %% tests id=test_{name}_{index} points={worth}\n"
                f'"""Check that {name} works."""\nassert {name}() == 1\n'
            )
        parts.append(
            f'# %% tests id=test_{name}_hidden points=1\n"""Check that {name} holds up."""\n'
        )
    return "\n".join(parts)


COURSE = {
    "00_a": draft(("alpha", [2, 1])),  # 3 visible points
    "01_b": draft(("beta", [2]), ("gamma", [1, 1])),  # 4
    "02_c": draft(("delta", [5])),  # 5
    "03_d": draft(("epsilon", [1])),  # 1: not in the workspace
}


def saved_check(workspace: Path, topic: str, exercises: list[ExerciseResult]) -> None:
    notebook = nbformat.read(workspace / topic / f"{topic}.ipynb", as_version=4)
    result = CheckResult(
        topic, "", code_hash(notebook), "2025-01-01T00:00:00+00:00", 1.0, exercises
    )
    save_result(workspace, topic, result)


def done(name: str, points: list[int]) -> ExerciseResult:
    """The saved check of an exercise `draft` made from (name, points): every visible test
    passed, the hidden one is still hidden."""
    tests = [CheckedTest(f"test_{name}_{i}", worth, "passed") for i, worth in enumerate(points)]
    return ExerciseResult(name, "done", [*tests, CheckedTest(f"test_{name}_hidden", 1, "hidden")])


def make_course(tmp_path: Path) -> tuple[Path, Path]:
    course, workspace = tmp_path / "course", tmp_path / "workspace"
    for topic, text in COURSE.items():
        (course / topic).mkdir(parents=True)
        nbformat.write(build(text), course / topic / f"{topic}.ipynb")
    sync_workspace(workspace, course)
    (workspace / "03_d" / "03_d.ipynb").unlink()
    return course, workspace


def test_progress_sums_saved_checks_and_says_what_is_next(tmp_path: Path):
    course, workspace = make_course(tmp_path)
    saved_check(workspace, "00_a", [done("alpha", [2, 1])])
    saved_check(
        workspace,
        "01_b",
        [
            done("beta", [2]),
            ExerciseResult(
                "gamma",
                "failing",
                [
                    CheckedTest("test_gamma_0", 1, "passed"),
                    CheckedTest("test_gamma_1", 1, "failed", message="gamma() should be 1"),
                    CheckedTest("test_gamma_hidden", 1, "hidden"),
                ],
            ),
        ],
    )
    # 02_c was checked, then edited.
    saved_check(
        workspace,
        "02_c",
        [ExerciseResult("delta", "not_started", [CheckedTest("test_delta_0", 5, "not_started")])],
    )
    notebook_c = workspace / "02_c" / "02_c.ipynb"
    edited = nbformat.read(notebook_c, as_version=4)
    edited.cells[0].source = "def delta():\n    return 1\n"
    nbformat.write(edited, notebook_c)

    rows = {row.notebook: row for row in progress_rows(workspace, course)}

    assert list(rows) == ["00_a", "01_b", "02_c", "03_d"]
    assert (rows["00_a"].state, rows["00_a"].done, rows["00_a"].earned) == ("checked", 1, 3)
    assert (rows["01_b"].state, rows["01_b"].done, rows["01_b"].earned) == ("checked", 1, 3)
    assert rows["02_c"].state == "changed"
    assert rows["03_d"].state == "not_in_workspace"
    assert [r.exercises for r in rows.values()] == [1, 2, 1, 1]
    assert [r.checkable for r in rows.values()] == [3, 4, 5, 1]
    assert [r.hidden for r in rows.values()] == [1, 2, 1, 1]
    assert rows["00_a"].complete and not rows["01_b"].complete
    assert rows["00_a"].next == "done"
    assert rows["01_b"].next.startswith("fix gamma (test_gamma_1)")
    assert "changed since the last check" in rows["02_c"].next

    text = format_progress(list(rows.values()), workspace, course)
    total = next(line for line in text.splitlines() if line.startswith("Total"))
    assert total.split() == ["Total", "2/5", "6/13"]
    assert "hold 5 more points" in " ".join(text.split())
    assert "Next: 01_b: fix gamma" in text


def test_an_unchecked_notebook_shows_its_size_and_the_command_to_run(tmp_path: Path):
    course, workspace = make_course(tmp_path)
    rows = progress_rows(workspace, course)
    assert [r.state for r in rows] == ["not_checked"] * 3 + ["not_in_workspace"]
    assert rows[0].next == "asyncdb-lab check 00_a"
    text = format_progress(rows, workspace, course)
    first = next(line for line in text.splitlines() if line.startswith("00_a"))
    assert first.split()[:3] == ["00_a", "-/1", "-/3"]
    total = next(line for line in text.splitlines() if line.startswith("Total"))
    assert total.split() == ["Total", "0/5", "0/13"]


def test_saved_results_round_trip_and_a_damaged_file_reads_as_none(tmp_path: Path):
    result = CheckResult(
        "00_a",
        "x.ipynb",
        "abc",
        "2025-01-01T00:00:00+00:00",
        1.5,
        [
            ExerciseResult(
                "alpha", "failing", [CheckedTest("test_alpha_0", 2, "failed", "d", "m", "h")]
            )
        ],
        ["a problem"],
    )
    path = save_result(tmp_path, "00_a", result)
    assert load_result(tmp_path, "00_a") == result
    path.write_text("{not json")
    assert load_result(tmp_path, "00_a") is None


def test_the_progress_command_lists_the_course_before_there_is_a_workspace(tmp_path: Path):
    run = asyncdb_lab("progress", "--workspace", str(tmp_path / "none"), timeout=60)
    assert run.returncode == 0, run.stderr
    assert "There is no workspace" in run.stdout
    assert "00_start_here" in run.stdout
    assert "`asyncdb-lab workspace` adds it" in run.stdout
