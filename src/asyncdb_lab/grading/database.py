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

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any

from asyncdb_lab.grading.disk_watch import DatabaseSizeWatch
from asyncdb_lab.seed import seed_fingerprint
from asyncdb_lab.servers.admin import drop_database
from asyncdb_lab.servers.embedded.server import EmbeddedServer, new_password
from asyncdb_lab.servers.sync_admin import execute_all, run_sync
from asyncdb_lab.servers.templates import EMBEDDED_TEMPLATES, TemplateNames, create_templates
from asyncdb_lab.servers.url import shared_template_names

# Session advisory locks fill the server's shared lock table (one learner took every slot, and
# no other role could even be created): no notebook needs them.
NO_ADVISORY_LOCKS = """DO $$
    DECLARE function regprocedure;
    BEGIN
        FOR function IN SELECT oid::regprocedure FROM pg_proc
                        WHERE proname ~ '^pg_(try_)?advisory_' LOOP
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', function);
        END LOOP;
    END $$"""

ROLE_PREFIX = "adl_grade_"
DEFAULT_SIZE_LIMIT = 512 * 1024**2
# Owns the course tables in the templates, so in every clone. Each submission's role is a member:
# its code and the hidden tests may alter the tables of its own databases (ALTER TABLE needs the
# owner), and the connection guard keeps it out of every other role's databases. The membership
# inherits the owner's privileges but may not SET ROLE to it, and PostgreSQL 16+ refuses to hand
# an object to a role one may not SET ROLE to (ALTER … OWNER TO, CREATE DATABASE … OWNER): so a
# learner cannot leave anything that its DROP OWNED and the drop of its databases would miss.
TABLE_OWNER = "adl_course_tables"
MEMBERSHIP = "WITH INHERIT TRUE, SET FALSE"
GUARD_SCHEMA = "asyncdb_lab_guard"
# Every database on the server descends from template0 or template1, so a login trigger in both
# (PostgreSQL 17+) guards every database, including those a learner makes with a bare CREATE
# DATABASE (which, unlike disposable_database(), leaves CONNECT granted to PUBLIC). A learner's
# role owns its clone, but neither the trigger nor the schema holding its function.
# A role may also mark its database IS_TEMPLATE, and any role may then copy it: so the first
# learner role to log in to a database is written into it (first_login, which only the trigger's
# owner may change), and a copy of it keeps that name: no other role may log in to the copy.
CONNECTION_GUARD = [
    f"CREATE SCHEMA {GUARD_SCHEMA}",
    f"GRANT USAGE ON SCHEMA {GUARD_SCHEMA} TO PUBLIC",
    f"""CREATE TABLE {GUARD_SCHEMA}.first_login (
        just_one boolean PRIMARY KEY DEFAULT true CHECK (just_one),
        role name NOT NULL
    )""",
    f"REVOKE ALL ON {GUARD_SCHEMA}.first_login FROM PUBLIC",
    f"""CREATE FUNCTION {GUARD_SCHEMA}.only_its_owner() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    BEGIN
        IF current_database() = 'postgres'
           OR (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
            RETURN;
        END IF;
        IF session_user <> (SELECT pg_get_userbyid(datdba) FROM pg_database
                            WHERE datname = current_database()) THEN
            RAISE EXCEPTION 'only the role that made database % may connect to it',
                current_database() USING ERRCODE = 'insufficient_privilege';
        END IF;
        INSERT INTO {GUARD_SCHEMA}.first_login (role) VALUES (session_user)
            ON CONFLICT DO NOTHING;
        IF (SELECT role FROM {GUARD_SCHEMA}.first_login) <> session_user THEN
            RAISE EXCEPTION 'database % is a copy of another role''s database: it may not be used',
                current_database() USING ERRCODE = 'insufficient_privilege';
        END IF;
    END $$""",
    f"CREATE EVENT TRIGGER asyncdb_lab_only_its_owner ON login "
    f"EXECUTE FUNCTION {GUARD_SCHEMA}.only_its_owner()",
    NO_ADVISORY_LOCKS,
]
# `postgres` is the one database every learner role may connect to (for CREATE DATABASE): nothing
# may be stored there. It has no CREATE for PUBLIC (on the database or, since PostgreSQL 15, on
# its schema public); temporary tables and large objects are what is left.
LOCK_POSTGRES = [
    NO_ADVISORY_LOCKS,
    "REVOKE TEMPORARY ON DATABASE postgres FROM PUBLIC",
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    """DO $$
    DECLARE function regprocedure;
    BEGIN
        FOR function IN SELECT oid::regprocedure FROM pg_proc
                        WHERE proname ~ '^(lo_|lo(read|write)$)' LOOP
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', function);
        END LOOP;
    END $$""",
]
QUIET_LOG = ("log_min_messages", "log_min_error_statement")
_BACKENDS_GONE_SECONDS = 10.0


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
    def start(cls, connection_limit: int, size_limit: int = DEFAULT_SIZE_LIMIT) -> GradingServer:
        """size_limit: the bytes a role's databases and temporary files may take."""
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
                execute_all(
                    server.admin_dsn,
                    ["REVOKE CONNECT ON DATABASE template1 FROM PUBLIC", *LOCK_POSTGRES],
                )
            )
            grading = cls(server, connection_limit, size_limit, _course_templates(names))
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
                [
                    f'CREATE ROLE "{name}" LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION '
                    f"NOBYPASSRLS CONNECTION LIMIT {self.connection_limit} PASSWORD '{password}'",
                    f"ALTER ROLE \"{name}\" SET temp_file_limit = '{self.size_limit // 1024}kB'",
                    # RAISE LOG (and failing statements) would write to the server's log, which
                    # no size limit covers: 300 MB in 4 s. Its sessions log nothing.
                    *(f"ALTER ROLE \"{name}\" SET {setting} = 'panic'" for setting in QUIET_LOG),
                    f'GRANT "{TABLE_OWNER}" TO "{name}" {MEMBERSHIP}',
                ],
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
        return run_sync(_drop_role(self.server, role.name, self.templates))

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


def _course_templates(names: TemplateNames) -> frozenset[str]:
    return frozenset({names.tables, names.seed, EMBEDDED_TEMPLATES.tables, EMBEDDED_TEMPLATES.seed})


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


async def _drop_role(
    server: EmbeddedServer, role: str, templates: frozenset[str]
) -> dict[str, int]:
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
        own = await _drop_databases_owned_by(conn, role, templates)
        handed_over = await _drop_databases_owned_by(conn, TABLE_OWNER, templates)
        copies = await _drop_databases_holding_its_objects(conn, role, templates)
        # What it made in `postgres` itself (nothing can be made there, see LOCK_POSTGRES), and
        # privileges granted to it there.
        await conn.execute(f'DROP OWNED BY "{role}"')
        await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await conn.close()
    dropped = {"backends": int(terminated or 0), "databases": own}
    if handed_over:
        dropped["handed_over"] = handed_over
    if copies:
        dropped["copies"] = copies
    return dropped


async def _drop_databases_holding_its_objects(
    conn: Any, role: str, templates: frozenset[str]
) -> int:
    """Another role's copy of one of its databases (see CONNECTION_GUARD) would block DROP ROLE."""
    names = await conn.fetch(
        "SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE s.refclassid = 'pg_authid'::regclass "
        "AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1) "
        "AND d.datname <> 'postgres' AND NOT d.datname = ANY($2::text[])",
        role,
        sorted(templates),
    )
    return await _drop_each(conn, names)


async def _drop_databases_owned_by(conn: Any, owner: str, templates: frozenset[str]) -> int:
    """Its own databases; or those a learner handed to the course tables' owner (not templates)."""
    names = await conn.fetch(
        "SELECT datname FROM pg_database WHERE datdba = "
        "(SELECT oid FROM pg_roles WHERE rolname = $1) AND NOT datname = ANY($2::text[])",
        owner,
        sorted(templates),
    )
    return await _drop_each(conn, names)


async def _drop_each(conn: Any, rows: list[Any]) -> int:
    """Drop the database each row names (its first column); how many there were."""
    for (name,) in rows:
        await drop_database(conn, name)
    return len(rows)
