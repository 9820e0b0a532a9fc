"""Look at the locks PostgreSQL holds: who holds what on a table, who waits for whom.

    print(await format_locks(engine, "accounts"))

pg_locks shows table-level locks and waits; row locks live in the rows themselves and are
shown by the pgrowlocks extension (installed in the course's template databases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

_LOCKS_SQL = text(
    """
    WITH holders AS (
        SELECT DISTINCT pid FROM pg_locks WHERE relation = CAST(:relation AS regclass)
    )
    SELECT l.pid, l.locktype, l.mode, l.granted,
           pg_blocking_pids(l.pid) AS blocked_by,
           left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80) AS query
    FROM pg_locks AS l
    JOIN pg_stat_activity AS a ON a.pid = l.pid
    WHERE l.pid <> pg_backend_pid()
      AND (l.relation = CAST(:relation AS regclass)
           OR (NOT l.granted AND l.pid IN (SELECT pid FROM holders)))
    ORDER BY l.pid, l.granted DESC, l.locktype, l.mode
    """
)

_ROW_LOCKS_SQL = text(
    "SELECT locked_row::text, multi, modes::text[], pids FROM pgrowlocks(:relation) "
    "ORDER BY locked_row"
)


@dataclass(frozen=True)
class Lock:
    pid: int
    locktype: str
    mode: str
    granted: bool
    blocked_by: tuple[int, ...]
    query: str


@dataclass(frozen=True)
class RowLock:
    ctid: str
    modes: tuple[str, ...]
    pids: tuple[int, ...]


async def locks_on(engine: Any, relation: str) -> list[Lock]:
    """Locks that other sessions hold on (or wait for because of) `relation`."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_LOCKS_SQL, {"relation": relation})).all()
    return [
        Lock(r.pid, r.locktype, r.mode, r.granted, tuple(r.blocked_by), r.query or "") for r in rows
    ]


async def row_locks(engine: Any, relation: str) -> list[RowLock]:
    """Row-level locks (FOR UPDATE, FOR SHARE, …) on `relation`, via pgrowlocks."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_ROW_LOCKS_SQL, {"relation": relation})).all()
    return [RowLock(r.locked_row, tuple(r.modes), tuple(r.pids)) for r in rows]


async def format_locks(engine: Any, relation: str) -> str:
    """A small table of locks on `relation`, then its locked rows."""
    locks = await locks_on(engine, relation)
    lines = [f"Locks on {relation}: {len(locks)}"]
    for lock in locks:
        state = "holds" if lock.granted else "WAITS"
        blocked = f" (blocked by {list(lock.blocked_by)})" if lock.blocked_by else ""
        lines.append(
            f"  pid {lock.pid} {state} {lock.mode} [{lock.locktype}]{blocked} — {lock.query}"
        )
    try:
        rows = await row_locks(engine, relation)
    except Exception as error:
        lines.append(f"Locked rows in {relation}: not shown, {_why_no_row_locks(error)}")
        return "\n".join(lines)
    lines.append(f"Locked rows in {relation}: {len(rows)}")
    for row in rows:
        lines.append(f"  row {row.ctid}: {', '.join(row.modes)} by pid {list(row.pids)}")
    return "\n".join(lines)


def _why_no_row_locks(error: Exception) -> str:
    """Why pgrowlocks could not be read, in words (a server where the learner is no superuser)."""
    cause = getattr(error, "orig", error)
    name = getattr(cause, "sqlstate", None) or ""
    if name == "42883":  # undefined_function
        return (
            "because the pgrowlocks extension is not installed in this database: installing it "
            "needs a superuser (the embedded backend has one; on a shared server, ask its "
            "administrator to run CREATE EXTENSION pgrowlocks in template1)."
        )
    if name == "42501":  # insufficient_privilege
        return "because this role may not read them (pgrowlocks needs SELECT on the table)."
    return f"because pgrowlocks failed: {' '.join(str(cause).split())[:160]}"
