"""Hints for exercises and tests, kept in one data file (data/hints.yaml) keyed by grade id,
the way rustlings keeps its hints outside the exercises. The file's header documents its format;
the course manifest (manifest.py) loads it and checks every grade id against the course.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from asyncdb_lab.course.manifest import HINTS_FILE, written_hints
from asyncdb_lab.interview.bank import (
    NOTEBOOK as INTERVIEW_NOTEBOOK,  # its hints come from the bank
)

# A sentence that speaks of what the hidden tests (or the graded version) check.
_ABOUT_HIDDEN = re.compile(r"\b(hidden|graded)\b", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'])")


@lru_cache(maxsize=4)
def load_hints(path: Path = HINTS_FILE) -> dict[str, dict[str, str]]:
    """{notebook: {grade id: hint}}; an empty dict when the file is missing."""
    written = written_hints(path)
    if not written:
        return {}
    hints = {notebook: dict(entries) for notebook, entries in written.items()}
    interview = hints.setdefault(INTERVIEW_NOTEBOOK, {})
    for grade_id, text in interview_hints().items():
        interview.setdefault(grade_id, text)
    return hints


def interview_hints() -> dict[str, str]:
    """Hints for notebook 12, made from the question bank so that the two never drift apart."""
    from asyncdb_lab.interview.bank import load_bank

    hints: dict[str, str] = {}
    for question in load_bank():
        if not question.graded:
            continue
        name = f"answer_{question.id}"
        # No example value: an example such as `= "a"` or `= 2` would be the key of some questions.
        form = (
            "a whole number of statements, without quotes"
            if question.kind == "count"
            else "one of " + ", ".join(f'"{key}"' for key in question.choices) + ", in quotes"
        )
        hints[name] = f"Reread {question.section}, then set {name} to {form}."
        hints[f"test_{name}_key"] = (
            "The visible test checks only the form of your answer; the key is in the hidden "
            "tests. If you lost the point, your grading feedback gives the key and the "
            f"explanation; reread {question.section}."
        )
    return hints


def hint_for(notebook: str, grade_id: str, path: Path = HINTS_FILE) -> str:
    """The hint for a grade id in a notebook, or "" when none is written."""
    hints = load_hints(path)
    if notebook in hints:
        return hints[notebook].get(grade_id, "")
    # A notebook outside the course (renamed, say): a grade id names one exercise course-wide.
    for entries in hints.values():
        if grade_id in entries:
            return entries[grade_id]
    return ""


def hints_matching(name: str, path: Path = HINTS_FILE) -> list[tuple[str, str, str]]:
    """(notebook, grade id, hint) for a grade id, an exercise and its tests, or a notebook."""
    found = []
    for notebook, entries in load_hints(path).items():
        for grade_id, text in entries.items():
            if name in (notebook, grade_id) or grade_id.startswith(f"test_{name}_"):
                found.append((notebook, grade_id, text))
    return found


def learner_hints(name: str, path: Path = HINTS_FILE) -> list[tuple[str, str, str]]:
    """hints_matching(name) as `asyncdb-lab hint` gives them, one at a time: each cut before its
    first sentence about the hidden tests, and left out when nothing comes before it (a test
    cell whose checks are all hidden). What the hidden tests check is for grading to tell."""
    found = []
    for notebook, grade_id, text in hints_matching(name, path):
        shown = before_hidden(text)
        if shown:
            found.append((notebook, grade_id, shown))
    return found


def before_hidden(text: str) -> str:
    """The sentences of `text` before the first one that speaks of hidden tests or grading."""
    kept = []
    for sentence in _SENTENCE_BREAK.split(text):
        if _ABOUT_HIDDEN.search(sentence):
            break
        kept.append(sentence)
    return " ".join(kept)
