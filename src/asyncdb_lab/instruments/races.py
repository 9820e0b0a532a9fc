"""Make a race certain instead of likely, for tests of code that must survive one.

A check-then-insert races only when two callers both look before either inserts. Left to the
scheduler that happens often on an idle laptop and rarely on a loaded grading machine, so a test
that merely starts twenty callers at once passes wrong code now and then. `InsertGate` takes the
timing out of it:

    async with InsertGate(database.url, "users") as gate:
        tasks = [asyncio.create_task(sign_up(...)) for _ in range(20)]
        await gate.open_when_waiting(20)
    results = await asyncio.gather(*tasks)

While the gate is closed it holds `LOCK TABLE … IN SHARE MODE`: reads go through, every INSERT
(and UPDATE, DELETE) into the table waits. It opens when `waiters` statements are waiting, when
the number waiting has not changed for `settle` seconds (callers that queue behind a lock of
their own never all arrive), or after `limit` seconds.

Callers wait on the lock longer than the course's 5 s `lock_timeout`: give their engine
`connect_args=GATE_CONNECT_ARGS`.
"""

from __future__ import annotations

import asyncio
import re
from types import TracebackType

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

# For the racers' engine: they wait for the gate (up to its `limit`, 10 s by default) on purpose.
GATE_CONNECT_ARGS = {"server_settings": {"lock_timeout": "30s"}}

_WAITING = text(
    "SELECT count(*) FROM pg_locks WHERE relation = CAST(:table AS regclass) AND NOT granted"
)


class InsertGate:
    """Hold writes to one table until the racers are lined up; see the module's docstring."""

    def __init__(self, url: str, table: str, *, poll: float = 0.02) -> None:
        """Gate `table` in the database at `url`, on connections of its own."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
            raise ValueError(f"InsertGate needs a plain lower-case table name, not {table!r}")
        self.url = url
        self.table = table
        self.poll = poll
        self.most_waiting = 0
        self._engine: AsyncEngine | None = None
        self._holder: AsyncConnection | None = None
        self._watcher: AsyncConnection | None = None

    async def __aenter__(self) -> InsertGate:
        self._engine = create_async_engine(self.url, poolclass=NullPool)
        try:
            self._holder = await self._engine.connect()
            await self._holder.execute(text(f'LOCK TABLE "{self.table}" IN SHARE MODE'))
            watcher = await self._engine.connect()
            self._watcher = await watcher.execution_options(isolation_level="AUTOCOMMIT")
        except BaseException:
            await self._close()
            raise
        return self

    async def waiting(self) -> int:
        """How many statements wait for a lock on the table right now."""
        assert self._watcher is not None, "use InsertGate in `async with`"
        return int(await self._watcher.scalar(_WAITING, {"table": self.table}))

    async def open_when_waiting(
        self, waiters: int, *, settle: float = 2.0, limit: float = 10.0
    ) -> int:
        """Open once `waiters` wait, nothing changed for `settle` s, or after `limit` s.

        Returns the most statements seen waiting at once.
        """
        loop = asyncio.get_running_loop()
        started = changed = loop.time()
        last = -1
        while True:
            now_waiting = await self.waiting()
            now = loop.time()
            if now_waiting != last:
                last, changed = now_waiting, now
            self.most_waiting = max(self.most_waiting, now_waiting)
            if now_waiting >= waiters or now - changed >= settle or now - started >= limit:
                break
            await asyncio.sleep(self.poll)
        await self.open()
        return self.most_waiting

    async def open(self) -> None:
        """Let the waiting writes through (idempotent)."""
        if self._holder is not None:
            await self._holder.commit()
            await self._holder.close()
            self._holder = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        try:
            await self.open()
        finally:
            if self._watcher is not None:
                await self._watcher.close()
                self._watcher = None
            if self._engine is not None:
                await self._engine.dispose()
                self._engine = None
