"""`asyncdb-lab grade --cluster`: grading on the worker processes of a Dask cluster.

The grade command runs as an instructor runs it, against a LocalCluster of two worker processes
started by the test (their temporary and PostgreSQL folders are the course's, so that leftovers
are counted): the scores are those of a local run; a worker killed mid-run costs nothing (its
submission is graded once, elsewhere) and leaves nothing once the cluster is closed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client
from support.dask_cluster import is_grading, local_dask_cluster, worker_pids
from support.grading_run import (
    NOTEBOOK,
    GradingCourse,
    Run,
    class_submissions,
    sleep_in_the_answer,
)
from support.postgres import connected, execute

from asyncdb_lab.servers.embedded.server import EmbeddedServer, new_password

pytestmark = pytest.mark.slow

TIME_LIMIT = "30"
SETTLE_SECONDS = 60  # for the leftovers of a closed cluster to go (watchdogs, nannies)
# A correct, a wrong and two hostile submissions (they kill their kernel; they tamper).
CLASS = {
    "ann": "full",
    "ben": "partial",
    "cat": "kernel_exit",
    "dan": "tamper_expect",
}


@pytest.fixture
def course() -> Iterator[GradingCourse]:
    course = GradingCourse()
    yield course
    course.remove()


def test_a_cluster_run_scores_exactly_as_a_local_run_and_a_rerun_grades_nothing(
    course: GradingCourse, monkeypatch: pytest.MonkeyPatch
):
    submissions = class_submissions(course, CLASS)
    local_course = GradingCourse()
    try:
        local = local_course.grade(
            submissions, local_course.root / "out", "--jobs", "2", "--timeout", TIME_LIMIT
        )
        assert local.returncode == 0, local.explain()
        local_scores = _scores(local)
        local_gradebook = _gradebook_scores(local_course.gradebook)
    finally:
        local_course.remove()
    with local_dask_cluster(course, monkeypatch) as cluster:
        address = cluster.scheduler_address
        out = course.root / "out"
        run = course.grade(submissions, out, "--cluster", address, "--timeout", TIME_LIMIT)
        assert run.returncode == 0, run.explain()
        again = course.grade(submissions, out, "--cluster", address, "--timeout", TIME_LIMIT)
        assert again.returncode == 0, again.explain()
        # The workers keep their grading workers and PostgreSQL until they close: seen here.
        assert any(line.startswith("process") for line in course.leftovers())
    print(f"local {local.seconds:.1f} s, cluster {run.seconds:.1f} s, rerun {again.seconds:.1f} s")
    assert _scores(run) == local_scores
    assert {s["status"] for s in run.summary["submissions"]} == {"graded"}
    assert _gradebook_scores(course.gradebook) == local_gradebook
    assert "(4 now, 0 kept from earlier runs)" in run.stdout
    assert "(0 now, 4 kept from earlier runs)" in again.stdout
    autograded = course.grader / "autograded" / "ann" / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    assert json.loads(autograded.read_text())["cells"]
    _assert_nothing_left(course)


def test_a_worker_killed_mid_run_costs_nothing_and_leaves_nothing(
    course: GradingCourse, monkeypatch: pytest.MonkeyPatch
):
    """With a PostgreSQL gradebook: every submission is written into it once."""
    submissions = class_submissions(course, {"ann": "full", "ben": "partial", "eve": "full"})
    sleep_in_the_answer(submissions / "eve" / f"{NOTEBOOK}.ipynb", seconds=10)
    course.config.write_text(
        course.config.read_text() + "c.CourseDirectory.course_id = 'asyncdb-lab'\n"
    )
    gradebook_server = EmbeddedServer.start(tcp=True, password=new_password())
    try:
        asyncio.run(execute(gradebook_server.admin_dsn, "CREATE DATABASE gradebook"))
        gradebook = gradebook_server.dsn("gradebook")
        url = gradebook.replace("postgresql://", "postgresql+psycopg://")
        with local_dask_cluster(course, monkeypatch) as cluster:
            address = cluster.scheduler_address
            out = course.root / "out"
            args = ("--cluster", address, "--timeout", TIME_LIMIT, "--gradebook", url)
            process = course.start(submissions, out, *args)
            with Client(address, set_as_default=False) as client:
                killed, lost_tasks = _kill_a_grading_worker(client, process)
                stdout, stderr = process.communicate(timeout=600)
                assert process.returncode == 0, (stdout, stderr)
                assert killed not in worker_pids(client).values()
            # It had a submission's task when it died: that one was graded again elsewhere.
            assert lost_tasks and all(k.startswith("asyncdb-lab-grade-") for k in lost_tasks)
            assert "(3 now, 0 kept from earlier runs)" in stdout
            # One progress line per submission: none was counted twice.
            finished = re.findall(r"^\s+\d+/3\s+(\w+)\s", stderr, re.MULTILINE)
            assert sorted(finished) == ["ann", "ben", "eve"], stderr
            results = json.loads((out / "summary.json").read_text())["submissions"]
            assert {r["student"]: (r["status"], r["score"]) for r in results} == {
                "ann": ("graded", 4),
                "ben": ("graded", 3),
                "eve": ("graded", 4),
            }
            assert asyncio.run(_graded_in(gradebook)) == {"ann": 4, "ben": 3, "eve": 4}
            again = course.grade(submissions, out, *args)
            assert again.returncode == 0, again.explain()
            assert "(0 now, 3 kept from earlier runs)" in again.stdout
    finally:
        gradebook_server.stop()
    _assert_nothing_left(course)


def test_a_scheduler_that_is_not_there_is_one_line(course: GradingCourse):
    submissions = class_submissions(course, {"ann": "full"})
    for address, expected in [
        ("nonsense://where", "is not a Dask scheduler's address"),
        ("tcp://127.0.0.1:9", "cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
    ]:
        run = course.grade(submissions, course.root / "out", "--cluster", address)
        assert run.returncode == 1, run.explain()
        assert expected in run.stderr
        assert "dask scheduler" in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert course.leftovers() == []


# -- helpers ------------------------------------------------------------------------------------


def _kill_a_grading_worker(client: Client, process: subprocess.Popen[str]) -> tuple[int, list[str]]:
    """SIGKILL the process of a Dask worker while it grades (its kernel runs): its pid and the
    tasks it had."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for address, pid in worker_pids(client).items():
            tasks = [str(key) for key in client.processing([address])[address]]
            if tasks and is_grading(pid):
                os.kill(pid, signal.SIGKILL)
                return pid, tasks
        time.sleep(0.2)
    raise AssertionError("no Dask worker started grading in 240 s")


def _assert_nothing_left(course: GradingCourse) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while course.leftovers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert course.leftovers() == []


def _scores(run: Run) -> dict[str, tuple]:
    """Per student: status, score, flags and every test's points."""
    return {
        s["student"]: (
            s["status"],
            s["score"],
            sorted(s["flags"]),
            {t["name"]: t["points"] for t in s["tests"]},
        )
        for s in run.summary["submissions"]
    }


def _gradebook_scores(gradebook: Path) -> dict[str, list[tuple[float | None, bool]]]:
    with sqlite3.connect(gradebook) as conn:
        rows = conn.execute(
            "SELECT a.student_id, c.name, g.auto_score, g.needs_manual_grade FROM grade g "
            "JOIN base_cell c ON g.cell_id = c.id "
            "JOIN submitted_notebook n ON g.notebook_id = n.id "
            "JOIN submitted_assignment a ON n.assignment_id = a.id ORDER BY 1, 2"
        ).fetchall()
    scores: dict[str, list[tuple[float | None, bool]]] = {}
    for student, _, score, review in rows:
        scores.setdefault(student, []).append((score, bool(review)))
    return scores


async def _graded_in(dsn: str) -> dict[str, float]:
    async with connected(dsn) as conn:
        rows = await conn.fetch(
            "SELECT a.student_id, sum(g.auto_score) AS score FROM grade g "
            "JOIN submitted_notebook n ON g.notebook_id = n.id "
            "JOIN submitted_assignment a ON n.assignment_id = a.id GROUP BY 1"
        )
    return {row["student_id"]: row["score"] for row in rows}
