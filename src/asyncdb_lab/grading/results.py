"""What grading one (student, notebook) produced, as plain data that goes to JSON and back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["graded", "rejected", "error"]
TestStatus = Literal["passed", "failed", "not run"]

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
}


@dataclass
class TestResult:
    __test__ = False  # a result, not a test class for pytest to collect

    name: str  # the test cell's grade id, e.g. test_count_users_seed
    exercise: str  # the exercise it checks, e.g. count_users ("" if none)
    points: float
    max_points: float
    status: TestStatus
    message: str = ""  # the failure, one line: "AssertionError: count_users(...): expected 1000, …"
    output: str = ""  # what the learner's code printed while the test ran (capped)


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
    reused: bool = False  # True when this result comes from an earlier run

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.notebook)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("reused")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionResult:
        tests = [TestResult(**test) for test in data.get("tests", [])]
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "tests"}
        return cls(**fields, tests=tests)


def exercise_of(test_name: str, exercises: list[str]) -> str:
    """test_<exercise>_<case> → exercise (the longest exercise name that fits)."""
    matches = [e for e in exercises if test_name.startswith(f"test_{e}_")]
    return max(matches, key=len) if matches else ""
