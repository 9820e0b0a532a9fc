"""Async DB Lab: helpers for an interactive course on async database programming.

    from asyncdb_lab import disposable_database, count_statements
    db = await disposable_database(seed=True)

What notebooks import lives at the top of the package: `databases` (the database handle),
`instruments/` (statement counts, pool, locks, timers, races), `checks` (test-cell helpers),
`models` and `seed`. Everything behind them is in a sub-package: `servers/` (the PostgreSQL
backends), `course/` (the course as data), `learner/`, `grading/`, `interview/` and `cli/`.
Names are imported lazily, so `import asyncdb_lab` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "disposable_database": "databases",
    "DisposableDatabase": "databases",
    "current_server": "databases",
    "stop_server": "databases",
    "count_statements": "instruments.statements",
    "StatementLog": "instruments.statements",
    "pool_snapshot": "instruments.pool",
    "PoolSnapshot": "instruments.pool",
    "locks_on": "instruments.locks",
    "row_locks": "instruments.locks",
    "format_locks": "instruments.locks",
    "measure": "instruments.timing",
    "stopwatch": "instruments.timing",
    "Timing": "instruments.timing",
    "GUARD_RAILS": "settings",
    "AsyncDbLabError": "errors",
    "BackendUnavailable": "errors",
}

__all__ = [
    "GUARD_RAILS",
    "AsyncDbLabError",
    "BackendUnavailable",
    "DisposableDatabase",
    "PoolSnapshot",
    "StatementLog",
    "Timing",
    "count_statements",
    "current_server",
    "disposable_database",
    "format_locks",
    "locks_on",
    "measure",
    "pool_snapshot",
    "row_locks",
    "stop_server",
    "stopwatch",
]

if TYPE_CHECKING:
    from asyncdb_lab.databases import (
        DisposableDatabase,
        current_server,
        disposable_database,
        stop_server,
    )
    from asyncdb_lab.errors import AsyncDbLabError, BackendUnavailable
    from asyncdb_lab.instruments.locks import format_locks, locks_on, row_locks
    from asyncdb_lab.instruments.pool import PoolSnapshot, pool_snapshot
    from asyncdb_lab.instruments.statements import StatementLog, count_statements
    from asyncdb_lab.instruments.timing import Timing, measure, stopwatch
    from asyncdb_lab.settings import GUARD_RAILS


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'asyncdb_lab' has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
