"""What a grading run writes: grades.csv, summary.json, the class report and its histogram.

OUT/grades.csv            one row per (student, notebook): score, status, flags, reason
OUT/summary.json          everything, per test, for scripts
OUT/report.html           what to teach again (the most failed exercises and tests, and the
                          known mistakes behind them), pass rates per exercise, the score
                          histogram, flagged, not graded and slowest submissions with reasons
                          and unusually alike solutions (similar_submissions.py)
OUT/score-histogram.png
OUT/feedback/<student>.html
"""

from __future__ import annotations

import csv
import html
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncdb_lab.grading.feedback import STYLE, feedback_file_name, write_feedback
from asyncdb_lab.grading.results import FLAGS, SubmissionResult
from asyncdb_lab.grading.similar_submissions import SimilarSubmissions
from asyncdb_lab.grading.teach_again import (
    ExerciseMistakes,
    TestFailures,
    exercise_mistakes,
    failures_per_test,
)

SLOWEST = 10
MOST_FAILED_TESTS = 15  # shown at once; the rest fold
FOLD_AT = 160  # characters of a reason shown before it folds
CSV_COLUMNS = [
    "student",
    "notebook",
    "status",
    "score",
    "max_score",
    "percent",
    "flags",
    "reason",
    "source",
    "seconds",
]


@dataclass(frozen=True)
class ExerciseRate:
    notebook: str
    exercise: str
    passed: int  # submissions that passed every test of the exercise
    graded: int
    points: float  # points earned on it, summed over submissions
    max_points: float

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


def write_outputs(
    results: list[SubmissionResult],
    out: Path,
    *,
    run: dict[str, Any],
    similar: list[SimilarSubmissions] | None = None,
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    rates = exercise_rates(results)
    paths = {
        "grades": out / "grades.csv",
        "summary": out / "summary.json",
        "report": out / "report.html",
        "histogram": out / "score-histogram.png",
        "feedback": out / "feedback",
    }
    _write_csv(results, paths["grades"])
    similar = similar or []
    paths["summary"].write_text(json.dumps(_summary(results, rates, run, similar), indent=1))
    write_feedback(results, paths["feedback"])
    _write_histogram(results, paths["histogram"])
    paths["report"].write_text(render_report(results, rates, run, similar))
    return paths


def exercise_rates(results: list[SubmissionResult]) -> list[ExerciseRate]:
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for result in results:
        if result.status != "graded":
            continue
        exercises: dict[str, list[Any]] = defaultdict(lambda: [True, 0.0, 0.0])
        for test in result.tests:
            entry = exercises[test.exercise or test.name]
            entry[0] = entry[0] and test.status == "passed"
            entry[1] += test.points
            entry[2] += test.max_points
        for exercise, (passed, points, max_points) in exercises.items():
            total = totals[(result.notebook, exercise)]
            total[0] += 1 if passed else 0
            total[1] += 1
            total[2] += points
            total[3] += max_points
    return [
        ExerciseRate(notebook, exercise, int(t[0]), int(t[1]), t[2], t[3])
        for (notebook, exercise), t in sorted(totals.items())
    ]


def _percent(result: SubmissionResult) -> float | None:
    if result.status != "graded" or not result.max_score:
        return None
    return round(100 * result.score / result.max_score, 1)


def _write_csv(results: list[SubmissionResult], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for result in results:
            percent = _percent(result)
            writer.writerow(
                {
                    "student": result.student,
                    "notebook": result.notebook,
                    "status": result.status,
                    "score": f"{result.score:g}",
                    "max_score": f"{result.max_score:g}",
                    "percent": "" if percent is None else f"{percent:g}",
                    "flags": " ".join(result.flags),
                    "reason": result.reason,
                    "source": result.source,
                    "seconds": f"{result.seconds:.1f}",
                }
            )


def _summary(
    results: list[SubmissionResult],
    rates: list[ExerciseRate],
    run: dict[str, Any],
    similar: list[SimilarSubmissions],
) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        counts[result.status] += 1
    return {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "run": run,
        "counts": dict(counts),
        "exercises": [
            {
                "notebook": r.notebook,
                "exercise": r.exercise,
                "passed": r.passed,
                "graded": r.graded,
                "pass_rate": round(r.rate, 3),
            }
            for r in rates
        ],
        "submissions": [
            dict(result.to_json(), reused=result.reused, instructor=result.instructor)
            for result in results
        ],
        "similar": [
            {
                "notebook": s.notebook,
                "exercise": s.pair.exercise,
                "students": [s.pair.first, s.pair.second],
                "similarity": round(s.pair.similarity, 3),
            }
            for s in similar
        ],
    }


def _write_histogram(results: list[SubmissionResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = [p for p in (_percent(r) for r in results) if p is not None]
    figure, axes = plt.subplots(figsize=(6, 3), dpi=100)
    axes.hist(scores, bins=[i * 10 for i in range(11)], color="#3b6fb6", edgecolor="white")
    axes.set_xlabel("score (% of the notebook's points)")
    axes.set_ylabel("submissions")
    axes.set_xlim(0, 100)
    axes.set_title(f"Scores of {len(scores)} graded submissions")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def render_report(
    results: list[SubmissionResult],
    rates: list[ExerciseRate],
    run: dict[str, Any],
    similar: list[SimilarSubmissions] | None = None,
) -> str:
    graded = [r for r in results if r.status == "graded"]
    not_graded = [r for r in results if r.status != "graded"]
    flagged = [r for r in graded if r.flags]
    slowest = sorted(graded, key=lambda r: r.seconds, reverse=True)[:SLOWEST]
    mean = sum(_percent(r) or 0 for r in graded) / len(graded) if graded else 0.0
    sections = [
        f"<h1>Class report</h1><p>{len(results)} submissions: {len(graded)} graded "
        f"({run.get('graded', 0)} in this run, {run.get('reused', 0)} kept from earlier runs), "
        f"{len(not_graded)} not graded. Mean score {mean:.1f} %. Run took "
        f"{run.get('seconds', 0):.0f} s with {run.get('jobs', 1)} workers; notebook time limit "
        f"{run.get('time_limit', 0):g} s.</p><p>Isolation: {_e(run.get('isolation', ''))}.</p>",
        _teach_again(exercise_mistakes(results), failures_per_test(results)),
        '<h2>Scores</h2><img src="score-histogram.png" alt="score histogram">',
        _table(
            "Pass rate per exercise (every test of the exercise passed)",
            ["notebook", "exercise", "pass rate", "passed", "average points"],
            [
                [
                    r.notebook,
                    r.exercise,
                    f"{100 * r.rate:.0f} %",
                    f"{r.passed} / {r.graded}",
                    f"{r.points / r.graded:.2f} / {r.max_points / r.graded:g}" if r.graded else "",
                ]
                for r in rates
            ],
        ),
        _table(
            "Not graded",
            ["student", "notebook", "status", "reason", "source"],
            [
                [_e(r.student), _e(r.notebook), _e(r.status), _folded(r.reason), _e(r.source)]
                for r in not_graded
            ],
            raw=True,
        ),
        _table(
            "Flagged",
            ["student", "notebook", "score", "flags", "reason and details"],
            [
                [
                    _feedback_link(r.student),
                    _e(r.notebook),
                    _e(f"{r.score:g} / {r.max_score:g}"),
                    _e(", ".join(FLAGS.get(flag, flag) for flag in r.flags)),
                    _folded("; ".join([r.reason, *r.details]).strip("; ")),
                ]
                for r in flagged
            ],
            raw=True,
        ),
        _table(
            "Unusually alike solutions: to look at, never a penalty by themselves",
            ["notebook", "exercise", "students", "alike"],
            [
                [
                    _e(s.notebook),
                    _e(s.pair.exercise),
                    f"{_feedback_link(s.pair.first)} and {_feedback_link(s.pair.second)}",
                    _e(f"{100 * s.pair.similarity:.0f} %"),
                ]
                for s in similar or []
            ],
            raw=True,
        ),
        _table(
            f"Slowest {len(slowest)}",
            ["student", "notebook", "seconds", "kernel start", "cells", "score", "why"],
            [
                [
                    r.student,
                    r.notebook,
                    f"{r.seconds:.1f}",
                    f"{r.timing.get('kernel_start', 0):.1f}",
                    f"{r.timing.get('cells', 0):.1f}",
                    f"{r.score:g} / {r.max_score:g}",
                    r.reason,
                ]
                for r in slowest
            ],
        ),
    ]
    return (
        "<!doctype html>\n<html lang=en><meta charset=utf-8><title>Class report</title>"
        f"<style>{STYLE}</style>\n" + "\n".join(sections) + "\n</html>\n"
    )


def _feedback_link(student: str) -> str:
    return f'<a href="feedback/{_e(feedback_file_name(student))}">{_e(student)}</a>'


def _teach_again(mistakes: list[ExerciseMistakes], tests: list[TestFailures]) -> str:
    exercises = _table(
        "What to teach again: the exercises most failed, and the known mistakes behind them",
        ["notebook", "exercise", "failing", "known mistakes (submissions, where it is taught)"],
        [
            [
                _e(m.notebook),
                _e(m.exercise),
                _e(f"{m.failing} / {m.graded}"),
                "<br>".join(
                    _e(f"{count} × {known.mistake}")
                    + (f" — <i>{_e(known.section)}</i>" if known.section else "")
                    for known, count in m.mistakes
                )
                or "none recognised",
            ]
            for m in mistakes
        ],
        raw=True,
    )
    rows = [[_e(t.notebook), _e(t.test), _e(f"{t.failed} / {t.graded}")] for t in tests if t.failed]
    shown = _table(
        "Tests most failed", ["notebook", "test", "failed"], rows[:MOST_FAILED_TESTS], raw=True
    )
    if len(rows) > MOST_FAILED_TESTS:
        rest = _table("", ["notebook", "test", "failed"], rows[MOST_FAILED_TESTS:], raw=True)
        shown += (
            f"<details><summary>{len(rows) - MOST_FAILED_TESTS} more failed tests</summary>"
            f"{rest.removeprefix('<h2></h2>')}</details>"
        )
    return exercises + shown


def _folded(text: str) -> str:
    """A long reason folds: its start shows, the rest opens on a click."""
    if len(text) <= FOLD_AT:
        return _e(text)
    return f"<details><summary>{_e(text[:FOLD_AT])}…</summary>{_e(text)}</details>"


def _table(title: str, header: list[str], rows: list[list[str]], raw: bool = False) -> str:
    """A titled table; with raw=True, its cells are HTML already (escaped by the caller)."""
    if not rows:
        return f"<h2>{_e(title)}</h2><p>None.</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if raw else _e(cell)}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<h2>{_e(title)}</h2><table><tr>{head}</tr>{body}</table>"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
