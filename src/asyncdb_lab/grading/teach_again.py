"""What the class report says to teach again: per test, how many graded submissions failed it,
and per exercise, the known mistakes most of the class made, with where the notebook teaches them.

Mistakes are named by the rule `asyncdb-lab check` uses (course/misconceptions.py): an answer whose
failing tests and messages are exactly a recorded wrong answer's. A submission that also fails a
hidden-only check, or fails in a way no recorded wrong answer does, is counted as failing but
named as no mistake: the counts of mistakes are a floor, never a guess.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from asyncdb_lab.course.misconceptions import Misconception, diagnose
from asyncdb_lab.grading.results import SubmissionResult

MOST_MISTAKES = 3  # per exercise, in the report


@dataclass(frozen=True)
class KnownMistake:
    mistake: str
    section: str

    @classmethod
    def of(cls, misconception: Misconception) -> KnownMistake:
        return cls(misconception.mistake, misconception.section)


@dataclass(frozen=True)
class TestFailures:
    __test__ = False  # a row of the report, not a test class for pytest to collect

    notebook: str
    test: str
    failed: int  # graded submissions in which it failed (or did not run)
    graded: int


@dataclass
class ExerciseMistakes:
    notebook: str
    exercise: str
    failing: int  # graded submissions failing at least one of its tests
    graded: int
    # A known mistake, where the notebook teaches it, and in how many submissions it was
    # recognised (most common first).
    mistakes: list[tuple[KnownMistake, int]] = field(default_factory=list)


def failures_per_test(results: list[SubmissionResult]) -> list[TestFailures]:
    """Every test of every graded notebook, most failed first."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for result in results:
        if result.status != "graded":
            continue
        for test in result.tests:
            entry = counts[(result.notebook, test.name)]
            entry[0] += test.status != "passed"
            entry[1] += 1
    rows = [
        TestFailures(nb, test, failed, graded) for (nb, test), (failed, graded) in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.failed / r.graded, r.notebook, r.test))


def exercise_mistakes(results: list[SubmissionResult]) -> list[ExerciseMistakes]:
    """Exercises that some graded submission failed, most failed first, with known mistakes."""
    found: dict[tuple[str, str], ExerciseMistakes] = {}
    named: dict[tuple[str, str], Counter[KnownMistake]] = defaultdict(Counter)
    for result in results:
        if result.status != "graded":
            continue
        by_exercise: dict[str, dict[str, str]] = defaultdict(dict)
        seen: set[str] = set()
        for test in result.tests:
            exercise = test.exercise or test.name
            seen.add(exercise)
            if test.status != "passed":
                by_exercise[exercise][test.name] = test.message
        for exercise in seen:
            key = (result.notebook, exercise)
            entry = found.setdefault(key, ExerciseMistakes(result.notebook, exercise, 0, 0))
            entry.graded += 1
            failed = by_exercise.get(exercise)
            if failed:
                entry.failing += 1
                for mistake in diagnose(exercise, failed):
                    named[key][KnownMistake.of(mistake)] += 1
    for key, counter in named.items():
        found[key].mistakes = counter.most_common(MOST_MISTAKES)
    failing = [entry for entry in found.values() if entry.failing]
    return sorted(failing, key=lambda e: (-e.failing / e.graded, e.notebook, e.exercise))
