"""disposable_database(): a fresh, isolated PostgreSQL database in one call.

    db = await disposable_database(seed=True)   # in a notebook's first cell
    async with disposable_database() as db:     # in a test; dropped at the end of the block

The first call in a process starts (or connects to) the server; each call clones a template
database (about 40 ms). Calling again with the same label drops the previous database of
that label, so re-running a notebook's setup cell gives a clean database again.

Dropping is cleanup, and cleanup never fails a learner's cell: a database that cannot be
dropped at the end of an `async with` block, on a re-run or in reset() is left to the server's
stop() at process exit (the url backend's; the embedded server goes away whole), or to the
next start's sweep of dead processes' databases. Nothing is printed from inside the cell.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from asyncdb_lab.interrupts import watch_interrupts
from asyncdb_lab.servers.admin import create_database, drop_database
from asyncdb_lab.servers.base import Server, choose_backend, start_server
from asyncdb_lab.servers.templates import Contents
from asyncdb_lab.settings import DATABASE_DEFAULTS, quiet
from asyncdb_lab.sigterm import stop_on_sigterm

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

_server: Server | None = None
_server_lock = threading.Lock()
_stopping = threading.Event()
_by_label: dict[str, DisposableDatabase] = {}
_counter = 0
_counter_lock = threading.Lock()


def current_server(*, say: bool = False) -> Server:
    """The server for this process, started on first use (blocking; thread-safe)."""
    global _server
    with _server_lock:
        if _server is None:
            _server = start_server(choose_backend())
            atexit.register(stop_server)
            if say:
                _say(
                    f"PostgreSQL {_server.version} · {_server.backend} backend "
                    f"({_server.reason}) · ready in {_server.started_in:.2f} s"
                )
        return _server


def stop_server() -> None:
    """Stop this process's server now (it also stops by itself when the process exits)."""
    _stop_server(lock_timeout=-1)


def _stop_server(*, lock_timeout: float) -> None:
    global _server
    if not _server_lock.acquire(timeout=lock_timeout):
        return
    try:
        server, _server = _server, None
        _by_label.clear()
        if server is not None:
            _stopping.set()
    finally:
        _server_lock.release()
    if server is not None:
        try:
            server.stop()
        finally:
            _stopping.clear()


# The handler runs on the thread it interrupts, which may hold the lock (starting a server): it
# gives up after a moment and dies, and the next start's sweep drops what was left.
stop_on_sigterm(lambda: _stop_server(lock_timeout=2), _stopping.is_set)


class DisposableDatabase:
    """One fresh database: its URL, a lazily created engine and session factory, reset and drop."""

    def __init__(self, server: Server, name: str, contents: Contents, label: str) -> None:
        self.server = server
        self.name = name
        self.contents = contents
        self.label = label
        self._engine: AsyncEngine | None = None
        self._session_factory: async_sessionmaker[AsyncSession] | None = None

    @property
    def dsn(self) -> str:
        """libpq-style URL (`postgresql://…`) for asyncpg.connect() or psql."""
        return self.server.dsn(self.name)

    @property
    def url(self) -> str:
        """SQLAlchemy URL with the asyncpg driver (`postgresql+asyncpg://…`)."""
        return self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    @property
    def engine(self) -> AsyncEngine:
        """An AsyncEngine with default settings, made on first use and disposed on reset/drop.

        Interrupting a cell (Jupyter's stop button) cancels its running statement on the server.
        """
        if self._engine is None:
            from sqlalchemy.ext.asyncio import create_async_engine

            self._engine = create_async_engine(self.url)
            watch_interrupts(self._engine, self.dsn)
        return self._engine

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        """async_sessionmaker(engine, expire_on_commit=False) over `engine`."""
        if self._session_factory is None:
            from sqlalchemy.ext.asyncio import async_sessionmaker

            self._session_factory = async_sessionmaker(self.engine, expire_on_commit=False)
        return self._session_factory

    async def reset(self) -> None:
        """Drop and re-create this database from its template (same name and URL).

        Should the old database not be dropped now, it is left for later and the fresh copy
        gets a new name: `name`, `dsn`, `url` and `engine` follow it.
        """
        await self._dispose_engine()
        if not await _drop(self.server, self.name):
            self.name = _new_name(self.server, self.label)
        await _create(self.server, self.name, self.contents)

    async def drop(self) -> None:
        """Drop this database now (sessions still connected to it are terminated).

        Never fails: a database that cannot be dropped now is dropped at process exit.
        """
        await self._dispose_engine()
        if _by_label.get(self.label) is self:
            del _by_label[self.label]
        await _drop(self.server, self.name)

    async def _dispose_engine(self) -> None:
        engine, self._engine, self._session_factory = self._engine, None, None
        if engine is not None:
            # Closing the pool's connections is cleanup too: the drop ends them anyway.
            with contextlib.suppress(Exception):
                await engine.dispose()

    def __repr__(self) -> str:
        return f"<DisposableDatabase {self.name} ({self.contents}) on {self.server.backend}>"


class _DatabaseRequest:
    """What disposable_database() returns: await it, or use it with `async with`."""

    def __init__(self, contents: Contents, label: str, say: bool) -> None:
        self._contents = contents
        self._label = label
        self._say = say
        self._database: DisposableDatabase | None = None

    def __await__(self) -> Generator[Any, None, DisposableDatabase]:
        return self._open().__await__()

    async def __aenter__(self) -> DisposableDatabase:
        self._database = await self._open()
        return self._database

    async def __aexit__(self, *exc_info: object) -> None:
        if self._database is not None:
            await self._database.drop()

    async def _open(self) -> DisposableDatabase:
        started = time.perf_counter()
        server = await asyncio.to_thread(current_server, say=self._say)
        previous = _by_label.pop(self._label, None)
        if previous is not None:
            await previous.drop()
        name = _new_name(server, self._label)
        await _create(server, name, self._contents)
        database = DisposableDatabase(server, name, self._contents, self._label)
        _by_label[self._label] = database
        if self._say:
            what = {"empty": "empty", "tables": "course tables, no rows", "seed": "seed data"}
            _say(
                f"Fresh database {name} ({what[self._contents]}) ready in "
                f"{time.perf_counter() - started:.2f} s · url: {database.url}"
            )
        return database


def disposable_database(
    *, seed: bool = False, tables: bool | None = None, label: str = "main", say: bool | None = None
) -> _DatabaseRequest:
    """A fresh database on this process's PostgreSQL server, with guard rails set.

    seed=True: the course tables with the seed data. tables=True (without seed): the course
    tables, empty. Neither: an empty database. Calling again with the same `label` drops the
    previous database of that label first. say=False keeps it quiet (also ASYNCDB_LAB_QUIET=1).
    """
    contents: Contents = "seed" if seed else ("tables" if tables else "empty")
    return _DatabaseRequest(contents, label, say if say is not None else not quiet())


async def _create(server: Server, name: str, contents: Contents) -> None:
    import asyncpg

    template = await server.template_for(contents)
    server.track(name)
    conn = await asyncpg.connect(server.admin_dsn)
    try:
        await create_database(
            conn, name, template, DATABASE_DEFAULTS, strategy=server.clone_strategy
        )
    finally:
        await conn.close()


async def _drop(server: Server, name: str) -> bool:
    """Drop `name` now and say so; on any failure say False and raise nothing, print nothing.

    The server still tracks a database it was not told to forget: its stop() drops it at exit.
    """
    import asyncpg

    try:
        conn = await asyncpg.connect(server.admin_dsn)
        try:
            await drop_database(conn, name)
        finally:
            await conn.close()
    except Exception:
        return False
    server.forget(name)
    return True


def _new_name(server: Server, label: str) -> str:
    return f"{server.prefix}{_safe(label)}_{_next_number()}"


def _safe(label: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in label.lower()).strip("_")
    return cleaned[:20] or "db"


def _next_number() -> int:
    global _counter
    with _counter_lock:
        _counter += 1
        return _counter


def _say(message: str) -> None:
    print(message, flush=True)
