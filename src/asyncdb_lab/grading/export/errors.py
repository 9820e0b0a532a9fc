"""The export's one error: a one-line message, what happened and what to do."""

from __future__ import annotations

from asyncdb_lab.errors import AsyncDbLabError


class ExportError(AsyncDbLabError):
    """The export cannot be written. `exit_code` 2 marks a usage mistake (the CLI's rule)."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
