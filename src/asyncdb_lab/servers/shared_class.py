"""One PostgreSQL server shared by many learners (a JupyterHub class) or submissions (grading).

The statements that make a shared server safe live here, for both `asyncdb-lab provision` and
the grading pipeline (grading/database.py): a login event trigger in template0 and template1
(PostgreSQL 17+) so that only a database's owner may connect to it, the shared course templates
owned by TABLE_OWNER, `postgres` locked down, advisory locks revoked; then a login role per
learner (LOGIN CREATEDB, connection limit, temp_file_limit, quiet log, member of TABLE_OWNER)
and, when it is done, the drop of everything that role runs and owns.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url

from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.servers.admin import drop_database
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

# Owns the course tables in the templates, so in every clone. Each learner's role is a member:
# its code and the hidden tests may alter the tables of its own databases (ALTER TABLE needs the
# owner), and the connection guard keeps it out of every other role's databases. The membership
# inherits the owner's privileges but may not SET ROLE to it, and PostgreSQL 16+ refuses to hand
# an object to a role one may not SET ROLE to (ALTER … OWNER TO, CREATE DATABASE … OWNER): so a
# learner cannot leave anything that its DROP OWNED and the drop of its databases would miss.
TABLE_OWNER = "adl_course_tables"
MEMBERSHIP = "WITH INHERIT TRUE, SET FALSE"
GUARD_SCHEMA = "asyncdb_lab_guard"
GUARD_TRIGGER = "asyncdb_lab_only_its_owner"
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
    f"CREATE EVENT TRIGGER {GUARD_TRIGGER} ON login "
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
MIN_SERVER_VERSION = 170000  # login event triggers
LEARNER_ROLE_PREFIX = "adl_learner_"
# Marks a learner role (COMMENT ON ROLE) with its hub user name and when it was made: the sweep
# touches no role without it, and none made after the list of running servers it was given.
LEARNER_COMMENT_PREFIX = "asyncdb-lab learner "
DEFAULT_CONNECTION_LIMIT = 50  # notebook 04 opens 20 at once, its check as many again
DEFAULT_SIZE_LIMIT = 512 * 1024**2
_BACKENDS_GONE_SECONDS = 10.0

DsnFor = Callable[[str], str]  # database name -> the superuser's DSN for it


class ServerTooOld(AsyncDbLabError):
    """The shared server cannot guard its databases (no login event triggers before 17)."""


@dataclass(frozen=True)
class LearnerRole:
    user: str  # the hub's user name, as given
    role: str  # the PostgreSQL role derived from it
    password: str
    url: str  # postgresql://role:password@host:port/postgres, for ASYNCDB_LAB_DATABASE_URL


def learner_role_name(user: str) -> str:
    """A role name safe for any hub user name: a readable slug plus a digest of the exact name.

    Two names that differ only in case or punctuation get different roles; the result is a
    lower-case identifier well under PostgreSQL's 63 bytes.
    """
    slug = re.sub(r"[^a-z0-9]+", "_", user.lower()).strip("_")[:24].rstrip("_")
    digest = hashlib.sha256(user.encode()).hexdigest()[:10]
    return f"{LEARNER_ROLE_PREFIX}{slug}_{digest}" if slug else f"{LEARNER_ROLE_PREFIX}{digest}"


def course_templates(names: TemplateNames) -> frozenset[str]:
    """Every template a drop must leave alone: the shared ones and the embedded server's."""
    return frozenset({names.tables, names.seed, EMBEDDED_TEMPLATES.tables, EMBEDDED_TEMPLATES.seed})


def class_templates() -> TemplateNames:
    from asyncdb_lab.seed import seed_fingerprint

    return shared_template_names(seed_fingerprint())


async def require_login_triggers(conn: Any) -> None:
    version = int(await conn.fetchval("SHOW server_version_num"))
    if version < MIN_SERVER_VERSION:
        shown = await conn.fetchval("SHOW server_version")
        raise ServerTooOld(
            f"PostgreSQL {shown} cannot keep learners out of each other's databases (login event "
            f"triggers came in 17): use a PostgreSQL 17 or newer server for the class."
        )


async def prepare_server(admin_dsn: str, dsn_for: DsnFor) -> TemplateNames:
    """Guard, templates, lock-down; each step skipped when it is done already. The templates."""
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        await require_login_triggers(conn)
        await _guard_connections(conn, dsn_for)
        if not await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", TABLE_OWNER):
            await conn.execute(f'CREATE ROLE "{TABLE_OWNER}" NOLOGIN')
        names = class_templates()
        found = await conn.fetchval(
            "SELECT count(*) FROM pg_database WHERE datistemplate AND datname = ANY($1::text[])",
            [names.tables, names.seed],
        )
        if found != 2:
            for name in (names.tables, names.seed):  # what a setup that was stopped left
                if await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name):
                    await drop_database(conn, name)
            dsns = {"admin": admin_dsn, names.tables: dsn_for(names.tables)}
            dsns[names.seed] = dsn_for(names.seed)
            await create_templates(dsns, names, table_owner=TABLE_OWNER)
        # Learner roles need `postgres` (the url backend's admin database) and nothing else.
        for statement in ["REVOKE CONNECT ON DATABASE template1 FROM PUBLIC", *LOCK_POSTGRES]:
            await conn.execute(statement)
    finally:
        await conn.close()
    return names


async def _guard_connections(conn: Any, dsn_for: DsnFor) -> None:
    import asyncpg

    await conn.execute("ALTER DATABASE template0 ALLOW_CONNECTIONS true")
    try:
        for template in ("template0", "template1"):
            guarded = await asyncpg.connect(dsn_for(template))
            try:
                if await guarded.fetchval(
                    "SELECT count(*) FROM pg_event_trigger WHERE evtname = $1", GUARD_TRIGGER
                ):
                    continue
                async with guarded.transaction():
                    for statement in CONNECTION_GUARD:
                        await guarded.execute(statement)
            finally:
                await guarded.close()
    finally:
        await conn.execute("ALTER DATABASE template0 ALLOW_CONNECTIONS false")


async def unguarded_databases(admin_dsn: str) -> list[str]:
    """Databases made before the guard (other than `postgres`): any role may still connect."""
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        names = []
        for (name,) in await conn.fetch(
            "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
            "AND datname <> 'postgres' AND has_database_privilege('public', oid, 'CONNECT') "
            "ORDER BY datname"
        ):
            names.append(name)
    finally:
        await conn.close()
    return names


def role_statements(name: str, password: str, connection_limit: int, size_limit: int) -> list[str]:
    """CREATE ROLE for a learner or a submission, with its guard rails."""
    return [
        f'CREATE ROLE "{name}" LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION '
        f"NOBYPASSRLS CONNECTION LIMIT {connection_limit} PASSWORD '{password}'",
        f"ALTER ROLE \"{name}\" SET temp_file_limit = '{size_limit // 1024}kB'",
        # RAISE LOG (and failing statements) would write to the server's log, which no size
        # limit covers: 300 MB in 4 s. Its sessions log nothing.
        *(f"ALTER ROLE \"{name}\" SET {setting} = 'panic'" for setting in QUIET_LOG),
        f'GRANT "{TABLE_OWNER}" TO "{name}" {MEMBERSHIP}',
    ]


async def create_learner(
    admin_dsn: str, user: str, password: str, connection_limit: int, size_limit: int
) -> str:
    """Create (or replace: its old sessions and databases go) the learner's role; its name."""
    import asyncpg

    role = learner_role_name(user)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await require_login_triggers(conn)
        if not await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", TABLE_OWNER):
            raise AsyncDbLabError(
                "This server has not been set up for a class: run `asyncdb-lab provision setup` "
                "against it first."
            )
        if await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", role):
            await drop_role_on(conn, role, course_templates(class_templates()))
        async with conn.transaction():
            for statement in role_statements(role, password, connection_limit, size_limit):
                await conn.execute(statement)
            comment = LEARNER_COMMENT_PREFIX + json.dumps({"user": user, "made": time.time()})
            await conn.execute(
                await conn.fetchval(
                    "SELECT format('COMMENT ON ROLE %I IS %L', $1::text, $2::text)", role, comment
                )
            )
    finally:
        await conn.close()
    return role


async def learner_roles(admin_dsn: str) -> dict[str, tuple[str, float]]:
    """Every learner role on the server: role -> (hub user name, when it was made)."""
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT rolname, comment FROM (SELECT rolname, "
            "shobj_description(oid, 'pg_authid') AS comment FROM pg_roles) AS roles "
            "WHERE starts_with(rolname, $1) AND starts_with(comment, $2)",
            LEARNER_ROLE_PREFIX,
            LEARNER_COMMENT_PREFIX,
        )
    finally:
        await conn.close()
    found = {}
    for row in rows:
        try:
            details = json.loads(row["comment"].removeprefix(LEARNER_COMMENT_PREFIX))
            found[row["rolname"]] = (str(details["user"]), float(details["made"]))
        except (ValueError, KeyError, TypeError):
            continue  # a comment someone else wrote: not a role this sweep may drop
    return found


async def drop_role(admin_dsn: str, role: str, templates: frozenset[str]) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        return await drop_role_on(conn, role, templates)
    finally:
        await conn.close()


async def drop_role_on(conn: Any, role: str, templates: frozenset[str]) -> dict[str, int]:
    """Stop everything the role runs and drop everything it owns; say how much there was.

    Also drops any database the shared table owner was given (none can be, see MEMBERSHIP):
    nothing a learner made may reach a later one. A role that is not there: nothing to do.
    """
    if not await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", role):
        return {"backends": 0, "databases": 0}
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


class SharedClass:
    """A class's shared server, reached with a superuser's URL (its database is ignored).

    learner_host (and learner_port) name the server as the learners' servers reach it, when
    that differs from how the admin reaches it (a Kubernetes service name, say).
    """

    def __init__(
        self,
        admin_url: str,
        *,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
        size_limit: int = DEFAULT_SIZE_LIMIT,
        learner_host: str | None = None,
        learner_port: int | None = None,
    ) -> None:
        parsed = make_url(admin_url)
        if not parsed.drivername.startswith("postgresql"):
            raise AsyncDbLabError(
                f"The admin URL must name a PostgreSQL server (postgresql://user:password@host:"
                f"5432/postgres), not {parsed.drivername}."
            )
        self._url = parsed.set(drivername="postgresql")
        self.connection_limit = connection_limit
        self.size_limit = size_limit
        self.learner_host = learner_host
        self.learner_port = learner_port

    def dsn(self, database: str) -> str:
        return self._url.set(database=database).render_as_string(hide_password=False)

    @property
    def admin_dsn(self) -> str:
        return self.dsn("postgres")

    def setup(self) -> list[str]:
        """Prepare the server (again: each step is skipped when done); the unguarded databases."""
        from asyncdb_lab.servers.sync_admin import run_sync

        run_sync(prepare_server(self.admin_dsn, self.dsn))
        return run_sync(unguarded_databases(self.admin_dsn))

    def learner(self, user: str) -> LearnerRole:
        """Create or replace the learner's role; its URL for ASYNCDB_LAB_DATABASE_URL."""
        from asyncdb_lab.servers.embedded.server import new_password
        from asyncdb_lab.servers.sync_admin import run_sync

        password = new_password()
        role = run_sync(
            create_learner(self.admin_dsn, user, password, self.connection_limit, self.size_limit)
        )
        url = self._url.set(
            username=role,
            password=password,
            database="postgres",
            host=self.learner_host or self._url.host,
            port=self.learner_port or self._url.port,
        )
        return LearnerRole(user, role, password, url.render_as_string(hide_password=False))

    def drop(self, user: str) -> dict[str, int]:
        """Terminate the learner's sessions, drop its databases and its role (none: nothing)."""
        from asyncdb_lab.servers.sync_admin import run_sync

        role = learner_role_name(user)
        return run_sync(drop_role(self.admin_dsn, role, course_templates(class_templates())))

    def sweep(self, keep: Iterable[str], listed_at: float | None = None) -> list[str]:
        """Drop every learner role but those of `keep` (users whose servers run); the users dropped.

        listed_at: when `keep` was read; a role made after it (a server starting meanwhile) stays.
        """
        from asyncdb_lab.servers.sync_admin import run_sync

        kept = {learner_role_name(user) for user in keep}
        cutoff = time.time() if listed_at is None else listed_at
        dropped = []
        for role, (user, made) in sorted(run_sync(learner_roles(self.admin_dsn)).items()):
            if role in kept or made >= cutoff:
                continue
            run_sync(drop_role(self.admin_dsn, role, course_templates(class_templates())))
            dropped.append(user)
        return dropped
