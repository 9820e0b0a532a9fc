"""The progress line of `asyncdb-lab grade`: a bar on a terminal, one line per result elsewhere."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from asyncdb_lab.grading.results import SubmissionResult


class Progress:
    def __init__(self, total: int, *, stream: TextIO = sys.stderr, bar: bool | None = None) -> None:
        self.total = total
        self.done = 0
        self.running = 0
        self.stream = stream
        self.bar = stream.isatty() if bar is None else bar
        self.started = time.monotonic()

    def started_one(self) -> None:
        self.running += 1
        self._draw()

    def finished(self, result: SubmissionResult) -> None:
        self.done += 1
        self.running = max(0, self.running - 1)
        if not self.bar:
            score = f"{result.score:g}/{result.max_score:g}" if result.status == "graded" else "—"
            note = result.reason or ", ".join(result.flags)
            count = f"{self.done:>{len(str(self.total))}}/{self.total}"
            line = f"  {count}  {result.student}  {result.notebook}  {score}"
            line += f"  ({result.seconds:.1f} s)" + (f"  {note}" if note else "")
            self.stream.write(line + "\n")
            self.stream.flush()
        self._draw()

    def close(self) -> None:
        if self.bar:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.bar:
            return
        elapsed = time.monotonic() - self.started
        left = ""
        if self.done:
            remaining = elapsed / self.done * (self.total - self.done)
            left = f" · ~{_clock(remaining)} left"
        width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 60))
        filled = int(width * self.done / self.total) if self.total else width
        self.stream.write(
            f"\r[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total} graded · "
            f"{self.running} running · {_clock(elapsed)}{left}   "
        )
        self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"
