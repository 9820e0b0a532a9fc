"""What one `asyncdb-lab grade` run is asked to do, and what it did."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from asyncdb_lab.grading.database import DEFAULT_SIZE_LIMIT
from asyncdb_lab.grading.results import SubmissionResult
from asyncdb_lab.grading.similar_submissions import SimilarSubmissions


@dataclass
class GradeOptions:
    submissions: Path
    out: Path
    jobs: int
    time_limit: float
    memory_limit: int
    config: Path
    gradebook: str | None = None
    notebooks: list[str] = field(default_factory=list)
    student_pattern: str | None = None
    sandbox: bool = True
    progress_bar: bool | None = None
    database_limit: int = DEFAULT_SIZE_LIMIT  # bytes one submission's databases may take
    students: list[str] = field(default_factory=list)  # grade only these; keep the others' results
    force: bool = False  # grade again even what is unchanged since it was graded
    roster: Path | None = None  # the LMS's class list: who handed in nothing is missing too
    deadline: datetime.datetime | None = None  # timezone-aware; files handed in after it are late
    cluster: str | None = None  # a Dask scheduler's address: grade on its workers (cluster.py)


@dataclass
class RunOutcome:
    results: list[SubmissionResult]
    graded: int  # graded in this run
    reused: int  # kept from an earlier run
    seconds: float
    isolation: str  # one sentence: how learner code was kept from the grader
    left_out: int = 0  # submissions of students not asked for (--student) with no earlier result
    similar: list[SimilarSubmissions] = field(default_factory=list)  # to look at, not a penalty
