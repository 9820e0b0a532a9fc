"""The course's manifest, in one place: its notebooks in order, their titles and exercises (grade
id and signature lines), the notebooks interview questions may belong to, and the hints written
for every exercise and test.

It loads data/course.yaml (its header documents the format) and data/hints.yaml, and checks
both; every other module asks here. Notebook 12's exercises are written into it by
asyncdb_lab.interview.notebook from the question bank, which takes its topics from here (so this
module imports nothing from interview/: no import cycle). Files are read on first use only:
the package is imported inside the grading sandbox, where data/ is absent. A problem is
reported on one line, naming the file, the notebook and the key.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from asyncdb_lab.course.notebook import exercise_of
from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.settings import DATA_DIR, REPO

COURSE_FILE = DATA_DIR / "course.yaml"
HINTS_FILE = DATA_DIR / "hints.yaml"
# The line of data/course.yaml after which asyncdb_lab.interview.notebook writes notebook 12's
# exercises (the file's last entry).
GENERATED_MARK = "  # Generated from data/questions.yaml by asyncdb_lab.interview.notebook.\n"

_NAME = re.compile(r"^\d\d_[a-z0-9_]+$")
_FIELDS = ("title", "interview_topic", "exercises")


class ManifestError(AsyncDbLabError):
    """data/course.yaml or data/hints.yaml is missing or does not follow its format."""


@dataclass(frozen=True)
class Notebook:
    name: str  # its folder in solutions/ and notebooks/, e.g. 00_start_here
    title: str  # as its opening cell shows it, after "NN · "
    interview_topic: bool  # interview questions may belong to it
    exercises: dict[str, tuple[str, ...]]  # grade id → signature lines, in notebook order


@dataclass(frozen=True)
class Course:
    path: Path
    notebooks: tuple[Notebook, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(notebook.name for notebook in self.notebooks)

    @property
    def topics(self) -> tuple[str, ...]:
        """The notebooks interview questions may belong to, in course order."""
        return tuple(notebook.name for notebook in self.notebooks if notebook.interview_topic)

    def notebook(self, name: str) -> Notebook:
        for notebook in self.notebooks:
            if notebook.name == name:
                return notebook
        raise ManifestError(f"{shown(self.path)}: no notebook {name!r}.")

    def check_assignments(self, found: list[str], folder: Path) -> None:
        """Refuse a folder of assignments (solutions/) not holding exactly these notebooks."""
        missing = [name for name in self.names if name not in found]
        extra = [name for name in found if name not in self.names]
        if missing or extra:
            parts = [f"missing from {shown(folder)}: {', '.join(missing)}"] if missing else []
            parts += [f"missing from {shown(self.path)}: {', '.join(extra)}"] if extra else []
            raise ManifestError(
                f"{shown(folder)} and {shown(self.path)} disagree ({'; '.join(parts)})."
            )


def shown(path: Path) -> str:
    """A path as people read it: relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ManifestError(f"{shown(path)} is not valid YAML{where}: {problem}.") from None


# -- data/course.yaml ---------------------------------------------------------------------


@lru_cache(maxsize=4)
def course(path: Path = COURSE_FILE) -> Course:
    """The course as data/course.yaml describes it, checked."""
    try:
        document = _read_yaml(path)
    except FileNotFoundError:
        raise ManifestError(
            f"No course manifest at {shown(path)}: restore data/course.yaml."
        ) from None
    where = shown(path)
    if not isinstance(document, dict) or not document:
        raise ManifestError(f"{where} should map each notebook to its title and exercises.")
    notebooks = tuple(_notebook(where, name, entry) for name, entry in document.items())
    names = [notebook.name for notebook in notebooks]
    for earlier, later in itertools.pairwise(names):
        if later <= earlier:
            raise ManifestError(
                f"{where}: {later}: listed after {earlier}; list the notebooks in the order of "
                f"their names (course order)."
            )
    owners: dict[str, str] = {}
    for notebook in notebooks:
        for grade_id in notebook.exercises:
            if grade_id in owners:
                raise ManifestError(
                    f"{where}: {notebook.name}: exercises: {grade_id}: already an exercise of "
                    f"{owners[grade_id]} (a grade id names one exercise course-wide)."
                )
            owners[grade_id] = notebook.name
    return Course(path, notebooks)


def _notebook(where: str, name: Any, entry: Any) -> Notebook:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ManifestError(f"{where}: {name!r}: a notebook is named NN_words, e.g. 00_start_here.")
    where = f"{where}: {name}"
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: should be a mapping with {', '.join(_FIELDS)}.")
    unknown = sorted(str(key) for key in entry if key not in _FIELDS)
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {', '.join(unknown)}.")
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ManifestError(f"{where}: title: required, as text.")
    topic = entry.get("interview_topic", False)
    if not isinstance(topic, bool):
        raise ManifestError(f"{where}: interview_topic: true or false, got {topic!r}.")
    exercises = entry.get("exercises")
    if not isinstance(exercises, dict) or not exercises:
        raise ManifestError(
            f"{where}: exercises: required, a mapping of grade id to signature lines."
        )
    declared: dict[str, tuple[str, ...]] = {}
    for grade_id, signatures in exercises.items():
        if not isinstance(grade_id, str) or not grade_id.isidentifier():
            raise ManifestError(
                f"{where}: exercises: {grade_id!r} is not a grade id (a function or class name)."
            )
        if (
            not isinstance(signatures, list)
            or not signatures
            or not all(isinstance(line, str) and line.strip() for line in signatures)
        ):
            raise ManifestError(
                f"{where}: exercises: {grade_id}: should be a list of signature lines, "
                f"got {signatures!r}."
            )
        declared[grade_id] = tuple(signatures)
    return Notebook(name, title.strip(), topic, declared)


def write_generated_exercises(
    exercises: dict[str, tuple[str, ...]], path: Path = COURSE_FILE
) -> bool:
    """Write the exercises of the file's last entry (notebook 12), after GENERATED_MARK, unless
    the file holds them already; True if it wrote."""
    text = path.read_text(encoding="utf-8")
    head, mark, _ = text.partition(GENERATED_MARK)
    if not mark:
        raise ManifestError(
            f"{shown(path)}: the line {GENERATED_MARK.strip()!r} is missing; it goes in the last "
            f"entry, where its generated exercises begin."
        )
    lines = ["  exercises:"]
    for grade_id, signatures in exercises.items():
        lines.append(f"    {grade_id}:")
        lines += [f"      - {json.dumps(signature)}" for signature in signatures]
    new = head + mark + "\n".join(lines) + "\n"
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    course.cache_clear()
    written_hints.cache_clear()
    return True


# -- data/hints.yaml ----------------------------------------------------------------------


@lru_cache(maxsize=4)
def written_hints(
    path: Path = HINTS_FILE, course_path: Path = COURSE_FILE
) -> dict[str, dict[str, str]]:
    """{notebook: {grade id: hint}} as data/hints.yaml holds them (line breaks folded), each
    notebook one of the course's and each grade id one of its exercises or their tests
    (test_<exercise>_<case>). An empty dict when the file is missing."""
    try:
        data = _read_yaml(path)
    except FileNotFoundError:
        return {}
    if data is None:
        return {}
    where = shown(path)
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ManifestError(
            f"{where} should map each notebook to its hints (notebook: {{grade_id: hint}})."
        )
    manifest = course(course_path)
    hints: dict[str, dict[str, str]] = {}
    for notebook, entries in data.items():
        if notebook not in manifest.names:
            raise ManifestError(
                f"{where}: {notebook}: not a notebook of the course ({shown(manifest.path)})."
            )
        exercises = list(manifest.notebook(notebook).exercises)
        hints[notebook] = {}
        for grade_id, text in entries.items():
            if not isinstance(grade_id, str) or not (
                grade_id in exercises or exercise_of(grade_id, exercises)
            ):
                raise ManifestError(
                    f"{where}: {notebook}: {grade_id}: not a grade id of the notebook; name one "
                    f"of its exercises or their tests (test_<exercise>_<case>)."
                )
            if not isinstance(text, str | int | float) or not str(text).strip():
                raise ManifestError(f"{where}: {notebook}: {grade_id}: the hint is empty.")
            hints[notebook][grade_id] = " ".join(str(text).split())
    return hints
