"""One JSON file per (student, notebook) result: how a re-run knows what is already graded.

A result is written (atomically) only once it is complete and its scores are in the gradebook,
so an interrupted run loses at most the submissions that were running.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from asyncdb_lab.grading.results import SubmissionResult


class ResultStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, student: str, notebook: str) -> Path:
        return self.folder / student / f"{notebook or '_'}.json"

    def load(self, student: str, notebook: str) -> SubmissionResult | None:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            return SubmissionResult.from_json(json.loads(self.path(student, notebook).read_text()))
        return None

    def save(self, result: SubmissionResult) -> None:
        path = self.path(result.student, result.notebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(result.to_json(), indent=1))
        os.replace(partial, path)
