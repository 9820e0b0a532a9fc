"""Find the notebooks to grade in what an instructor collected, and say what is wrong with the rest.

Accepted layouts (the notebook's file name says which notebook it is):

    SUBMISSIONS/alice/00_start_here.ipynb                    one folder per student
    SUBMISSIONS/alice/00_start_here/00_start_here.ipynb      nbgrader's own layout
    SUBMISSIONS/alice_00_start_here.ipynb                    flat files, student id first
    SUBMISSIONS.zip                                          any of the above in a zip, e.g.
                                          an LMS download: alice_1234_5678_00_start_here.ipynb

In flat names the student id is the text before the first "_" (or the `student` group of a
--student-pattern regular expression); LMS additions in the middle are ignored. Every file that
cannot be graded becomes a Problem with a one-line reason: nothing here raises for a bad
submission.

Every student is accounted for in every notebook graded (those asked for with --notebook, else
every notebook someone handed in): one they did not hand in is a Problem with status "missing",
and so is every notebook of a roster student who handed in nothing. When a student handed in
several files for one notebook (Canvas names re-uploads name-1.ipynb, name-2.ipynb…), the latest
is graded, by that number and then by the file's time, and the others are "superseded".
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import shutil
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

ProblemStatus = Literal["rejected", "missing", "superseded"]
REUPLOAD = re.compile(r"-(\d+)\.ipynb$")  # Canvas: name-1.ipynb is the second upload of name.ipynb
LATE_MARK = re.compile(r"(?:^|_)LATE(?:_|$)")  # Canvas: doejane_LATE_1234_5678_00_start_here.ipynb
MAX_NOTEBOOK_BYTES = 50 * 1024**2
MAX_ARCHIVE_BYTES = 2 * 1024**3
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
IGNORED = re.compile(r"^(\.|__MACOSX$|\.ipynb_checkpoints$|Thumbs\.db$)")


@dataclass(frozen=True)
class Candidate:
    """A notebook that can be graded."""

    student: str
    notebook: str
    path: Path
    source: str  # where it came from, for people: alice/00_start_here.ipynb, lms.zip:…
    marked_late: bool = False  # the LMS's file name says so (Canvas: …_LATE_…)
    handed_in: float = 0.0  # the file's time (a zip member's date), 0 when unknown

    def digest(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Problem:
    """A file, or a student, that cannot be graded, and why."""

    student: str
    notebook: str  # the notebook it is for, or the file's name when that is the problem
    source: str
    reason: str
    status: ProblemStatus = "rejected"


@dataclass(frozen=True)
class _Found:
    student: str
    parts: tuple[str, ...]  # path inside the student's folder, or the flat file name
    path: Path
    source: str
    flat: bool
    modified: float = 0.0  # the file's time (a zip member's date), to tell re-uploads apart

    def upload_order(self) -> tuple[int, float, str]:
        """Later uploads sort later: the LMS's re-upload number, then the file's time."""
        number = REUPLOAD.search(self.parts[-1]) if self.parts else None
        return (int(number.group(1)) if number else 0, self.modified, self.source)


class Collector:
    def __init__(
        self,
        notebooks: list[str],
        *,
        only: list[str] | None = None,
        student_pattern: str | None = None,
        roster: Callable[[set[str]], list[str]] | None = None,
    ) -> None:
        self.notebooks = notebooks
        self.only = only or []
        self.pattern = re.compile(student_pattern) if student_pattern else None
        # Given the students found, the ids of the class's students who handed in nothing.
        self.roster = roster
        self._not_students: set[str] = set()

    def collect(self, submissions: Path, workdir: Path) -> tuple[list[Candidate], list[Problem]]:
        """Candidates and problems in SUBMISSIONS (a folder or a zip file), sorted."""
        problems: list[Problem] = []
        if submissions.is_file() and zipfile.is_zipfile(submissions):
            found = self._from_zip(submissions, workdir / "extracted", problems)
        elif submissions.is_dir():
            found = self._from_folder(submissions, problems)
        else:
            raise FileNotFoundError(
                f"{submissions} is neither a folder of submissions nor a zip file"
            )
        candidates = self._candidates(found, problems)
        candidates.sort(key=lambda c: (c.student, c.notebook))
        problems.sort(key=lambda p: (p.student, p.notebook, p.source))
        return candidates, problems

    # -- finding files ------------------------------------------------------------------------

    def _from_folder(self, root: Path, problems: list[Problem]) -> list[_Found]:
        found: list[_Found] = []
        for entry in sorted(root.iterdir()):
            if IGNORED.match(entry.name):
                continue
            if entry.is_symlink():
                problems.append(
                    Problem(
                        self._flat_student(entry.name),
                        entry.name,
                        entry.name,
                        "a symbolic link: not followed, not graded",
                    )
                )
            elif entry.is_dir():
                files = self._files_in(entry, root, problems)
                student = self._folder_student(entry.name)
                found.extend(
                    _Found(student, parts, path, source, False, _modified(path))
                    for parts, path, source in files
                )
                if not files:
                    found.append(_Found(student, (), entry, entry.name + "/", flat=False))
            elif entry.suffix == ".ipynb":
                student = self._flat_student(entry.name)
                found.append(
                    _Found(student, (entry.name,), entry, entry.name, True, _modified(entry))
                )
        return found

    def _files_in(
        self, folder: Path, root: Path, problems: list[Problem]
    ) -> list[tuple[tuple[str, ...], Path, str]]:
        files = []
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if any(IGNORED.match(part) for part in relative.parts):
                continue
            source = str(path.relative_to(root))
            if path.is_symlink():
                problems.append(
                    Problem(folder.name, path.name, source, "a symbolic link: not followed")
                )
            elif path.is_file() and path.suffix == ".ipynb" and len(relative.parts) <= 2:
                files.append((relative.parts, path, source))
        return files

    def _from_zip(self, archive: Path, target: Path, problems: list[Problem]) -> list[_Found]:
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            if sum(m.file_size for m in members) > MAX_ARCHIVE_BYTES:
                raise ValueError(
                    f"{archive.name} would unpack to more than "
                    f"{MAX_ARCHIVE_BYTES // 1024**3} GiB: split it, or unpack it yourself"
                )
            named = []
            for member in members:
                parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                source = f"{archive.name}:{member.filename}"
                if parts and (member.filename.startswith("/") or ".." in parts):
                    problems.append(
                        Problem(
                            self._flat_student(parts[-1]),
                            parts[-1],
                            source,
                            "an unsafe path in the archive",
                        )
                    )
                    continue
                if not parts or any(IGNORED.match(part) for part in parts):
                    continue
                named.append((member, parts, source))
            wrapper = self._wrapped([parts for _, parts, _ in named])
            found = []
            for index, (member, parts, source) in enumerate(named):
                parts = parts[1:] if wrapper else parts
                if not parts[-1].endswith(".ipynb"):
                    continue
                flat, modified = len(parts) == 1, _zip_time(member)
                if member.file_size > MAX_NOTEBOOK_BYTES:
                    found.append(_Found(*self._owner(parts), archive, source, flat, modified))
                    continue
                path = target / f"{index}.ipynb"
                with zipped.open(member) as data, path.open("wb") as out:
                    shutil.copyfileobj(data, out)
                found.append(_Found(*self._owner(parts), path, source, flat, modified))
        return found

    def _wrapped(self, paths: list[tuple[str, ...]]) -> bool:
        """True when everything sits in one top folder around the students (zip of a folder)."""
        if not paths or len({parts[0] for parts in paths}) != 1:
            return False
        if all(len(parts) >= 3 for parts in paths):
            return True
        return all(
            len(parts) == 2 and parts[1].removesuffix(".ipynb") not in self.notebooks
            for parts in paths
        )

    def _owner(self, parts: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        if len(parts) == 1:
            return self._flat_student(parts[0]), parts
        return self._folder_student(parts[0]), parts[1:]

    def _flat_student(self, name: str) -> str:
        return self._captured(name) or name.split("_", 1)[0].removesuffix(".ipynb")

    def _folder_student(self, name: str) -> str:
        """A student's folder is named by their id, or (Moodle: "Jane Doe_1234_assignsubmission_
        file_") holds it where --student-pattern finds it."""
        return self._captured(name) or name

    def _captured(self, name: str) -> str:
        """The pattern's `student` group in `name`, if any; a captured name that cannot be an id
        ("Jane Doe") is squashed as Canvas squashes names in downloads ("janedoe")."""
        match = self.pattern.search(name) if self.pattern else None
        student = match.group("student") if match and match.groupdict().get("student") else ""
        if student and not STUDENT_ID.fullmatch(student):
            student = re.sub(r"[\W_]+", "", student).lower() or student
        return student

    # -- deciding -----------------------------------------------------------------------------

    def _candidates(self, found: list[_Found], problems: list[Problem]) -> list[Candidate]:
        by_student: dict[str, list[_Found]] = defaultdict(list)
        for item in found:
            by_student[item.student].append(item)
        for student in self.roster(set(by_student)) if self.roster else []:
            by_student.setdefault(student, [])
        handed_in: dict[str, dict[str, list[_Found]]] = {}
        for student, items in sorted(by_student.items()):
            if not STUDENT_ID.fullmatch(student):
                for item in items:
                    problems.append(
                        Problem(
                            student,
                            item.parts[-1] if item.parts else "",
                            item.source,
                            f"the student id {student[:40]!r} cannot be a gradebook id "
                            "(letters, digits and . _ @ + - only): rename it",
                        )
                    )
                continue
            handed_in[student] = self._sorted_by_notebook(student, items, problems)
        graded = self.only or sorted({nb for chosen in handed_in.values() for nb in chosen})
        candidates: list[Candidate] = []
        for student, chosen in handed_in.items():
            for notebook, copies in sorted(chosen.items()):
                candidate = self._latest(student, notebook, copies, problems)
                if candidate is not None:
                    candidates.append(candidate)
            missing = [nb for nb in graded if nb not in chosen]
            if student in self._not_students and not chosen:
                continue  # a file name without a student id: no student to miss anything
            if not graded and not any(p.student == student for p in problems):
                missing = [""]  # nothing handed in by anyone: say so for each student
            items = by_student[student]
            folder = next((i.source for i in items if not i.parts), student)
            for notebook in missing:
                what = f"no {notebook}.ipynb" if notebook else "no notebook"
                names = ", ".join(f"{n}.ipynb" for n in (self.only or self.notebooks)[:3])
                problems.append(
                    Problem(
                        student,
                        notebook,
                        folder if items else "the roster",
                        f"missing notebook: {what} from {student} (expected e.g. {names})",
                        status="missing",
                    )
                )
        return candidates

    def _sorted_by_notebook(
        self, student: str, items: list[_Found], problems: list[Problem]
    ) -> dict[str, list[_Found]]:
        """The student's files for each notebook graded; wrongly named ones become problems."""
        chosen: dict[str, list[_Found]] = defaultdict(list)
        for item in items:
            if not item.parts:
                continue
            notebook = self._notebook_of(item)
            if notebook is None:
                problems.append(
                    Problem(student, item.parts[-1], item.source, self._wrong_name(item))
                )
                if self._no_student_id(item):
                    self._not_students.add(student)
            elif not self.only or notebook in self.only:
                chosen[notebook].append(item)
        return chosen

    def _latest(
        self, student: str, notebook: str, copies: list[_Found], problems: list[Problem]
    ) -> Candidate | None:
        """The latest upload of a notebook, or None (a problem says why); earlier ones are
        superseded."""
        copies = sorted(copies, key=_Found.upload_order)
        item = copies[-1]
        for earlier in copies[:-1]:
            problems.append(
                Problem(
                    student,
                    notebook,
                    earlier.source,
                    f"superseded by a later upload ({item.source}), which is graded",
                    status="superseded",
                )
            )
        reason = (
            first_look(item.path)
            if item.path.suffix == ".ipynb"
            else (f"larger than {MAX_NOTEBOOK_BYTES // 1024**2} MB")
        )
        if reason:
            problems.append(Problem(student, notebook, item.source, reason))
            return None
        marked_late = bool(item.parts) and bool(LATE_MARK.search(item.parts[-1]))
        return Candidate(student, notebook, item.path, item.source, marked_late, item.modified)

    def _notebook_of(self, item: _Found) -> str | None:
        name = item.parts[-1]
        if not item.flat:
            stem = name.removesuffix(".ipynb")
            return stem if stem in self.notebooks else None
        for notebook in sorted(self.notebooks, key=len, reverse=True):
            if re.search(rf"._{re.escape(notebook)}(-\d+)?\.ipynb$", name):
                return notebook
        return None

    def _no_student_id(self, item: _Found) -> bool:
        return item.flat and item.parts[-1].removesuffix(".ipynb") in self.notebooks

    def _wrong_name(self, item: _Found) -> str:
        name = item.parts[-1]
        stem = name.removesuffix(".ipynb")
        if self._no_student_id(item):
            return (
                f"no student id in the file name {name!r}: put it in a folder named after the "
                f"student, or name it <student>_{name}"
            )
        if item.flat and "_" in stem:
            stem = stem.split("_", 1)[1]
        close = difflib.get_close_matches(stem, self.notebooks, n=1, cutoff=0.4)
        hint = f"; did you mean {close[0]}.ipynb?" if close else ""
        return (
            f"wrong notebook name {name!r}: it must be one of the course's notebooks, "
            f"e.g. {self.notebooks[0]}.ipynb{hint} Rename it and grade again"
        )


def first_look(path: Path) -> str:
    """A cheap check before a worker sees the file: '' or why it cannot be a notebook."""
    size = path.stat().st_size
    if size == 0:
        return "empty file (0 bytes): not a notebook"
    if size > MAX_NOTEBOOK_BYTES:
        return f"larger than {MAX_NOTEBOOK_BYTES // 1024**2} MB: not graded"
    try:
        data = json.loads(path.read_bytes())
    except UnicodeDecodeError:
        return "not a notebook: the file is not text (UTF-8)"
    except json.JSONDecodeError as error:
        return f"invalid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return "not a Jupyter notebook: valid JSON, but without a list of cells"
    if not data["cells"]:
        return "empty notebook: it has no cells"
    return ""


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _zip_time(member: zipfile.ZipInfo) -> float:
    import datetime

    try:
        return datetime.datetime(*member.date_time).timestamp()
    except ValueError:
        return 0.0
