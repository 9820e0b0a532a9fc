"""Stop a submission whose databases outgrow their size limit, before the server's disk fills.

A thread polls, every POLL_SECONDS, how much each watched role's databases take on disk (the
databases it owns, plus the temporary files of its sessions), on one superuser connection of its
own. A role over the limit is stopped at once on the server: NOLOGIN, every session terminated.
Stopping its kernel is the grade command's job (it knows the kernel's processes): it asks
`stopped()` which roles were stopped, and how big their databases were.

This is a poll, not a hard limit: between two polls a role can write POLL_SECONDS times its write
rate past the limit (about 60 MB at the 300 MB/s a fast INSERT … SELECT reaches), and the space
stays taken until the role's databases are dropped after its notebook.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

POLL_SECONDS = 0.2
_RECONNECT_SECONDS = 1.0

# A database dropped while its size is read makes pg_database_size fail for the whole query: a
# role that creates and drops databases in a loop must not blind the watch. A function in the
# watch's own temporary schema, so nothing is left on the server.
_SIZE_OR_ZERO = """
CREATE FUNCTION pg_temp.size_or_zero(database oid) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN coalesce(pg_database_size(database), 0);
EXCEPTION WHEN OTHERS THEN
    RETURN 0;
END $$
"""
_SIZES = """
WITH used AS (
    SELECT r.rolname AS role, pg_temp.size_or_zero(d.oid) AS bytes
    FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
    WHERE r.rolname = ANY($1::text[])
    UNION ALL
    SELECT a.usename, t.size
    FROM pg_ls_tmpdir() t JOIN pg_stat_activity a ON t.name LIKE 'pgsql_tmp' || a.pid || '.%'
    WHERE a.usename = ANY($1::text[])
)
SELECT role, sum(bytes)::bigint AS bytes FROM used GROUP BY role
"""


class DatabaseSizeWatch:
    """watch(role) while its notebook runs, forget(role) after; stopped() says who went over."""

    def __init__(self, admin_dsn: str, limit_bytes: int, poll_seconds: float = POLL_SECONDS):
        self.admin_dsn = admin_dsn
        self.limit_bytes = limit_bytes
        self.poll_seconds = poll_seconds
        self._watched: set[str] = set()
        self._stopped: dict[str, int] = {}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="database-size", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def watch(self, role: str) -> None:
        with self._lock:
            self._watched.add(role)

    def forget(self, role: str) -> None:
        with self._lock:
            self._watched.discard(role)

    def stopped(self) -> dict[str, int]:
        """Every role stopped for its size so far, with the bytes its databases took then."""
        with self._lock:
            return dict(self._stopped)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.run(self._poll_until_done())

    async def _poll_until_done(self) -> None:
        while not self._done.is_set():
            try:
                conn = await self._connect()
            except Exception:  # the server is starting or stopping: try again in a moment
                await asyncio.sleep(_RECONNECT_SECONDS)
                continue
            try:
                while not self._done.is_set():
                    await self._poll(conn)
                    await asyncio.sleep(self.poll_seconds)
            except Exception:
                await asyncio.sleep(self.poll_seconds)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    async def _connect(self) -> Any:
        import asyncpg

        conn = await asyncpg.connect(self.admin_dsn)
        await conn.execute(_SIZE_OR_ZERO)
        return conn

    async def _poll(self, conn: Any) -> None:
        with self._lock:
            watched = sorted(self._watched)
        if not watched:
            return
        for row in await conn.fetch(_SIZES, watched):
            if row["bytes"] > self.limit_bytes:
                await _stop_role(conn, row["role"])
                with self._lock:
                    self._watched.discard(row["role"])
                    self._stopped[row["role"]] = int(row["bytes"])


async def _stop_role(conn: Any, role: str) -> None:
    await conn.execute(f'ALTER ROLE "{role}" NOLOGIN')
    await conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role
    )


def describe_bytes(count: int) -> str:
    """512 MiB, 1.5 GiB: how the size limit is written in reasons."""
    if count >= 1024**3:
        return f"{count / 1024**3:.3g} GiB"
    return f"{count / 1024**2:.4g} MiB"
