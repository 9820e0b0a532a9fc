"""What the grade command and its worker processes say to each other, one JSON line a message.

The grade command writes requests (ToWorker) to a worker's stdin; the worker answers (ToRunner)
on its reply pipe. Each message is a frozen dataclass; `encode` turns one into its line and
`decode` turns a line back into one of a direction's kinds, or raises MessageError.

    worker.send(Grade(...))                     # the grade command
    request = decode(line, TO_WORKER)           # the worker: a Prepare or a Grade
    reply = decode(line, TO_RUNNER)             # the grade command: Ready, Prepared, ...
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath
from typing import Any, ClassVar, Generic, Self, TypeAlias, TypeVar

from asyncdb_lab.grading.results import Status, TestResult
from asyncdb_lab.grading.sandbox import SandboxSpec

KIND_KEY = "type"  # the key that names a message's kind in its JSON line


class MessageError(ValueError):
    """A line that is not a message of the expected direction: unknown kind, bad fields, no JSON."""


@dataclass(frozen=True)
class _Message:
    kind: ClassVar[str]  # its name on the wire

    def to_fields(self) -> dict[str, Any]:
        """The message's fields as JSON values."""
        return asdict(self)

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Self:
        """The message from its decoded JSON fields (lists already made tuples)."""
        return cls(**fields)


# -- the grade command to a worker ------------------------------------------------------------


@dataclass(frozen=True)
class Prepare(_Message):
    """Record these notebooks (nbgrader generate_assignment) and students in the gradebook."""

    kind: ClassVar[str] = "prepare"
    assignments: tuple[str, ...]
    students: tuple[str, ...]


@dataclass(frozen=True)
class Grade(_Message):
    """Autograde one submission, already copied to `submitted` in the course's folders."""

    kind: ClassVar[str] = "grade"
    student: str
    notebook: str  # the assignment
    submitted: Path  # the notebook, in the course's submitted folder
    env: dict[str, str]  # the kernel's whole environment
    sandbox: SandboxSpec | None  # None: --no-sandbox
    time_limit: float  # seconds for the whole notebook
    memory_limit: int  # bytes
    due: str = ""  # the assignment's due date for the gradebook (naive UTC, ISO), "" for none

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Self:
        sandbox = fields.get("sandbox")
        return cls(
            **{
                **fields,
                "submitted": Path(fields["submitted"]),
                "sandbox": SandboxSpec(**sandbox) if sandbox else None,
            }
        )


ToWorker: TypeAlias = Prepare | Grade


# -- a worker to the grade command ------------------------------------------------------------


@dataclass(frozen=True)
class Ready(_Message):
    """The worker has imported nbgrader and takes requests."""

    kind: ClassVar[str] = "ready"
    pid: int


@dataclass(frozen=True)
class Prepared(_Message):
    """The answer to Prepare: per notebook that could not be recorded, why not."""

    kind: ClassVar[str] = "prepared"
    errors: dict[str, str]


@dataclass(frozen=True)
class KernelStarted(_Message):
    """A kernel started for the submission being graded: its process group, to kill if need be."""

    kind: ClassVar[str] = "kernel"
    pid: int


@dataclass(frozen=True)
class Graded(_Message):
    """The answer to Grade: graded, rejected (not a notebook nbformat accepts), or error."""

    kind: ClassVar[str] = "result"
    status: Status
    reason: str = ""  # why rejected, why autograde failed
    tests: tuple[TestResult, ...] = ()
    integrity: tuple[str, ...] = ()  # findings about test cells (they were restored)
    stop: str = ""  # why the notebook stopped early ("" if it ran to the end)
    stop_kind: str = ""  # time-limit, kernel-died, memory-limit, unresponsive, kernel-start
    tampering: tuple[str, ...] = ()  # ways the notebook changed how failures are reported
    output_capped: bool = False
    notes: tuple[str, ...] = ()  # what else the report should say (a malformed message, say)
    timing: dict[str, float] = field(default_factory=dict)  # kernel_start, cells, autograde
    late_penalty: float = 0.0  # points nbgrader's late-submission plugin took off

    def to_fields(self) -> dict[str, Any]:  # a test as the result store has it
        return {**asdict(self), "tests": [test.to_json() for test in self.tests]}

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Self:
        tests = tuple(TestResult.from_json(test) for test in fields.get("tests", ()))
        return cls(**{**fields, "tests": tests})


@dataclass(frozen=True)
class Failed(_Message):
    """The request raised in the worker (a bug, not a bad submission): its traceback."""

    kind: ClassVar[str] = "failed"
    error: str


ToRunner: TypeAlias = Ready | Prepared | KernelStarted | Graded | Failed


# -- the wire ---------------------------------------------------------------------------------

M = TypeVar("M", bound=_Message)


class Kinds(Generic[M]):
    """The kinds of message that travel in one direction, by their name on the wire."""

    def __init__(self, direction: str, *classes: type[M]) -> None:
        self.direction = direction
        self.classes = {cls.kind: cls for cls in classes}
        assert len(self.classes) == len(classes), "two messages share a kind"


TO_WORKER: Kinds[ToWorker] = Kinds("to a grading worker", Prepare, Grade)
TO_RUNNER: Kinds[ToRunner] = Kinds(
    "from a grading worker", Ready, Prepared, KernelStarted, Graded, Failed
)


def encode(message: ToWorker | ToRunner) -> str:
    """The message as one line of JSON, newline included."""
    data = {KIND_KEY: message.kind, **message.to_fields()}
    return json.dumps(data, default=_path_to_str) + "\n"


def decode(line: str | bytes, kinds: Kinds[M]) -> M:
    """The message a line holds, if it is one of `kinds`; MessageError if not."""
    try:
        data = json.loads(line)
    except ValueError as error:
        raise MessageError(f"not a message {kinds.direction}: {_shorten(line)}") from error
    if not isinstance(data, dict):
        raise MessageError(f"not a message {kinds.direction}: {_shorten(line)}")
    kind = data.pop(KIND_KEY, None)
    cls = kinds.classes.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise MessageError(
            f"unknown kind of message {kinds.direction}: {kind!r} "
            f"(known: {', '.join(sorted(kinds.classes))})"
        )
    fields = {
        key: tuple(value) if isinstance(value, list) else value for key, value in data.items()
    }
    try:
        return cls.from_fields(fields)
    except (TypeError, KeyError) as error:
        raise MessageError(f"a {kind!r} message {kinds.direction} is malformed: {error}") from None


def _path_to_str(value: object) -> str:
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go into a message")


def _shorten(line: str | bytes) -> str:
    text = repr(line)
    return text if len(text) <= 200 else text[:199] + "…"
