"""Name the mistake a failing answer looks like, from the wrong-answer suite's failure signatures.

Every wrong answer in tests/wrong_answers/ is labelled with the kind of mistake it models. `make
misconceptions` checks each one as `asyncdb-lab check` does and records, in
data/misconceptions.yaml, which visible tests of its exercise it fails and what each said: its
signature. When a learner's answer fails exactly those tests with the same messages (timings and
addresses aside), `check` names the mistake and the notebook section that teaches it: two answers
that fail the same test for different reasons ("got 0 statements", "got 2 statements") are
different mistakes. Only visible tests take part, so a diagnosis never tells what the hidden tests
check; an answer that fails no visible test gets none. The mutants suite
(tests/course/test_mutants.py) checks every signature against a fresh check of its wrong answer,
so the file cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from asyncdb_lab.settings import DATA_DIR

MISCONCEPTIONS_FILE = DATA_DIR / "misconceptions.yaml"
# More candidates than this say little about the answer at hand: no diagnosis then.
MOST_CANDIDATES = 3
PREFIX_MARK = "…"


@dataclass(frozen=True)
class Misconception:
    notebook: str
    exercise: str
    mistake: str  # the wrong answer's label in tests/wrong_answers/
    # Visible test → its message, normalized; a message ending in "…" is a prefix (the rest
    # varied between runs of the same answer, e.g. how many of 20 racing calls failed).
    fails: dict[str, str]
    section: str  # the notebook's heading where the course teaches it

    def matches(self, failed: Mapping[str, str]) -> bool:
        """Does an answer that failed these visible tests (grade id → message) fail as this
        mistake does?"""
        if set(failed) != set(self.fails):
            return False
        for test, message in failed.items():
            recorded, said = self.fails[test], normalize(message)
            if recorded.endswith(PREFIX_MARK):
                if not said.startswith(recorded.removesuffix(PREFIX_MARK)):
                    return False
            elif said != recorded:
                return False
        return True


@lru_cache(maxsize=4)
def load_misconceptions(path: Path = MISCONCEPTIONS_FILE) -> tuple[Misconception, ...]:
    """Every recorded misconception; none when the file is missing or damaged (a diagnosis is a
    bonus: `check` works without it, and tests/course/test_misconceptions.py keeps it whole)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return tuple(
            Misconception(
                str(notebook),
                str(exercise),
                str(entry["mistake"]),
                {str(test): normalize(str(said)) for test, said in entry["fails"].items()},
                str(entry.get("section", "")),
            )
            for notebook, exercises in data.items()
            for exercise, entries in exercises.items()
            for entry in entries
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return ()


_VARYING = [
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "0x…"),  # object addresses
    (re.compile(r"\d+\.\d+"), "#.#"),  # timings and other measured figures
    (re.compile(r"\badl_\w+"), "adl_…"),  # scratch database and role names
    (re.compile(r"Connect call failed \([^)]*\)"), "Connect call failed (…)"),  # a free port
    (re.compile(r"\s+"), " "),
]


def normalize(message: str) -> str:
    """A test's failure message without what differs from run to run."""
    for pattern, replacement in _VARYING:
        message = pattern.sub(replacement, message)
    return message.strip()


def diagnose(
    exercise: str, failed: Mapping[str, str], path: Path = MISCONCEPTIONS_FILE
) -> list[Misconception]:
    """The known mistakes whose answers fail exactly these visible tests of the exercise (grade
    id → message) with the same messages, or [] when none does or too many do to be telling. A
    grade id names one exercise course-wide, so a renamed notebook is diagnosed too."""
    if not failed:
        return []
    matches = [m for m in load_misconceptions(path) if m.exercise == exercise and m.matches(failed)]
    return matches if len(matches) <= MOST_CANDIDATES else []


def describe(matches: list[Misconception]) -> str:
    """One paragraph for the learner, or "" for no match."""
    if not matches:
        return ""
    sections = list(dict.fromkeys(f"“{m.section}”" for m in matches if m.section))
    where = f" The notebook teaches it in {' and '.join(sections)}." if sections else ""
    if len(matches) == 1:
        return f"Looks like a known mistake: {matches[0].mistake}.{where}"
    mistakes = "; ".join(m.mistake for m in matches)
    return (
        f"Looks like one of {len(matches)} known mistakes, which fail these same tests: "
        f"{mistakes}.{where.replace('teaches it', 'teaches them')}"
    )
