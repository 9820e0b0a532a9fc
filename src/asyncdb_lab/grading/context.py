"""The submission a worker is grading right now, shared with the nbgrader plug-ins it runs.

nbgrader builds its preprocessors and kernel manager itself, from configuration; they find the
submission's database, sandbox and time limit here. A worker grades one submission at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from asyncdb_lab.grading.sandbox import SandboxSpec


@dataclass
class Execution:
    """What happened while the notebook ran, for the report."""

    stop: str = ""  # why the notebook stopped early ("" if it ran to the end)
    stop_kind: str = ""  # time-limit, kernel-died, memory-limit, unresponsive, kernel-start
    cells_run: int = 0
    tampering: list[str] = field(default_factory=list)
    output_capped: bool = False
    notes: list[str] = field(default_factory=list)  # what the report should say (malformed output)
    kernel_pids: list[int] = field(default_factory=list)
    kernel_start_seconds: float = 0.0  # from asking for a kernel to its first reply
    cells_seconds: float = 0.0  # running the cells (canaries included)


@dataclass
class Job:
    kernel_env: dict[str, str]
    sandbox: SandboxSpec | None
    deadline: float  # time.monotonic() by which the notebook must be done
    time_limit: float  # seconds, for messages
    memory_limit: int  # bytes, for messages
    release_cells: list[dict]  # the learner version's cells: the reference for locked cells
    integrity: list[str] = field(default_factory=list)  # findings about test cells
    execution: Execution = field(default_factory=Execution)
    on_kernel_start: object = None  # callable(pid) -> None


_current: Job | None = None


def current() -> Job:
    if _current is None:
        raise RuntimeError("no submission is being graded in this process")
    return _current


@contextmanager
def grading(job: Job) -> Iterator[Job]:
    global _current
    _current = job
    try:
        yield job
    finally:
        _current = None
