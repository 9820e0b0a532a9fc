"""`asyncdb-lab grade` end to end, over the committed submissions in tests/submissions/.

One student per case (see tests/submissions/build.py): full, partial and untouched work; a
notebook that loops, awaits forever, sleeps on the server with the guard rails off, exits its
kernel, exhausts its memory or floods its output; deleted, edited, re-typed and forged test
cells; an object equal to everything; two kinds of tampering; a submission that snoops around;
and files that are not notebooks at all. Every (student, test) score is exact, and nothing
may be left behind.
"""

from __future__ import annotations

import asyncio
import datetime
import html
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from support.grading_run import (
    NOTEBOOK,
    REPO,
    SUBMISSIONS,
    GradingCourse,
    Run,
    class_submissions,
    interrupt,
    orphan_kernel_socket_folders,
    sleep_in_the_answer,
)
from support.observe import running_processes
from support.postgres import connected, execute

from asyncdb_lab.servers.embedded.server import EmbeddedServer, new_password

pytestmark = pytest.mark.slow

TIME_LIMIT = 12
SEED = "test_count_users_seed"
ONE = "test_count_users_one_statement"
BACK = "test_count_users_returns_connection"


def scores(seed: float, one: float, back: float) -> dict[str, float]:
    return {SEED: seed, ONE: one, BACK: back}


# student → (points per test, flags, a piece of the reason)
GRADED: dict[str, tuple[dict[str, float], set[str], str]] = {
    "full": (scores(2, 1, 1), set(), ""),
    "partial": (scores(2, 0, 1), set(), ""),
    "untouched": (scores(0, 0, 0), set(), ""),
    "loop_forever": (scores(2, 0, 0), {"time-limit"}, f"time limit ({TIME_LIMIT} s) in cell 20"),
    "await_forever": (scores(2, 0, 0), {"time-limit"}, f"time limit ({TIME_LIMIT} s) in cell 20"),
    "pg_sleep": (scores(2, 0, 0), {"time-limit"}, f"time limit ({TIME_LIMIT} s) in cell 20"),
    "kernel_exit": (scores(2, 0, 0), {"kernel-died"}, "the kernel exited (code 3) in cell 20"),
    "memory_hog": (scores(2, 0, 0), {"memory-limit"}, "ran out of memory (limit 2 GiB) in cell 20"),
    "output_flood": (scores(2, 1, 1), {"output-capped"}, ""),
    "deleted_test": (scores(2, 1, 1), {"tests-restored"}, ""),
    "edited_test": (scores(0, 0, 1), {"tests-restored"}, ""),
    "retyped_test": (scores(2, 0, 1), {"tests-restored"}, ""),
    "forged_metadata": (scores(2, 1, 1), {"tests-restored"}, ""),
    "always_equal": (scores(0, 0, 0), set(), ""),  # passes nothing
    "tamper_traceback": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    "tamper_expect": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    # It registers an IPython hook (to print the hidden tests): that alone is tampering now.
    "snoop": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
}
DETAILS = {
    "deleted_test": [f"test cell {ONE} was deleted: restored from the source"],
    "edited_test": [f"test cell {SEED} was edited: restored from the source"],
    "retyped_test": [f"test cell {ONE} was changed to markdown: restored from the source"],
    "forged_metadata": [
        "the grading metadata of answer cell count_users was changed (grade, points): restored",
        "a cell claimed the grade id 'test_bonus', which this notebook does not have",
    ],
    "tamper_traceback": [f"the course's expect() did not fail as it must before {ONE}"],
    "tamper_expect": [f"learner code replaced asyncdb_lab.checks.expect (before {ONE})"],
    "snoop": [f"learner code replaced shell.events.pre_run_cell (before {ONE})"],
}
# student → (the notebook column, a piece of the one-line reason)
REJECTED = {
    "invalid_json": (NOTEBOOK, "invalid JSON (line "),
    "empty_file": (NOTEBOOK, "empty file (0 bytes)"),
    "empty_notebook": (NOTEBOOK, "empty notebook: it has no cells"),
    "wrong_name": ("start_here.ipynb", "wrong notebook name 'start_here.ipynb'"),
    "missing_notebook": (
        NOTEBOOK,
        "missing notebook: no 00_start_here.ipynb from missing_notebook",
    ),
}


@pytest.fixture(scope="module")
def course() -> Iterator[GradingCourse]:
    course = GradingCourse()
    yield course
    course.remove()


@pytest.fixture
def new_course() -> Iterator[GradingCourse]:
    course = GradingCourse()
    yield course
    course.remove()


@pytest.fixture(scope="module")
def submissions(course: GradingCourse) -> Path:
    copy = course.root / "submissions"
    shutil.copytree(SUBMISSIONS / "class", copy)
    return copy


@pytest.fixture(scope="module")
def graded(course: GradingCourse, submissions: Path) -> Run:
    run = course.grade(
        submissions, course.root / "out", "--jobs", "2", "--timeout", str(TIME_LIMIT)
    )
    assert run.returncode == 0, run.explain()
    return run


def test_every_test_of_every_student_scores_exactly_as_expected(graded: Run):
    results = graded.by_student()
    assert set(results) == set(GRADED) | set(REJECTED)
    for student, (expected, _, _) in GRADED.items():
        result = results[student]
        assert result["status"] == "graded", (student, result["reason"])
        got = {test["name"]: test["points"] for test in result["tests"]}
        assert got == expected, student
        assert result["score"] == sum(expected.values()), student
        assert result["max_score"] == 4, student
        exercises = {test["exercise"] for test in result["tests"]}
        assert exercises == {"count_users"}, student


def test_flags_and_reasons_are_reported(graded: Run):
    results = graded.by_student()
    report = html.unescape((graded.out / "report.html").read_text())
    for student, (_, flags, reason) in GRADED.items():
        result = results[student]
        assert set(result["flags"]) == flags, student
        assert reason in result["reason"], (student, result["reason"])
        if not reason:
            assert result["reason"] == "", student
        for line in DETAILS.get(student, []):
            assert any(line in detail for detail in result["details"]), (student, line)
        if flags:
            assert student in report and result["reason"] in report, student
    for student, (notebook, reason) in REJECTED.items():
        result = results[student]
        expected = "missing" if student == "missing_notebook" else "rejected"
        assert result["status"] == expected, student
        assert result["notebook"] == notebook, student
        assert reason in result["reason"], (student, result["reason"])
        assert "\n" not in result["reason"], student
        assert result["reason"] in report, student


def test_tests_after_a_stop_are_marked_not_run(graded: Run):
    for student in ("loop_forever", "await_forever", "pg_sleep", "kernel_exit", "memory_hog"):
        tests = {t["name"]: t for t in graded.by_student()[student]["tests"]}
        assert tests[SEED]["status"] == "passed", student
        for name in (ONE, BACK):
            assert tests[name]["status"] == "not run", student
            assert tests[name]["message"].startswith("GradingStopped: not run: "), student


def test_a_server_side_query_is_stopped_at_the_time_limit(graded: Run):
    result = graded.by_student()["pg_sleep"]
    # The query ignored both server-side guard rails; the grader terminated its backend.
    assert result["cleanup"]["backends"] >= 1
    assert result["cleanup"]["databases"] >= 1
    assert result["seconds"] < TIME_LIMIT + 45
    for student in GRADED:
        assert graded.by_student()[student]["cleanup"]["databases"] >= 1, student


def test_tampering_scores_zero_and_is_marked_for_review_in_the_gradebook(
    graded: Run, course: GradingCourse
):
    for student in ("tamper_traceback", "tamper_expect"):
        rows = _gradebook_grades(course.gradebook, student)
        assert rows and all(score == 0 and needs_review for score, needs_review in rows), student
    assert all(
        score is not None and not review
        for score, review in _gradebook_grades(course.gradebook, "full")
    )


def test_the_feedback_shows_each_test_but_no_hidden_test_code(graded: Run):
    hidden = _hidden_test_code_lines()
    assert hidden, "the solution has hidden tests to look for"
    for student, (expected, _, _) in GRADED.items():
        page = graded.out / "feedback" / f"{student}.html"
        text = html.unescape(page.read_text())
        for name, points in expected.items():
            assert re.search(rf"{name}</code></td><td class=points>{points:g} / \d", text), (
                student,
                name,
            )
        leaked = [line for line in hidden if line in text]
        assert not leaked, (student, leaked)
    snoop = html.unescape((graded.out / "feedback" / "snoop.html").read_text())
    assert "ECHO " in snoop and "[a line of a hidden test was removed]" in snoop
    partial = html.unescape((graded.out / "feedback" / "partial.html").read_text())
    assert "count_users sent a statement without count(…)" in partial
    for student, (_, reason) in REJECTED.items():
        assert reason in html.unescape((graded.out / "feedback" / f"{student}.html").read_text())


def test_learner_output_is_capped(graded: Run):
    flood = graded.by_student()["output_flood"]
    assert "output-capped" in flood["flags"]
    assert (graded.out / "feedback" / "output_flood.html").stat().st_size < 60_000
    autograded = (
        graded.out.parent
        / "grader"
        / "autograded"
        / "output_flood"
        / NOTEBOOK
        / f"{NOTEBOOK}.ipynb"
    )
    assert autograded.stat().st_size < 2_000_000


def test_learner_code_sees_no_secrets_and_no_other_database(graded: Run, course: GradingCourse):
    found = _snoop_report(course)
    for secret in ("solutions", "grader", "gradebook", "tests", "git", "root_home", "write_repo"):
        assert found[secret].startswith("denied"), (secret, found[secret])
    assert found["other_clones"] == "READ []"
    assert found["environ_secrets"] == "READ []"
    assert found["processes"] == "READ [1, 2]"  # its own namespace: init and itself
    assert int(found["uid"].split()[1]) >= 1_000_000_000  # not root, not a real account
    assert found["postgres_superuser"].startswith("denied")
    assert found["superuser_role"] is False
    others = {k: v for k, v in found.items() if k.startswith("connect ")}
    assert others and all(v.startswith("denied") for v in others.values()), others


def test_the_report_and_exports(graded: Run):
    rows = graded.grades_csv()
    # wrong_name handed in a file that is no notebook of the course: rejected, and missing 00.
    assert len(rows) == len(GRADED) + len(REJECTED) + 1
    full = next(row for row in rows if row["student"] == "full")
    assert (full["status"], full["score"], full["max_score"], full["percent"]) == (
        "graded",
        "4",
        "4",
        "100",
    )
    summary = graded.summary
    assert summary["counts"] == {
        "graded": len(GRADED),
        "rejected": len(REJECTED) - 1,
        "missing": 2,  # missing_notebook's folder is empty; wrong_name's file is misnamed
    }
    passed = sum(1 for expected, _, _ in GRADED.values() if sum(expected.values()) == 4)
    assert summary["exercises"] == [
        {
            "notebook": NOTEBOOK,
            "exercise": "count_users",
            "passed": passed,
            "graded": len(GRADED),
            "pass_rate": round(passed / len(GRADED), 3),
        }
    ]
    assert (graded.out / "score-histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (graded.out / "report.html").read_text()
    for heading in (
        "What to teach again",
        "Tests most failed",
        "Pass rate per exercise",
        "Not graded",
        "Flagged",
        "Unusually alike solutions",
        "Slowest",
    ):
        assert heading in report
    assert "score-histogram.png" in report


def test_nothing_is_left_behind(graded: Run, course: GradingCourse):
    assert course.leftovers() == []


def test_a_rerun_keeps_every_result_and_grades_only_what_changed(
    graded: Run, course: GradingCourse, submissions: Path
):
    before = (graded.out / "grades.csv").read_text()
    again = course.grade(submissions, graded.out, "--timeout", str(TIME_LIMIT))
    assert again.returncode == 0, again.explain()
    assert f"({0} now, {len(GRADED)} kept from earlier runs)" in again.stdout
    assert (graded.out / "grades.csv").read_text() == before

    shutil.copyfile(
        submissions / "full" / f"{NOTEBOOK}.ipynb", submissions / "untouched" / f"{NOTEBOOK}.ipynb"
    )
    changed = course.grade(submissions, graded.out, "--timeout", str(TIME_LIMIT))
    assert changed.returncode == 0, changed.explain()
    assert f"(1 now, {len(GRADED) - 1} kept from earlier runs)" in changed.stdout
    assert changed.by_student()["untouched"]["score"] == 4
    assert course.leftovers() == []


def test_one_student_is_graded_again_on_demand_and_the_reports_keep_everyone(
    graded: Run, course: GradingCourse, submissions: Path
):
    rows = len(graded.grades_csv())
    forced = course.grade(
        submissions, graded.out, "--timeout", str(TIME_LIMIT), "--student", "full", "--force"
    )
    assert forced.returncode == 0, forced.explain()
    assert f"(1 now, {len(GRADED) - 1} kept from earlier runs)" in forced.stdout
    assert len(forced.grades_csv()) == rows
    assert forced.by_student()["full"]["score"] == 4

    unknown = course.grade(submissions, graded.out, "--student", "nobody")
    assert unknown.returncode != 0
    [line] = unknown.stderr.strip().splitlines()
    assert line.startswith("asyncdb-lab grade: no submission from nobody in the submissions")
    assert course.leftovers() == []


def test_an_lms_zip_is_graded_by_the_student_id_in_each_file_name(new_course: GradingCourse):
    course = new_course
    run = course.grade(SUBMISSIONS / "lms.zip", course.root / "out", "--timeout", "60")
    assert run.returncode == 0, run.explain()
    results = run.by_student()
    assert set(results) == {"zoe", "yann", "xavi", "walt"}
    assert (results["zoe"]["status"], results["zoe"]["score"]) == ("graded", 4)
    assert (results["yann"]["status"], results["yann"]["score"]) == ("graded", 3)
    assert results["yann"]["source"] == f"lms.zip:yann_1002_2002_{NOTEBOOK}-1.ipynb"
    assert results["xavi"]["status"] == "rejected"
    assert "wrong notebook name 'xavi_1003_2003_start_here.ipynb'" in results["xavi"]["reason"]
    assert "did you mean 00_start_here.ipynb?" in results["xavi"]["reason"]
    assert results["walt"]["status"] == "rejected"
    assert results["walt"]["reason"].startswith("invalid JSON")
    assert course.leftovers() == []


def test_late_work_is_flagged_and_the_courses_late_penalty_applies(new_course: GradingCourse):
    """A zip whose files carry their hand-in times (as an LMS download does), a deadline between
    them, and a course whose nbgrader configuration zeroes late work."""
    course = new_course
    with course.config.open("a") as config:
        config.write("\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")
    solved = (SUBMISSIONS / "class" / "full" / f"{NOTEBOOK}.ipynb").read_bytes()
    archive = course.root / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, when in [
            (f"early_1001_2001_{NOTEBOOK}.ipynb", (2026, 1, 1, 10, 0, 0)),
            (f"tardy_1002_2002_{NOTEBOOK}.ipynb", (2026, 1, 2, 10, 0, 0)),
            (f"marked_LATE_1003_2003_{NOTEBOOK}.ipynb", (2026, 1, 1, 11, 0, 0)),
        ]:
            zipped.writestr(zipfile.ZipInfo(name, when), solved)
    deadline = datetime.datetime(2026, 1, 1, 12, 0).astimezone()  # the zip's times are local
    run = course.grade(
        archive, course.root / "out", "--timeout", "60", "--deadline", deadline.isoformat()
    )
    assert run.returncode == 0, run.explain()
    results = run.by_student()
    assert (results["early"]["score"], results["early"]["flags"]) == (4, [])
    assert (results["tardy"]["score"], results["tardy"]["flags"]) == (0, ["late"])
    assert any("22.0 h after the deadline" in d for d in results["tardy"]["details"])
    assert any("late penalty: 4 points off" in d for d in results["tardy"]["details"])
    # Marked late by the LMS, but its time is before the deadline: flagged, and no penalty.
    assert (results["marked"]["score"], results["marked"]["flags"]) == (4, ["late"])
    assert course.leftovers() == []


def test_ctrl_c_stops_everything_and_the_next_run_resumes(new_course: GradingCourse):
    course = new_course
    submissions = class_submissions(
        course, {"a_full": "full", "b_slow": "full", "c_partial": "partial"}
    )
    sleep_in_the_answer(submissions / "b_slow" / f"{NOTEBOOK}.ipynb", seconds=120)
    out = course.root / "out"
    process = course.start(submissions, out, "--jobs", "1", "--timeout", "300")
    results = out / "results"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (
        (results / "a_full" / f"{NOTEBOOK}.json").exists() and _kernel_running(course)
    ):
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    # b_slow's kernel sleeps in the answer cell, for long after the run would have stopped.
    assert not (results / "b_slow").exists()
    interrupt(process)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, (stdout, stderr)
    assert "Interrupted. Every submission graded before that is kept" in stderr
    assert course.leftovers() == []

    # b_slow hands in its answer without the sleep (as a learner might): graded anew, as is
    # c_partial, which never started; a_full is kept.
    shutil.copyfile(
        next((SUBMISSIONS / "class" / "full").rglob("*.ipynb")),
        submissions / "b_slow" / f"{NOTEBOOK}.ipynb",
    )
    resumed = course.grade(submissions, out, "--jobs", "1", "--timeout", "300")
    assert resumed.returncode == 0, resumed.explain()
    assert "(2 now, 1 kept from earlier runs)" in resumed.stdout
    scores_now = {s: r["score"] for s, r in resumed.by_student().items()}
    assert scores_now == {"a_full": 4, "b_slow": 4, "c_partial": 3}
    assert course.leftovers() == []


def test_a_grading_worker_that_dies_costs_one_result_and_leaves_nothing(
    new_course: GradingCourse,
):
    course = new_course
    out = course.root / "out"
    process = _start_while_one_answer_sleeps(course, out, seconds=30, extra=("--timeout", "60"))
    for worker in _workers(course):
        worker.kill()
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 3, (stdout, stderr)
    result = json.loads((out / "summary.json").read_text())["submissions"][0]
    assert (result["student"], result["status"]) == ("slow", "error")
    assert result["reason"].startswith("not graded: its grading worker stopped")
    assert "could not be graded because of a problem on the grading side" in stderr
    assert course.leftovers() == []


def test_after_kill_9_nothing_runs_on_and_the_next_run_sweeps_the_folder(
    new_course: GradingCourse,
):
    course = new_course
    process = _start_while_one_answer_sleeps(course, course.root / "out", seconds=60)
    os.kill(process.pid, signal.SIGKILL)  # no clean-up code runs in the grade command
    process.communicate()
    # Workers die with it, kernels with their worker, PostgreSQL with its watchdog...
    stopped = time.monotonic() + 60
    while time.monotonic() < stopped and any("process" in line for line in course.leftovers()):
        time.sleep(0.2)
    assert not [line for line in course.leftovers() if "process" in line]
    # ...and only the run's folder stays, until the next run removes it.
    assert course.leftovers()
    empty = course.root / "nothing"
    empty.mkdir()
    assert course.grade(empty, course.root / "out").returncode == 0
    assert course.leftovers() == []
    # The killed kernel's socket folder too, wherever it was (/tmp when the run's is too deep).
    assert orphan_kernel_socket_folders(course.scratch / "tmp") == []


def test_a_postgresql_gradebook_takes_the_workers_writes(new_course: GradingCourse):
    course = new_course
    submissions = class_submissions(course, {"ann": "full", "ben": "partial", "cat": "untouched"})
    server = EmbeddedServer.start(tcp=True, password=new_password())
    try:
        asyncio.run(execute(server.admin_dsn, "CREATE DATABASE gradebook"))
        url = server.dsn("gradebook").replace("postgresql://", "postgresql+psycopg://")
        refused = course.grade(submissions, course.root / "out", "--gradebook", url)
        assert refused.returncode == 1
        assert "needs a course id" in refused.stderr
        course.config.write_text(
            course.config.read_text() + "c.CourseDirectory.course_id = 'asyncdb-lab'\n"
        )
        run = course.grade(submissions, course.root / "out", "--gradebook", url, "--jobs", "2")
        assert run.returncode == 0, run.explain()
        assert {s: r["score"] for s, r in run.by_student().items()} == {
            "ann": 4,
            "ben": 3,
            "cat": 0,
        }
        assert asyncio.run(_graded_students(server.dsn("gradebook"))) == ["ann", "ben", "cat"]
        again = course.grade(submissions, course.root / "out", "--gradebook", url)
        assert "(0 now, 3 kept from earlier runs)" in again.stdout
    finally:
        server.stop()
    assert course.leftovers() == []


# -- helpers ------------------------------------------------------------------------------------


async def _graded_students(dsn: str) -> list[str]:
    async with connected(dsn) as conn:
        rows = await conn.fetch("SELECT student_id FROM submitted_assignment ORDER BY 1")
    return [row[0] for row in rows]


def _start_while_one_answer_sleeps(
    course: GradingCourse, out: Path, *, seconds: int, extra: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    """Start grading one full submission whose answer sleeps; return once its kernel runs."""
    submissions = class_submissions(course, {"slow": "full"})
    sleep_in_the_answer(submissions / "slow" / f"{NOTEBOOK}.ipynb", seconds=seconds)
    process = course.start(submissions, out, *extra)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not _kernel_running(course):
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    return process


def _kernel_running(course: GradingCourse) -> bool:
    return any(line.startswith("kernel-user process") for line in course.leftovers())


def _workers(course: GradingCourse) -> list[psutil.Process]:
    return [
        psutil.Process(info["pid"])
        for info in running_processes("cmdline")
        if "asyncdb_lab.grading.worker" in " ".join(info["cmdline"] or [])
        and str(course.config) in " ".join(info["cmdline"] or [])
    ]


def _gradebook_grades(gradebook: Path, student: str) -> list[tuple[float | None, bool]]:
    with sqlite3.connect(gradebook) as conn:
        rows = conn.execute(
            "SELECT g.auto_score, g.needs_manual_grade FROM grade g "
            "JOIN submitted_notebook n ON g.notebook_id = n.id "
            "JOIN submitted_assignment a ON n.assignment_id = a.id WHERE a.student_id = ?",
            (student,),
        ).fetchall()
    return [(score, bool(review)) for score, review in rows]


def _hidden_test_code_lines() -> list[str]:
    source = json.loads((REPO / "solutions" / NOTEBOOK / f"{NOTEBOOK}.ipynb").read_text())
    lines = []
    for cell in source["cells"]:
        text = "".join(cell["source"])
        if "### BEGIN HIDDEN TESTS" not in text:
            continue
        hidden = text.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        lines += [
            line.strip()
            for line in hidden.splitlines()
            if len(line.strip()) >= 20 and not line.strip().startswith(('"', "'"))
        ]
    return lines


def _snoop_report(course: GradingCourse) -> dict:
    path = course.grader / "autograded" / "snoop" / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            if "SNOOP " in text:
                return json.loads(text.split("SNOOP ", 1)[1])
    raise AssertionError("the snooping cell printed no report")
