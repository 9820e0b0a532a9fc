"""Per-student feedback: each test's name, points and failure message, never a hidden test's code.

nbgrader's own feedback is the autograded notebook as HTML, hidden tests included; this one is
built from the results alone. Everything that came from a submission is escaped and capped.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from pathlib import Path

from asyncdb_lab.course.notebook import status_words
from asyncdb_lab.grading.results import SubmissionResult

STUDENT_OUTPUT_CHARS = 20_000

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #ddd;
         vertical-align: top; overflow-wrap: anywhere; }
summary { cursor: pointer; }
td.points { white-space: nowrap; }
.passed { color: #1a7f37; } .failed, .rejected, .error { color: #b42318; }
.not-run { color: #8a6d00; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
.note { background: #fff8e1; padding: .5rem .75rem; border-left: 4px solid #f0b400; }
"""


# What a learner reads about a notebook that got no score, by its status.
NOT_GRADED = {
    "rejected": "Not graded",
    "missing": "Not handed in",
    "superseded": "Replaced by a later upload",
}


def feedback_file_name(student: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._@+-]", "_", student).lstrip(".") or "student"
    return f"{safe}.html"


def write_feedback(results: list[SubmissionResult], folder: Path) -> dict[str, Path]:
    """One HTML page per student in `folder`; returns student → page."""
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[SubmissionResult]] = defaultdict(list)
    for result in results:
        by_student[result.student].append(result)
    pages = {}
    for student, own in sorted(by_student.items()):
        page = folder / feedback_file_name(student)
        page.write_text(render_feedback(student, own))
        pages[student] = page
    return pages


def render_feedback(student: str, results: list[SubmissionResult]) -> str:
    budget = [STUDENT_OUTPUT_CHARS]
    sections = "\n".join(_notebook_section(result, budget) for result in results)
    return (
        "<!doctype html>\n<html lang=en><meta charset=utf-8>"
        f"<title>Feedback for {_e(student)}</title><style>{STYLE}</style>\n"
        f"<h1>Feedback for {_e(student)}</h1>\n{sections}\n</html>\n"
    )


def _notebook_section(result: SubmissionResult, budget: list[int]) -> str:
    name = result.notebook or "(no notebook)"
    if result.status != "graded":
        what = NOT_GRADED.get(result.status, "Could not be graded")
        return (
            f"<h2>{_e(name)}</h2>\n<p class={result.status}>{what}: {_e(result.reason)}</p>\n"
            f"<p>Source: <code>{_e(result.source)}</code></p>"
        )
    parts = [f"<h2>{_e(name)} — {result.score:g} / {result.max_score:g} points</h2>"]
    if "tampering" in result.flags:
        parts.append(
            "<p class=note>Your notebook changed how the grader sees failing tests. It was "
            "scored 0 and your instructor will look at it.</p>"
        )
    elif result.reason:
        parts.append(
            f"<p class=note>The notebook stopped early: {_e(result.reason)}. Tests "
            "after that point did not run and score 0.</p>"
        )
    if result.instructor:
        items = "".join(f"<li>{_e(line)}</li>" for line in result.instructor)
        parts.append(f"<p class=note>Your instructor's review:</p><ul>{items}</ul>")
    if "tests-restored" in result.flags:
        items = "".join(
            f"<li>{_e(line)}</li>"
            for line in result.details
            if "restored" in line or "grade id" in line or "appears" in line
        )
        parts.append(
            f"<p class=note>Locked cells are graded as the course wrote them:</p><ul>{items}</ul>"
        )
    rows = []
    outputs = []
    for test in result.tests:
        status = test.status.replace("_", "-")
        rows.append(
            f"<tr><td><code>{_e(test.name)}</code></td>"
            f"<td class=points>{test.points:g} / {test.max_points:g}</td>"
            f"<td class={status}>{_e(status_words(test.status))}</td>"
            f"<td>{_e(test.message)}</td></tr>"
        )
        if test.output and budget[0] > 0:
            text = test.output[: budget[0]]
            budget[0] -= len(text)
            outputs.append(
                f"<details><summary>What your code printed during <code>{_e(test.name)}</code>"
                f"</summary><pre>{_e(text)}</pre></details>"
            )
    parts.append(
        "<table><tr><th>test</th><th>points</th><th>result</th><th>message</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    parts.extend(outputs)
    return "\n".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
