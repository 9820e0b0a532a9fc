"""Helpers the tests share: a plain asyncpg connection that is closed however the block ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg


@asynccontextmanager
async def connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection to `dsn`, closed on leaving the block."""
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def execute(dsn: str, statement: str) -> None:
    """Run one statement on a connection of its own."""
    async with connected(dsn) as conn:
        await conn.execute(statement)


async def fetchval(dsn: str, sql: str, *args: object) -> Any:
    """The first value of the first row of `sql`, on a connection of its own."""
    async with connected(dsn) as conn:
        return await conn.fetchval(sql, *args)
