"""Helpers the tests share: a plain asyncpg connection that is closed however the block ends,
and an autovacuum worker kept at work in a database (for drops that must not fail because of it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg


@asynccontextmanager
async def connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection to `dsn`, closed on leaving the block."""
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def execute(dsn: str, statement: str) -> None:
    """Run one statement on a connection of its own."""
    async with connected(dsn) as conn:
        await conn.execute(statement)


async def fetchval(dsn: str, sql: str, *args: object) -> Any:
    """The first value of the first row of `sql`, on a connection of its own."""
    async with connected(dsn) as conn:
        return await conn.fetchval(sql, *args)


# Dead rows whose vacuum, by the table's own cost settings, sleeps 100 ms after every page: with
# autovacuum_naptime = 1 (ALTER SYSTEM, by a superuser) a worker comes within a second or two
# and stays in the database for minutes. Any role that owns the database may make the table.
CHURN = [
    "CREATE TABLE churn (id int, pad text) WITH (autovacuum_vacuum_threshold = 0, "
    "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 100, "
    "autovacuum_vacuum_cost_limit = 1)",
    "INSERT INTO churn SELECT g, repeat('x', 100) FROM generate_series(1, 20000) AS g",
    "DELETE FROM churn",
]
# A role without pg_read_all_stats sees no backend_type for a worker: ask as a superuser.
WORKER_IN = (
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND datname = $1"
)


async def keep_autovacuum_busy(dsn: str) -> None:
    """Make the churn table in the database of `dsn` (see CHURN)."""
    async with connected(dsn) as conn:
        for statement in CHURN:
            await conn.execute(statement)
    # Closing the session sends its statistics at once (an idle session may wait 10 s), so
    # autovacuum learns of the dead rows at its next look.


async def autovacuum_worker_in(superuser_dsn: str, name: str, timeout: float = 60.0) -> int:
    """The pid of an autovacuum worker in database `name`, once there is one."""
    deadline = time.monotonic() + timeout
    async with connected(superuser_dsn) as conn:
        while time.monotonic() < deadline:
            pid = await conn.fetchval(WORKER_IN, name)
            if pid:
                return int(pid)
            await asyncio.sleep(0.05)
    raise AssertionError(f"no autovacuum worker came to {name} within {timeout:.0f} s")


async def connection_is_dead(conn: asyncpg.Connection) -> bool:
    """True when `conn` can no longer run a query (the server ended it); closes it either way."""
    try:
        await conn.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return True
    finally:
        conn.terminate()
    return False
