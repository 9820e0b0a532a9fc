"""Hostile submissions graded end to end (tests/submissions/hostile, built by build.py).

Each attacks the grade (forged scores, canaries told apart from tests), the run (a crash in
clean-up, a full disk) or other students (data left for them, memory taken from them, the
network). Honest students are graded in the same run, in parallel, and keep full marks. Every
(student, test) score, flag and reason is exact, and nothing may be left behind.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.grading_run import SUBMISSIONS, GradingCourse, Run

pytestmark = pytest.mark.slow

TIME_LIMIT = 20
DATABASE_LIMIT_MB = 128  # disk_fill reaches it in seconds
SEED = "test_count_users_seed"
ONE = "test_count_users_one_statement"
BACK = "test_count_users_returns_connection"
FULL = {SEED: 2.0, ONE: 1.0, BACK: 1.0}


def scores(seed: float, one: float, back: float) -> dict[str, float]:
    return {SEED: seed, ONE: one, BACK: back}


# student → (points per test, flags, a piece of the reason; "" means no reason at all)
GRADED: dict[str, tuple[dict[str, float], set[str], str]] = {
    "honest_a": (FULL, set(), ""),
    "honest_b": (FULL, set(), ""),
    "honest_c": (FULL, set(), ""),
    # -- forged scores and canaries --
    "displayhook_forgery": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    "malformed_result": (FULL, set(), ""),
    "spare_canaries": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    "swallow_at_parse": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    "hide_by_class": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    "huge_message": (FULL, {"output-capped"}, ""),
    "swap_transformer": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    # It counts in Python: its own count_statements would have passed the one-statement test.
    "rebind_helper": (scores(2, 0, 1), set(), ""),
    "code_swap": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    "builtins_namespace": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    "ipython_code_swap": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    "module_class_swap": (scores(0, 0, 0), {"tampering"}, "grading tampered with"),
    # -- the database: owners, sizes, what survives --
    "log_flood": (FULL, set(), ""),
    "lock_hog": (FULL, set(), ""),  # advisory locks are not the learners' to take
    "owner_handoff": (FULL, set(), ""),
    "plant_for_others": (FULL, set(), ""),
    "read_planted": (FULL, set(), ""),
    "disk_fill": (scores(2, 0, 0), {"database-size"}, "its databases grew past the 128 MiB limit"),
    # -- the sandbox: user ids, keyrings, memory, network, descriptors --
    "keyring_plant": (FULL, set(), ""),
    "keyring_read": (FULL, set(), ""),
    # Its cgroup's OOM killer ends the kernel: reported as out of memory.
    "memfd_hog": (scores(2, 0, 0), {"memory-limit"}, "ran out of memory (limit 2 GiB) in cell 20"),
    "fork_hog": (FULL, set(), ""),  # the OOM killer takes children; the kernel lives on
    "net_probe": (FULL, set(), ""),
    "fd_forge": (FULL, set(), ""),
}
# student → lines that must be among the result's details
DETAILS: dict[str, list[str]] = {
    # -- forged scores and canaries --
    "displayhook_forgery": [f"learner code replaced shell.events.pre_run_cell (before {ONE})"],
    "malformed_result": ["a malformed execute_result message from the kernel was dropped"],
    "spare_canaries": [f"the course's expect() did not fail as it must before {ONE}"],
    "swallow_at_parse": [f"the course's expect() did not fail as it must before {ONE}"],
    "hide_by_class": [f"the course's expect() did not fail as it must before {ONE}"],
    "swap_transformer": [f"learner code replaced shell.input_transformers_cleanup (before {ONE})"],
    "rebind_helper": [f"before {ONE}, count_statements bound again as the notebook's own cells"],
    "code_swap": [f"learner code replaced asyncdb_lab.checks.expect (before {ONE})"],
    "builtins_namespace": ["learner code replaced"],
    "ipython_code_swap": ["learner code replaced"],
    "module_class_swap": [f"learner code replaced asyncdb_lab.checks.__class__ (before {ONE})"],
    # -- the database: owners, sizes, what survives --
    # -- the sandbox: user ids, keyrings, memory, network, descriptors --
}


@pytest.fixture(scope="module")
def course() -> Iterator[GradingCourse]:
    course = GradingCourse()
    yield course
    course.remove()


class LogSizes:
    """The largest size any grading server's log reached while the run went on (sampled)."""

    def __init__(self, runtime: Path) -> None:
        self.runtime = runtime
        self.largest = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.done.wait(0.05):
            # Folders come and go while they are listed (a server's goes at the end of a run).
            with contextlib.suppress(OSError):
                for log in self.runtime.rglob("postgres.log"):
                    with contextlib.suppress(OSError):
                        self.largest = max(self.largest, log.stat().st_size)


SERVER_LOGS: dict[str, int] = {}


@pytest.fixture(scope="module")
def graded(course: GradingCourse) -> Run:
    submissions = course.root / "submissions"
    shutil.copytree(SUBMISSIONS / "hostile", submissions)
    sizes = LogSizes(course.scratch / "runtime")
    sizes.thread.start()
    try:
        run = _grade_all(course, submissions)
    finally:
        sizes.done.set()
        sizes.thread.join()
    SERVER_LOGS["largest"] = sizes.largest
    return run


def _grade_all(course: GradingCourse, submissions: Path) -> Run:
    run = course.grade(
        submissions,
        course.root / "out",
        "--jobs",
        "2",
        "--timeout",
        str(TIME_LIMIT),
        "--database-limit",
        str(DATABASE_LIMIT_MB),
    )
    assert run.returncode == 0, run.explain()
    return run


def test_every_student_scores_exactly_as_expected(graded: Run):
    results = graded.by_student()
    assert set(results) == set(GRADED)
    for student, (expected, flags, reason) in GRADED.items():
        result = results[student]
        assert result["status"] == "graded", (student, result["reason"])
        got = {test["name"]: test["points"] for test in result["tests"]}
        assert got == expected, (student, got, result["reason"], result["details"])
        assert set(result["flags"]) == flags, (student, result["flags"], result["reason"])
        if reason:
            assert reason in result["reason"], (student, result["reason"])
            assert "\n" not in result["reason"], student
        else:
            assert result["reason"] == "", (student, result["reason"])
        for line in DETAILS.get(student, []):
            assert any(line in detail for detail in result["details"]), (student, line)


def test_nothing_is_left_behind(graded: Run, course: GradingCourse):
    assert course.leftovers() == []


def feedback(graded: Run, student: str) -> str:
    import html

    return html.unescape((graded.out / "feedback" / f"{student}.html").read_text())


def learner_output(graded: Run, student: str) -> str:
    """Everything the student's test cells printed, as the result records it."""
    return "\n".join(test["output"] for test in graded.by_student()[student]["tests"])


def autograded_notebook(graded: Run, student: str) -> Path:
    return (
        graded.out.parent
        / "grader"
        / "autograded"
        / student
        / "00_start_here"
        / "00_start_here.ipynb"
    )


def test_forgery_no_test_cell_keeps_an_execute_result(graded: Run):
    """nbgrader reads an execute_result as a score: none is left in a graded test cell."""
    import nbformat
    from nbgrader.utils import is_grade

    for student in ("displayhook_forgery", "honest_a"):
        notebook = nbformat.read(autograded_notebook(graded, student), 4)
        tests = [cell for cell in notebook.cells if is_grade(cell)]
        assert tests, student
        for cell in tests:
            kinds = {output.get("output_type") for output in cell.get("outputs", [])}
            assert "execute_result" not in kinds, (student, cell.metadata.nbgrader["grade_id"])


# -- the database: owners, sizes, what survives --


def _database_extra_output(graded: Run, student: str) -> str:
    """What the student's extra cell printed, in the autograded notebook."""
    import nbformat

    notebook = nbformat.read(autograded_notebook(graded, student), 4)
    cell = next(cell for cell in notebook.cells if cell.get("id") == "extra")
    return "".join(output.get("text", "") for output in cell.get("outputs", []))


def test_database_no_owner_handoff_succeeds_and_its_database_is_dropped(graded: Run):
    printed = _database_extra_output(graded, "owner_handoff")
    assert printed.count("HANDOFF denied:") == 4, printed
    assert "HANDOFF done" not in printed, printed
    result = graded.by_student()["owner_handoff"]
    assert result["cleanup"]["databases"] >= 1, result["cleanup"]  # `handoff`, its own still
    assert "handed_over" not in result["cleanup"], result["cleanup"]


def test_database_nothing_planted_reaches_a_later_student(graded: Run):
    planted = _database_extra_output(graded, "plant_for_others")
    for attempt in [
        "CREATE DATABASE planted_shared OWNER adl_course_tables",
        "ALTER DATABASE planted_public OWNER TO adl_course_tables",
        "CREATE TEMP TABLE planted",
        "CREATE TABLE public.planted",
        "SELECT lo_from_bytea",
        "SELECT lo_create",
    ]:
        assert f"PLANT denied: {attempt}" in planted, (attempt, planted)
    found = _database_extra_output(graded, "read_planted")
    assert "READ_PLANTED [" in found, found
    assert '"READ ' not in found and "PLANTED-SECRET" not in found, found
    assert "large objects: 0" in found, found


def test_database_disk_fill_is_stopped_near_its_limit(graded: Run):
    import re

    reason = graded.by_student()["disk_fill"]["reason"]
    match = re.fullmatch(
        r"its databases grew past the 128 MiB limit \(([\d.]+) MiB when seen\): "
        r"stopped( (in|after) cell \d+| between cells)?",
        reason,
    )
    assert match, reason
    assert DATABASE_LIMIT_MB < float(match.group(1)) < DATABASE_LIMIT_MB + 128, reason


# -- the sandbox: user ids, keyrings, memory, network, descriptors --


def _sandbox_extra_output(graded: Run, student: str) -> str:
    import json

    cells = json.loads(autograded_notebook(graded, student).read_text())["cells"]
    extra = next(cell for cell in cells if cell.get("id") == "extra")
    return "".join(
        "".join(output.get("text", "")) for output in extra["outputs"] if "text" in output
    )


def test_sandbox_no_key_reaches_another_kernel(graded: Run):
    planted = _sandbox_extra_output(graded, "keyring_plant")
    assert "PLANTED {'user': " in planted and "errno" not in planted, planted
    assert _sandbox_extra_output(graded, "keyring_read").strip() == "KEYRING_READ []"


def test_sandbox_memory_is_counted_per_kernel(graded: Run):
    memfds = _sandbox_extra_output(graded, "memfd_hog")
    assert "MEMFD 6" in memfds and "MEMFD 8" not in memfds, memfds  # 256 MiB each, 2 GiB in all
    assert _sandbox_extra_output(graded, "fork_hog").strip() in ("FORK_OK 0", "FORK_OK 1")


def test_sandbox_the_kernel_sees_no_host_port_or_socket_and_reaches_nothing(graded: Run):
    import json

    said = _sandbox_extra_output(graded, "net_probe")
    seen = json.loads(said.removeprefix("NET "))
    own = [[port, seen["uid"]] for port, _ in seen["tcp"]]
    assert seen["tcp"] == own and seen["tcp6"] == [], said  # its own listeners only
    assert set(seen["connected"]) <= {f"127.0.0.1:{port}" for port, _ in own}, said
    # Its ZMQ sockets, and the far end of its own database connection (the server's name for it)
    assert all(p.startswith("/run/jupyter/") or "/.s.PGSQL." in p for p in seen["unix"]), said


def test_sandbox_no_descriptor_reaches_a_log(graded: Run):
    import json

    said = json.loads(_sandbox_extra_output(graded, "fd_forge").removeprefix("FDS "))
    assert said["forged"] == {}, said
    assert said["descriptors"]["0"] == "/dev/null", said
    for log in (graded.out / "logs").rglob("*"):
        if log.is_file():
            assert "FORGED LOG LINE" not in log.read_text(errors="replace"), log


def test_sandbox_two_runs_at_once_both_grade_and_share_nothing():
    """Kernel user ids are per submission: a second run at the same time starts its kernels."""
    import json

    courses = [GradingCourse(), GradingCourse()]
    try:
        processes = []
        for course in courses:
            submissions = course.root / "submissions"
            for student in ("honest_a", "honest_b"):
                shutil.copytree(SUBMISSIONS / "hostile" / student, submissions / student)
            out = course.root / "out"
            processes.append((out, course.start(submissions, out, "--jobs", "2")))
        for out, process in processes:
            stdout, stderr = process.communicate(timeout=600)
            assert process.returncode == 0, (stdout, stderr)
            results = json.loads((out / "summary.json").read_text())["submissions"]
            assert {(r["student"], r["score"], tuple(r["flags"])) for r in results} == {
                ("honest_a", 4, ()),
                ("honest_b", 4, ()),
            }
        for course in courses:
            assert course.leftovers() == []
    finally:
        for course in courses:
            course.remove()


def test_database_learner_sessions_cannot_fill_the_server_log(graded: Run):
    """log_flood raises 100 messages of 1 MB at LOG level: none of it reaches the server's log."""
    assert graded.by_student()["log_flood"]["score"] == 4
    assert 0 < SERVER_LOGS["largest"] < 2 * 1024**2, SERVER_LOGS
