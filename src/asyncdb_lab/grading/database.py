"""The grading run's PostgreSQL: one private server, shared templates, a role per submission.

Each submission's kernel gets its own login role (LOGIN CREATEDB, no superuser) and the url
backend, so every `disposable_database()` in the notebook is a clone that only that role can
connect to. Afterwards its backends are terminated (a cell timeout does not stop a query the
server is running), its databases dropped (servers/admin.py's drop_database: as the server's
superuser, WITH (FORCE)) and the role dropped. While it runs, a watch (disk_watch.py) stops it
if its databases outgrow the size limit.

The role itself drops its databases as it goes (the url backend in its kernel) without FORCE:
FORCE by a role that is not a superuser fails while an autovacuum worker is in the database,
while a plain DROP DATABASE makes the worker exit. So roles get no signalling role either
(pg_signal_autovacuum_worker, PostgreSQL 18, does not make FORCE pass; pg_signal_backend would
let them end other submissions' sessions).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from asyncdb_lab.grading.disk_watch import DatabaseSizeWatch
from asyncdb_lab.servers.embedded.server import EmbeddedServer, new_password

# The statements that make the server safe to share live in servers/shared_class.py, with
# `asyncdb-lab provision`'s (a JupyterHub class's server).
from asyncdb_lab.servers.shared_class import (
    DEFAULT_CONNECTION_LIMIT,
    DEFAULT_SIZE_LIMIT,
    TABLE_OWNER,
    course_templates,
    drop_role,
    prepare_server,
    role_statements,
)
from asyncdb_lab.servers.sync_admin import execute_all, run_sync

__all__ = ["DEFAULT_SIZE_LIMIT", "TABLE_OWNER", "GradingServer", "Role"]

ROLE_PREFIX = "adl_grade_"
# The grade command's own: the size watch, dropping roles, nbgrader's checks; and a margin.
ADMIN_CONNECTIONS = 20


@dataclass(frozen=True)
class Role:
    name: str
    password: str
    url: str  # postgresql://role:password@127.0.0.1:port/postgres, for ASYNCDB_LAB_DATABASE_URL


class GradingServer:
    """Start with GradingServer.start(); stop() drops everything (the server and its folder)."""

    def __init__(
        self,
        server: EmbeddedServer,
        connection_limit: int,
        size_limit: int,
        templates: frozenset[str],
    ) -> None:
        self.server = server
        self.connection_limit = connection_limit
        self.size_limit = size_limit
        self.templates = templates
        self.size_watch = DatabaseSizeWatch(server.admin_dsn, size_limit)
        self._count = 0

    @classmethod
    def start(
        cls,
        roles_at_once: int,
        size_limit: int = DEFAULT_SIZE_LIMIT,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
    ) -> GradingServer:
        """roles_at_once: how many submissions run at once, each with a role that may open
        connection_limit connections; the server admits them all, and this process's own.
        size_limit: the bytes a role's databases and temporary files may take."""
        server = EmbeddedServer.start(
            tcp=True,
            password=new_password(),
            max_connections=roles_at_once * connection_limit + ADMIN_CONNECTIONS,
        )
        try:
            names = run_sync(prepare_server(server.admin_dsn, server.dsn))
            grading = cls(server, connection_limit, size_limit, course_templates(names))
            grading.size_watch.start()
        except BaseException:
            server.stop()
            raise
        return grading

    def new_role(self) -> Role:
        self._count += 1
        name = f"{ROLE_PREFIX}{self._count}_{secrets.token_hex(3)}"
        password = new_password()
        run_sync(
            execute_all(
                self.server.admin_dsn,
                role_statements(name, password, self.connection_limit, self.size_limit),
            )
        )
        self.size_watch.watch(name)
        url = self.server.dsn("postgres", user=name, password=password)
        return Role(name, password, url)

    def drop_role(self, role: Role) -> dict[str, int]:
        """Stop everything the role runs and drop everything it owns; say how much there was.

        Also drops any database the shared table owner was given (none can be, see MEMBERSHIP):
        nothing a submission made may reach a later one.
        """
        self.size_watch.forget(role.name)
        return run_sync(drop_role(self.server.admin_dsn, role.name, self.templates))

    def stopped_for_size(self, role: Role) -> int | None:
        """The bytes its databases took when the size watch stopped the role; None if it did not."""
        return self.size_watch.stopped().get(role.name)

    def stopped_roles(self) -> set[str]:
        """The names of every role the size watch stopped so far."""
        return set(self.size_watch.stopped())

    def activity(self, role: Role) -> list[str]:
        """The queries the role's sessions are running (for tests and reports)."""
        return run_sync(_activity(self.server.admin_dsn, role.name))

    @property
    def unix_socket(self) -> str:
        """The server's Unix socket file (sandboxed kernels connect through it)."""
        return f"{self.server.socket_dir}/.s.PGSQL.{self.server.port}"

    def stop(self) -> None:
        self.size_watch.stop()
        self.server.stop()


async def _activity(dsn: str, role: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT query FROM pg_stat_activity WHERE usename = $1", role)
    finally:
        await conn.close()
    return [row["query"] for row in rows]
