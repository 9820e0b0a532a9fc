"""What grading one (student, notebook) produced, as plain data that goes to JSON and back.

A test's status is one of course.notebook's GradedStatus; in JSON (the result store, and
summary.json for scripts) not_run is spelled "not run", as it always was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from asyncdb_lab.course.notebook import NOT_RUN, GradedStatus

# graded, or why not: a file that cannot be graded, a notebook not handed in, an earlier upload
# of a notebook handed in again, or a failure of the grader itself.
Status = Literal["graded", "rejected", "missing", "superseded", "error"]
# A status as JSON spells it, when that is not its name in the code; and back.
_JSON_STATUS: dict[str, str] = {NOT_RUN: "not run"}
_STATUS_OF_JSON: dict[str, str] = {spelled: status for status, spelled in _JSON_STATUS.items()}

# Flags, each with the sentence the class report uses for it.
FLAGS: dict[str, str] = {
    "time-limit": "stopped at the time limit",
    "unresponsive": "kernel stopped answering",
    "kernel-died": "kernel died",
    "memory-limit": "ran out of memory",
    "tests-restored": "test cells restored from the source",
    "tampering": "grading tampered with: scored 0, needs review",
    "output-capped": "output capped",
    "kernel-start": "kernel could not start",
    "unsandboxed": "learner code ran without a sandbox",
    "database-size": "its databases outgrew the size limit: stopped",
    "cleanup-failed": "what it left on the server could not all be removed",
    "late": "handed in after the deadline",
}


@dataclass
class TestResult:
    __test__ = False  # a result, not a test class for pytest to collect

    name: str  # the test cell's grade id, e.g. test_count_users_seed
    exercise: str  # the exercise it checks, e.g. count_users ("" if none)
    points: float
    max_points: float
    status: GradedStatus
    message: str = ""  # the failure, one line: "AssertionError: count_users(...): expected 1000, …"
    output: str = ""  # what the learner's code printed while the test ran (capped)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = _JSON_STATUS.get(self.status, self.status)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TestResult:
        return cls(**{**data, "status": _STATUS_OF_JSON.get(data["status"], data["status"])})


@dataclass
class SubmissionResult:
    student: str
    notebook: str  # the assignment, e.g. 00_start_here; for a rejected file, its name
    status: Status
    score: float = 0.0
    max_score: float = 0.0
    reason: str = ""  # one line: why rejected, why it stopped early, what failed
    flags: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # one line per finding behind the flags
    tests: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0
    source: str = ""  # where the submission came from, relative to SUBMISSIONS
    digest: str = ""  # what was graded (file, source notebook, limits): unchanged = reusable
    cleanup: dict[str, int] = field(default_factory=dict)  # backends stopped, databases dropped
    timing: dict[str, float] = field(default_factory=dict)  # kernel_start, cells, autograde
    # What the instructor changed or wrote in formgrader (manual_grades.py): never stored, read
    # from the gradebook each time the reports are written.
    instructor: list[str] = field(default_factory=list)
    reused: bool = False  # True when this result comes from an earlier run

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.notebook)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("reused")
        data.pop("instructor")
        data["tests"] = [test.to_json() for test in self.tests]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionResult:
        tests = [TestResult.from_json(test) for test in data.get("tests", [])]
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "tests"}
        return cls(**fields, tests=tests)
