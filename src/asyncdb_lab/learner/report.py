"""A check's results as a person reads them in a terminal."""

from __future__ import annotations

import shutil
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # at run time this module needs no notebook machinery (`hint` uses it)
    from asyncdb_lab.learner.check import CheckedTest, CheckResult, ExerciseResult

_LABEL = {
    "passed": "PASS",
    "failed": "FAIL",
    "not_started": "TODO",
    "hidden": "LATER",
    "missing": "MISSING",
    "not_run": "NOT RUN",
}


def points(value: float) -> str:
    return f"{value:g}"


def plural(count: float, word: str) -> str:
    return f"{points(count)} {word}{'' if count == 1 else 's'}"


def format_check(result: CheckResult) -> str:
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 110))
    lines = [
        f"{result.notebook}: checked in {result.seconds:.1f} s, every cell run top to bottom "
        f"on a fresh database.",
        "",
    ]
    # Only the first exercise not started gets its explanation and hint: that is the next one.
    first_not_started = next((e for e in result.exercises if e.status == "not_started"), None)
    for exercise in result.exercises:
        brief = exercise.status == "not_started" and exercise is not first_not_started
        lines += [f"{exercise.name}: not started"] if brief else _exercise(exercise, width)
        if not brief:
            lines.append("")
    if lines[-1]:
        lines.append("")
    if result.problems:
        lines.append("Other problems:")
        for problem in result.problems:
            lines += wrap(problem, width, "  - ", "    ")
        lines.append("")
    lines += wrap(summary(result), width)
    lines += wrap(f"Next: {next_step(result)}", width)
    return "\n".join(lines)


def summary(result: CheckResult) -> str:
    total = len(result.exercises)
    text = (
        f"Done: {result.done} of {plural(total, 'exercise')} · "
        f"{points(result.earned)} of {plural(result.checkable, 'point')} from the visible tests."
    )
    if result.hidden:
        text += (
            f" {plural(result.hidden, 'more point')} in hidden tests, checked when your notebook"
            f" is graded."
        )
    return text


def next_step(result: CheckResult) -> str:
    """What the learner should do now, in one sentence."""
    if any(p.startswith("The setup cell") for p in result.problems):
        return "fix the setup problem above first: every exercise depends on it."
    for exercise in result.exercises:
        if exercise.status == "not_started":
            return f"start {exercise.name}."
        if exercise.status == "failing":
            failing = next(
                (t.grade_id for t in exercise.tests if t.status in ("failed", "missing")), None
            )
            where = f" ({failing})" if failing else ""
            return f"fix {exercise.name}{where}, save, and check again."
    if not result.exercises:
        return "this notebook has no exercises: read it and run its cells."
    return (
        "every exercise passes its visible tests. Before you hand it in, run "
        "Kernel → Restart Kernel and Run All Cells once, as the grader will."
    )


def _exercise(exercise: ExerciseResult, width: int) -> list[str]:
    if exercise.status == "not_started":
        head = f"{exercise.name}: not started"
    else:
        scored = f"{points(exercise.earned)} of {plural(exercise.checkable, 'point')}"
        head = f"{exercise.name}: {scored}"
    lines = [head]
    if exercise.message:
        lines += wrap(exercise.message, width, "  ", "  ")
    if exercise.hint:
        lines += wrap(f"Hint: {exercise.hint}", width, "  ", "        ")
    if exercise.mistake:
        lines += wrap(exercise.mistake, width, "  ", "  ")
    if exercise.status != "not_started":
        for test in exercise.tests:
            lines += _test(test, width)
    return lines


def _test(test: CheckedTest, width: int) -> list[str]:
    label = _LABEL[test.status]
    head = f"  {label:<7} {test.grade_id} ({plural(test.points, 'point')})"
    if test.status == "hidden":
        what = test.description.removeprefix("Check that ").rstrip(".")
        return wrap(f"{head}: a hidden test, run when graded: {what}.", width, "", " " * 10)
    lines = [head]
    if test.message:
        lines += wrap(test.message, width, "          ", "          ")
    if test.hint:
        lines += wrap(f"Hint: {test.hint}", width, "          ", "                ")
    return lines


def wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    out = []
    for index, paragraph in enumerate(text.splitlines() or [""]):
        out += textwrap.wrap(
            paragraph,
            width=width,
            initial_indent=first if index == 0 else rest,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [first if index == 0 else rest]
    return out
