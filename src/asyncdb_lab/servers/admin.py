"""Database-level administration on an asyncpg connection: create from a template, drop.

The one place that drops a database: the database layer, the url backend (at exit and in its
sweep of dead processes' databases) and the grading server all call drop_database().
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from asyncdb_lab.errors import DatabaseInUse

if TYPE_CHECKING:
    import asyncpg

# CREATE DATABASE … TEMPLATE fails with 55006 while anyone else is connected to the template
# (another process cloning it at the same moment, say); the wait is a few milliseconds.
_TEMPLATE_BUSY_RETRIES = 50
# DROP DATABASE waits up to 5 s for other sessions to leave, then fails with 55006. A session
# of this role that connected again meanwhile is ended before the next attempt.
_IN_USE_ATTEMPTS = 3


async def create_database(
    conn: asyncpg.Connection,
    name: str,
    template: str,
    settings: dict[str, str],
    *,
    strategy: str | None = None,
) -> None:
    """Clone `template` into a new database `name` with `settings` as defaults, closed to PUBLIC.

    strategy="FILE_COPY" copies files and checkpoints: four times faster on a server without
    fsync, but a checkpoint is not something to force on a shared server.
    """
    import asyncpg

    clause = f" STRATEGY {strategy}" if strategy else ""
    for attempt in range(_TEMPLATE_BUSY_RETRIES):
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{clause}')
            break
        except asyncpg.ObjectInUseError:
            if attempt + 1 == _TEMPLATE_BUSY_RETRIES:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    for setting, value in settings.items():
        # An older server may lack a setting: the others still apply.
        with contextlib.suppress(asyncpg.UndefinedObjectError):
            await conn.execute(f"ALTER DATABASE \"{name}\" SET {setting} = '{value}'")
    # Other roles on a shared server (other learners' kernels, say) cannot connect to it.
    await conn.execute(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{name}" FROM PUBLIC')


async def drop_database(conn: asyncpg.Connection, name: str) -> None:
    """Drop database `name` (a template too), ending its sessions first, as any role that owns it.

    A superuser: DROP DATABASE … WITH (FORCE). Any other role may not use FORCE while an
    autovacuum worker is in the database: FORCE first signals every other backend there and
    fails ("permission denied to terminate process") unless it may signal them all, which for
    an autovacuum worker takes superuser or pg_signal_backend (TerminateOtherDBBackends; seen
    on PostgreSQL 15 and 18, where pg_signal_autovacuum_worker does not count). So such a role
    ends its own sessions there itself (pg_terminate_backend allows that) and runs a plain
    DROP DATABASE, which tells autovacuum workers to exit and waits for them on its own. A
    session of another role, which it may not end, fails the drop at once (DatabaseInUse)
    instead of after PostgreSQL's 5 s wait.
    """
    import asyncpg

    superuser, is_template = await conn.fetchrow(
        "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
        "(SELECT datistemplate FROM pg_database WHERE datname = $1)",
        name,
    )
    if is_template:
        await conn.execute(f'ALTER DATABASE "{name}" IS_TEMPLATE false')
    for attempt in range(_IN_USE_ATTEMPTS):
        if not superuser:
            await _end_own_sessions(conn, name)
        try:
            await conn.execute(
                f'DROP DATABASE IF EXISTS "{name}"{" WITH (FORCE)" if superuser else ""}'
            )
            return
        except asyncpg.ObjectInUseError:
            if attempt + 1 == _IN_USE_ATTEMPTS:
                raise


async def _end_own_sessions(conn: asyncpg.Connection, name: str) -> None:
    """Terminate the sessions in `name` of roles this one has the privileges of (its own).

    Autovacuum workers (no role) are left to DROP DATABASE. Sessions of other roles cannot be
    ended by this role, and DROP DATABASE would wait 5 s for them and fail: fail now.
    """
    sessions = await conn.fetch(
        "SELECT pid, pg_has_role(usesysid, 'USAGE') AS ours FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid() AND usesysid IS NOT NULL",
        name,
    )
    others = [row["pid"] for row in sessions if not row["ours"]]
    if others:
        raise DatabaseInUse(
            f"database {name} has {len(others)} session(s) of other roles (pids {others})"
        )
    ours = [row["pid"] for row in sessions]
    if ours:
        # A session that has just ended on its own gives a warning and false: both harmless.
        await conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", ours)
