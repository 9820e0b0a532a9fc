"""The url backend: an existing PostgreSQL server named by ASYNCDB_LAB_DATABASE_URL.

Only databases this library creates are ever touched: scratch databases and per-process
templates are named adl_<host>_<pid>_<start>_…, dropped when the process exits, and dropped by
the next start on this host if that process died without cleaning up (or could not drop one:
then its exit says so in one line on stderr).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import sys
import threading
from collections.abc import Callable

from sqlalchemy.engine import URL, make_url

from asyncdb_lab.errors import BackendUnavailable
from asyncdb_lab.servers.admin import drop_database
from asyncdb_lab.servers.embedded.reaper import process_start_time, scratch_owner_is_gone
from asyncdb_lab.servers.sync_admin import run_sync
from asyncdb_lab.servers.templates import Contents, TemplateNames, create_templates
from asyncdb_lab.settings import BACKEND_ENV, DATABASE_URL_ENV

SHARED_TEMPLATE_PREFIX = "asyncdb_lab_template"


def detect() -> tuple[bool, str]:
    if os.environ.get(DATABASE_URL_ENV):
        return True, f"{DATABASE_URL_ENV} is set"
    return False, f"{DATABASE_URL_ENV} is not set"


def refuse_request() -> str | None:
    if os.environ.get(DATABASE_URL_ENV):
        return None
    return (
        f"{BACKEND_ENV}=url needs {DATABASE_URL_ENV}, e.g. "
        f"postgresql://user:password@localhost:5432/postgres."
    )


def start(reason: str) -> ExternalServer:
    server = ExternalServer(os.environ[DATABASE_URL_ENV], reason=reason)
    server.connect_check()
    return server


def host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def process_prefix() -> str:
    started = int(process_start_time(os.getpid()) * 100)
    return f"adl_{host_tag()}_{os.getpid()}_{_base36(started)}_"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def shared_template_names(fingerprint: str) -> TemplateNames:
    """Templates an instructor or grader may prepare once on a shared server for many kernels."""
    return TemplateNames(
        tables=f"{SHARED_TEMPLATE_PREFIX}_tables_{fingerprint}",
        seed=f"{SHARED_TEMPLATE_PREFIX}_seed_{fingerprint}",
    )


class ExternalServer:
    """A server this process does not own; it only creates and drops its own databases there."""

    clone_strategy = None

    def __init__(
        self,
        url: str,
        *,
        backend: str = "url",
        reason: str = "",
        on_stop: Callable[[], object] | None = None,
    ) -> None:
        self.url: URL = _plain_url(url)
        self.backend = backend
        self.reason = reason
        self.version = ""
        self.prefix = process_prefix()
        self.started_in = 0.0
        self._on_stop = on_stop
        self._templates: TemplateNames | None = None
        self._own_templates = False
        self._created: set[str] = set()
        self._lock = threading.Lock()

    def dsn(self, database: str, *, user: str | None = None, password: str | None = None) -> str:
        url = self.url.set(database=database)
        if user is not None:
            url = url.set(username=user, password=password)
        return url.render_as_string(hide_password=False)

    @property
    def admin_dsn(self) -> str:
        return self.url.render_as_string(hide_password=False)

    def connect_check(self) -> None:
        """Connect once (or fail in one line), read the version, drop dead processes' databases."""
        run_sync(self._connect_check())

    async def _connect_check(self) -> None:
        import asyncpg

        where = f"{self.url.host or 'local socket'}:{self.url.port or 5432}"
        try:
            conn = await asyncio.wait_for(asyncpg.connect(self.admin_dsn), timeout=10)
        except (TimeoutError, OSError, asyncpg.PostgresError) as error:
            raise BackendUnavailable(
                f"Could not connect to the PostgreSQL server named by {DATABASE_URL_ENV} "
                f"({where}): {_describe(error)}. Start it or fix the URL, or unset "
                f"{DATABASE_URL_ENV} to use the embedded server."
            ) from None
        try:
            self.version = await conn.fetchval("SHOW server_version")
            # Only this role's own databases: on a shared server (grading, a class) other roles'
            # kernels may share this host name and pid numbers, in containers or namespaces.
            names = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1 "
                "AND datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)",
                f"adl\\_{host_tag()}\\_%",
            )
            for (name,) in names:
                if scratch_owner_is_gone(name):
                    # Cleanup never stops a start: one that fails is tried again next time.
                    with contextlib.suppress(Exception):
                        await drop_database(conn, name)
        finally:
            await conn.close()

    def connect_check_or_stop(self) -> None:
        """connect_check(); if it fails, stop() first (a shared server's lease goes with it)."""
        try:
            self.connect_check()  # also drops the databases of processes gone since
        except BaseException:
            self.stop()
            raise

    def track(self, name: str) -> None:
        with self._lock:
            self._created.add(name)

    def forget(self, name: str) -> None:
        with self._lock:
            self._created.discard(name)

    async def template_for(self, contents: Contents) -> str:
        if contents == "empty":
            return "template0"
        return (await asyncio.to_thread(self._ensure_templates)).for_contents(contents)

    def _ensure_templates(self) -> TemplateNames:
        from asyncdb_lab.seed import seed_fingerprint

        with self._lock:
            if self._templates is not None:
                return self._templates
            shared = shared_template_names(seed_fingerprint())
            if run_sync(_templates_exist(self.admin_dsn, shared)):
                self._templates = shared
                return shared
            own = TemplateNames(tables=f"{self.prefix}tpl_tables", seed=f"{self.prefix}tpl_seed")
            self._own_templates = True
            self._created.update((own.tables, own.seed))
            dsn_for = {
                "admin": self.admin_dsn,
                own.tables: self.dsn(own.tables),
                own.seed: self.dsn(own.seed),
            }
            run_sync(create_templates(dsn_for, own))
            self._templates = own
            return own

    def stop(self) -> None:
        """Drop every database this process made here (those it could not drop before, too).

        One that is still there afterwards is named in one line on stderr; the next start on
        this host drops it.
        """
        with self._lock:
            names, self._created = sorted(self._created), set()
        left = run_sync(_drop_all(self.admin_dsn, names)) if names else []
        if left:
            print(
                f"asyncdb-lab: could not drop {len(left)} database(s) at exit "
                f"({', '.join(left)}); the next start on this host drops them.",
                file=sys.stderr,
                flush=True,
            )
        if self._on_stop is not None:
            self._on_stop()
            self._on_stop = None


async def _templates_exist(dsn: str, names: TemplateNames) -> bool:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM pg_database WHERE datistemplate AND datname = ANY($1::text[])",
            [names.tables, names.seed],
        )
    finally:
        await conn.close()
    return found == 2


async def _drop_all(dsn: str, names: list[str]) -> list[str]:
    """Drop `names`; return those still there (all of them if the server cannot be reached)."""
    import asyncpg

    left = []
    try:
        conn = await asyncpg.connect(dsn)
    except Exception:
        return names
    try:
        for name in names:
            try:
                await drop_database(conn, name)
            except Exception:
                left.append(name)
        if left:
            # Only what is really still there (a drop may fail after it happened).
            with contextlib.suppress(Exception):
                rows = await conn.fetch(
                    "SELECT datname FROM pg_database WHERE datname = ANY($1::text[])", left
                )
                left = sorted(row[0] for row in rows)
    finally:
        with contextlib.suppress(Exception):
            await conn.close()
    return left


def _plain_url(url: str) -> URL:
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise BackendUnavailable(
            f"{DATABASE_URL_ENV} must name a PostgreSQL server (postgresql://user:password@host:5432"
            f"/postgres), not {parsed.drivername}."
        )
    return parsed.set(drivername="postgresql")


def _describe(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "no answer within 10 s"
    return str(error).splitlines()[0] if str(error) else type(error).__name__
