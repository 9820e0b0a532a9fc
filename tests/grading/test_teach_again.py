"""The class report's "what to teach again": failures per test, and the known mistakes of the
class named by check's rule (data/misconceptions.yaml), never guessed."""

from __future__ import annotations

import html

from asyncdb_lab.course.misconceptions import diagnose, load_misconceptions
from asyncdb_lab.grading.report import render_report
from asyncdb_lab.grading.results import SubmissionResult, TestResult
from asyncdb_lab.grading.teach_again import exercise_mistakes, failures_per_test

# A recorded mistake that fails one visible test, and that alone has its signature.
KNOWN = next(
    m
    for m in load_misconceptions()
    if len(m.fails) == 1 and diagnose(m.exercise, m.fails) == [m] and "…" not in str(m.fails)
)
[(FAILED_TEST, MESSAGE)] = KNOWN.fails.items()


def submission(student: str, message: str | None, notebook: str = KNOWN.notebook):
    """A graded submission of the known mistake's exercise: its test failing with `message`
    (None: passing), and a second test of another exercise that always passes."""
    tests = [
        TestResult(
            FAILED_TEST,
            KNOWN.exercise,
            0.0 if message else 1.0,
            1.0,
            "failed" if message else "passed",
            message or "",
        ),
        TestResult("test_other_exercise", "other", 1.0, 1.0, "passed"),
    ]
    score = sum(t.points for t in tests)
    return SubmissionResult(student, notebook, "graded", score, 2.0, tests=tests)


CLASS = [
    submission("ann", MESSAGE),
    submission("ben", MESSAGE),
    submission("cid", "AssertionError: something no recorded wrong answer says"),
    submission("dee", None),
    SubmissionResult("eve", KNOWN.notebook, "missing", reason="missing notebook"),
]


def test_each_test_counts_the_graded_submissions_that_failed_it():
    rows = {(r.notebook, r.test): (r.failed, r.graded) for r in failures_per_test(CLASS)}
    assert rows == {
        (KNOWN.notebook, FAILED_TEST): (3, 4),
        (KNOWN.notebook, "test_other_exercise"): (0, 4),
    }


def test_the_known_mistake_is_counted_where_check_would_name_it_and_nowhere_else():
    [entry] = exercise_mistakes(CLASS)
    assert (entry.notebook, entry.exercise, entry.failing, entry.graded) == (
        KNOWN.notebook,
        KNOWN.exercise,
        3,
        4,
    )
    [(known, count)] = entry.mistakes
    assert (known.mistake, known.section, count) == (KNOWN.mistake, KNOWN.section, 2)


def test_the_report_says_what_to_teach_again_and_folds_long_reasons():
    long_reason = "a reason that goes on " * 20
    results = [*CLASS, SubmissionResult("fay", KNOWN.notebook, "rejected", reason=long_reason)]
    page = html.unescape(render_report(results, [], {}))
    assert f"2 × {KNOWN.mistake} — <i>{KNOWN.section}</i>" in page
    assert f"<td>{FAILED_TEST}</td><td>3 / 4</td>" in page
    assert f"<details><summary>{long_reason[:160]}…</summary>{long_reason}</details>" in page
