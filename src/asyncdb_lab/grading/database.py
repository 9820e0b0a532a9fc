"""The grading run's PostgreSQL: one private server, shared templates, a role per submission.

Each submission's kernel gets its own login role (LOGIN CREATEDB, no superuser) and the url
backend, so every `disposable_database()` in the notebook is a clone that only that role can
connect to. Afterwards its backends are terminated (a cell timeout does not stop a query the
server is running), its databases dropped (servers/admin.py's drop_database: as the server's
superuser, WITH (FORCE)) and the role dropped.

The role itself drops its databases as it goes (the url backend in its kernel) without FORCE:
FORCE by a role that is not a superuser fails while an autovacuum worker is in the database,
while a plain DROP DATABASE makes the worker exit. So roles get no signalling role either
(pg_signal_autovacuum_worker, PostgreSQL 18, does not make FORCE pass; pg_signal_backend would
let them end other submissions' sessions).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass

from asyncdb_lab.seed import seed_fingerprint
from asyncdb_lab.servers.admin import drop_database
from asyncdb_lab.servers.embedded.server import EmbeddedServer, new_password
from asyncdb_lab.servers.sync_admin import execute_all, run_sync
from asyncdb_lab.servers.templates import create_templates
from asyncdb_lab.servers.url import shared_template_names

ROLE_PREFIX = "adl_grade_"
# Owns the course tables in the templates, so in every clone. Each submission's role is a member:
# its code and the hidden tests may alter the tables of its own databases (ALTER TABLE needs the
# owner), and the connection guard keeps it out of every other role's databases.
TABLE_OWNER = "adl_course_tables"
GUARD_SCHEMA = "asyncdb_lab_guard"
# Every database on the server descends from template0 or template1, so a login trigger in both
# (PostgreSQL 17+) guards every database, including those a learner makes with a bare CREATE
# DATABASE (which, unlike disposable_database(), leaves CONNECT granted to PUBLIC). A learner's
# role owns its clone, but neither the trigger nor the schema holding its function.
CONNECTION_GUARD = [
    f"CREATE SCHEMA {GUARD_SCHEMA}",
    f"GRANT USAGE ON SCHEMA {GUARD_SCHEMA} TO PUBLIC",
    f"""CREATE FUNCTION {GUARD_SCHEMA}.only_its_owner() RETURNS event_trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF current_database() <> 'postgres'
           AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
           AND session_user <> (SELECT pg_get_userbyid(datdba) FROM pg_database
                                WHERE datname = current_database()) THEN
            RAISE EXCEPTION 'only the role that made database % may connect to it',
                current_database() USING ERRCODE = 'insufficient_privilege';
        END IF;
    END $$""",
    f"CREATE EVENT TRIGGER asyncdb_lab_only_its_owner ON login "
    f"EXECUTE FUNCTION {GUARD_SCHEMA}.only_its_owner()",
]
_BACKENDS_GONE_SECONDS = 10.0


@dataclass(frozen=True)
class Role:
    name: str
    password: str
    url: str  # postgresql://role:password@127.0.0.1:port/postgres, for ASYNCDB_LAB_DATABASE_URL


class GradingServer:
    """Start with GradingServer.start(); stop() drops everything (the server and its folder)."""

    def __init__(self, server: EmbeddedServer, connection_limit: int) -> None:
        self.server = server
        self.connection_limit = connection_limit
        self._count = 0

    @classmethod
    def start(cls, connection_limit: int) -> GradingServer:
        server = EmbeddedServer.start(tcp=True, password=new_password())
        try:
            run_sync(_guard_connections(server))
            run_sync(execute_all(server.admin_dsn, [f'CREATE ROLE "{TABLE_OWNER}" NOLOGIN']))
            names = shared_template_names(seed_fingerprint())
            run_sync(
                create_templates(
                    {
                        "admin": server.admin_dsn,
                        names.tables: server.dsn(names.tables),
                        names.seed: server.dsn(names.seed),
                    },
                    names,
                    table_owner=TABLE_OWNER,
                )
            )
            # Learner roles need `postgres` (the url backend's admin database) and nothing else.
            run_sync(
                execute_all(server.admin_dsn, ["REVOKE CONNECT ON DATABASE template1 FROM PUBLIC"])
            )
        except BaseException:
            server.stop()
            raise
        return cls(server, connection_limit)

    def new_role(self) -> Role:
        self._count += 1
        name = f"{ROLE_PREFIX}{self._count}_{secrets.token_hex(3)}"
        password = new_password()
        run_sync(
            execute_all(
                self.server.admin_dsn,
                [
                    f'CREATE ROLE "{name}" LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION '
                    f"NOBYPASSRLS CONNECTION LIMIT {self.connection_limit} PASSWORD '{password}'",
                    f"ALTER ROLE \"{name}\" SET temp_file_limit = '1GB'",
                    f'GRANT "{TABLE_OWNER}" TO "{name}"',
                ],
            )
        )
        url = self.server.dsn("postgres", user=name, password=password)
        return Role(name, password, url)

    def drop_role(self, role: Role) -> dict[str, int]:
        """Stop everything the role runs and drop everything it owns; say how much there was."""
        return run_sync(_drop_role(self.server, role.name))

    def activity(self, role: Role) -> list[str]:
        """The queries the role's sessions are running (for tests and reports)."""
        return run_sync(_activity(self.server.admin_dsn, role.name))

    def stop(self) -> None:
        self.server.stop()


async def _guard_connections(server: EmbeddedServer) -> None:
    await execute_all(server.admin_dsn, ["ALTER DATABASE template0 ALLOW_CONNECTIONS true"])
    try:
        for template in ("template0", "template1"):
            await execute_all(server.dsn(template), CONNECTION_GUARD)
    finally:
        await execute_all(server.admin_dsn, ["ALTER DATABASE template0 ALLOW_CONNECTIONS false"])


async def _activity(dsn: str, role: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT query FROM pg_stat_activity WHERE usename = $1", role)
    finally:
        await conn.close()
    return [row["query"] for row in rows]


async def _drop_role(server: EmbeddedServer, role: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(server.admin_dsn)
    try:
        await conn.execute(f'ALTER ROLE "{role}" NOLOGIN')
        terminated = await conn.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE usename = $1",
            role,
        )
        deadline = time.monotonic() + _BACKENDS_GONE_SECONDS
        while time.monotonic() < deadline and await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", role
        ):
            await asyncio.sleep(0.02)
        names = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datdba = "
            "(SELECT oid FROM pg_roles WHERE rolname = $1)",
            role,
        )
        for (name,) in names:
            await drop_database(conn, name)
        # What it made in `postgres` itself (large objects, say), the only other database it
        # may connect to.
        await conn.execute(f'DROP OWNED BY "{role}"')
        await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await conn.close()
    return {"backends": int(terminated or 0), "databases": len(names)}
