"""Database-level administration on an asyncpg connection: create from a template, drop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg

# CREATE DATABASE … TEMPLATE fails with 55006 while anyone else is connected to the template
# (another process cloning it at the same moment, say); the wait is a few milliseconds.
_TEMPLATE_BUSY_RETRIES = 50


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
    """DROP DATABASE … WITH (FORCE): its sessions are terminated first. Templates too."""
    is_template = await conn.fetchval(
        "SELECT datistemplate FROM pg_database WHERE datname = $1", name
    )
    if is_template:
        await conn.execute(f'ALTER DATABASE "{name}" IS_TEMPLATE false')
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
