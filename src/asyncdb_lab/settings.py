"""Environment variables the library reads, and the guard rails every database gets."""

from __future__ import annotations

import os
from pathlib import Path

BACKEND_ENV = "ASYNCDB_LAB_BACKEND"
DATABASE_URL_ENV = "ASYNCDB_LAB_DATABASE_URL"
CACHE_DIR_ENV = "ASYNCDB_LAB_CACHE_DIR"
RUNTIME_DIR_ENV = "ASYNCDB_LAB_RUNTIME_DIR"
QUIET_ENV = "ASYNCDB_LAB_QUIET"

BACKEND_NAMES = ("embedded", "docker", "url")

# The image the docker backend runs; keep its major version equal to the embedded wheel's.
DOCKER_IMAGE = "postgres:18-alpine"

# Server-side limits set as database defaults (ALTER DATABASE … SET) on every database handed out.
# A Jupyter cell timeout interrupts the kernel, not the server: these are what end a runaway query.
GUARD_RAILS: dict[str, str] = {
    # Longest single statement. Every demonstration in the course takes well under a second;
    # a whole notebook must run in 15 s, so a statement running longer than that is a mistake.
    "statement_timeout": "15s",
    # Longest wait for a lock. The locking demos wait a few hundred milliseconds at most.
    "lock_timeout": "5s",
    # A transaction left open while the learner reads is closed after two minutes of silence.
    "idle_in_transaction_session_timeout": "2min",
    # How often a running query checks that its client is still there (a killed kernel, say).
    "client_connection_check_interval": "1s",
}


# Every database handed out also works in UTC, so dates (daily signups, say) agree on every machine.
DATABASE_DEFAULTS: dict[str, str] = {**GUARD_RAILS, "timezone": "UTC"}


def cache_dir() -> Path:
    """Where prepared cluster images live (reused across runs; `make clean` removes them)."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "asyncdb-lab"


def quiet() -> bool:
    return os.environ.get(QUIET_ENV, "") not in ("", "0", "false", "no")
