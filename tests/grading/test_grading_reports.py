"""The reports of a grading run, from results made up here: escaping, caps, pass rates, files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from asyncdb_lab.grading.feedback import STUDENT_OUTPUT_CHARS, render_feedback
from asyncdb_lab.grading.report import exercise_rates, write_outputs
from asyncdb_lab.grading.results import SubmissionResult, TestResult

HOSTILE = "<script>alert('owned')</script>"


# The notebook's two tests: name, exercise, points, and the message a failed one gives.
TESTS = (
    (
        "test_count_users_seed",
        "count_users",
        2,
        "AssertionError: expected 1000 (int), got 0 (int).",
    ),
    ("test_make_engine_url", "make_engine", 1, "NameError: name 'make_engine' is not defined"),
)


def result(student: str, points: tuple[float, float], **kwargs) -> SubmissionResult:
    """A graded submission with `points` for TESTS: a test with fewer than full points failed."""
    tests = []
    for (name, exercise, worth, failure), got in zip(TESTS, points, strict=True):
        passed = got == worth
        status = "passed" if passed else "failed"
        tests.append(TestResult(name, exercise, got, worth, status, "" if passed else failure))
    return SubmissionResult(
        student=student,
        notebook="00_start_here",
        status="graded",
        score=sum(points),
        max_score=3,
        tests=tests,
        **kwargs,
    )


def test_everything_from_a_submission_is_escaped_in_feedback_and_report(tmp_path: Path):
    hostile = result("eve", (0, 0), reason=HOSTILE, flags=["time-limit"], source=HOSTILE)
    hostile.tests[0].message = HOSTILE
    hostile.tests[0].output = HOSTILE
    rejected = SubmissionResult("mallory", HOSTILE, "rejected", reason=HOSTILE, source=HOSTILE)
    paths = write_outputs([hostile, rejected], tmp_path, run={"isolation": "sandboxed"})
    for page in [paths["report"], *paths["feedback"].glob("*.html")]:
        text = page.read_text()
        assert "<script>" not in text, page
        assert "&lt;script&gt;" in text, page


def test_learner_output_in_feedback_is_capped_per_student():
    noisy = result("noisy", (2, 1))
    for test in noisy.tests:
        test.output = "x" * STUDENT_OUTPUT_CHARS
    page = render_feedback("noisy", [noisy, noisy])
    assert page.count("x") <= STUDENT_OUTPUT_CHARS + 100


def test_pass_rates_count_an_exercise_as_passed_only_when_all_its_tests_pass():
    results = [result("a", (2, 1)), result("b", (2, 0)), result("c", (0, 0))]
    rejected = SubmissionResult("d", "00_start_here", "rejected", reason="invalid JSON")
    rates = {
        r.exercise: (r.passed, r.graded, r.points) for r in exercise_rates([*results, rejected])
    }
    assert rates == {"count_users": (2, 3, 4.0), "make_engine": (1, 3, 1.0)}


def test_the_files_a_run_writes(tmp_path: Path):
    results = [result("a", (2, 1)), result("b", (0, 1), flags=["tampering"], reason="tampered")]
    paths = write_outputs(results, tmp_path, run={"graded": 2, "seconds": 3.2, "jobs": 2})
    with paths["grades"].open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["student"], r["score"], r["percent"], r["flags"]) for r in rows] == [
        ("a", "3", "100", ""),
        ("b", "1", "33.3", "tampering"),
    ]
    summary = json.loads(paths["summary"].read_text())
    assert summary["counts"] == {"graded": 2}
    assert [s["student"] for s in summary["submissions"]] == ["a", "b"]
    assert paths["histogram"].read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "feedback" / "a.html").exists()
    report = paths["report"].read_text()
    assert 'href="feedback/b.html"' in report and "needs review" in report


def test_a_test_that_did_not_run_reads_not_run_in_the_store_the_summary_and_feedback(
    tmp_path: Path,
):
    from asyncdb_lab.course.notebook import NOT_RUN
    from asyncdb_lab.grading.store import ResultStore

    stopped = result("s", (2, 0), flags=["time-limit"], reason="stopped")
    stopped.tests[1].status = NOT_RUN
    stopped.tests[1].message = "GradingStopped: not run: time limit"
    store = ResultStore(tmp_path / "results")
    store.save(stopped)
    stored = json.loads(store.path("s", "00_start_here").read_text())
    assert [t["status"] for t in stored["tests"]] == ["passed", "not run"]
    assert store.load("s", "00_start_here") == stopped  # and results stored as "not run" load
    stored["tests"][1]["status"] = NOT_RUN  # so do results stored in the code's spelling
    assert SubmissionResult.from_json(stored) == stopped
    paths = write_outputs([stopped], tmp_path / "out", run={})
    summary = json.loads(paths["summary"].read_text())
    assert summary["submissions"][0]["tests"][1]["status"] == "not run"
    assert "<td class=not-run>not run</td>" in render_feedback("s", [stopped])
