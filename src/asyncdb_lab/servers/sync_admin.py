"""Run asyncpg work from synchronous code, whether or not an event loop is running here."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to completion on a private event loop.

    When this thread already runs a loop (a Jupyter kernel, a pytest-asyncio test), where
    asyncio.run() is not allowed, the private loop runs in a helper thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)  # also works in exit hooks, where new threads may not
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def execute_all(dsn: str, statements: list[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def run_admin_sql(dsn: str, statements: list[str]) -> None:
    run_sync(execute_all(dsn, statements))
