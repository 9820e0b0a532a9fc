"""Hints for exercises and tests, kept in one data file (data/hints.yaml) keyed by grade id,
the way rustlings keeps its hints outside the exercises. The file's header documents its format.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.interview.bank import (
    NOTEBOOK as INTERVIEW_NOTEBOOK,  # its hints come from the bank
)
from asyncdb_lab.settings import DATA_DIR

HINTS_FILE = DATA_DIR / "hints.yaml"


@lru_cache(maxsize=4)
def load_hints(path: Path = HINTS_FILE) -> dict[str, dict[str, str]]:
    """{notebook: {grade id: hint}}; an empty dict when the file is missing."""
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return {}
    except yaml.YAMLError as error:
        raise AsyncDbLabError(f"{path} is not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise AsyncDbLabError(
            f"{path} should map each notebook to its hints (notebook: {{grade_id: hint}})."
        )
    hints = {
        str(notebook): {str(gid): " ".join(str(text).split()) for gid, text in entries.items()}
        for notebook, entries in data.items()
    }
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
        form = (
            f"a whole number of statements, e.g. `{name} = 2`"
            if question.kind == "count"
            else f'one letter in quotes, e.g. `{name} = "a"`'
        )
        hints[name] = f"Reread {question.section}, then answer with {form}."
        hints[f"test_{name}_key"] = (
            "The visible test checks only the form of your answer; the key is in the hidden "
            "tests. If you lost the point, run the reveal cell under the question for the "
            f"explanation, and reread {question.section}."
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
