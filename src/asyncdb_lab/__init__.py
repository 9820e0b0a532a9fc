"""Async DB Lab: helpers for an interactive course on async database programming.

    from asyncdb_lab import disposable_database, count_statements
    db = await disposable_database(seed=True)

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
    "count_statements": "statements",
    "StatementLog": "statements",
    "pool_snapshot": "pool",
    "PoolSnapshot": "pool",
    "locks_on": "locks",
    "row_locks": "locks",
    "format_locks": "locks",
    "measure": "timing",
    "stopwatch": "timing",
    "Timing": "timing",
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
    from .databases import DisposableDatabase, current_server, disposable_database, stop_server
    from .errors import AsyncDbLabError, BackendUnavailable
    from .locks import format_locks, locks_on, row_locks
    from .pool import PoolSnapshot, pool_snapshot
    from .settings import GUARD_RAILS
    from .statements import StatementLog, count_statements
    from .timing import Timing, measure, stopwatch


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'asyncdb_lab' has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
