"""The grading run's PostgreSQL: a role per submission, and what is left of it afterwards."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import asyncpg
import pytest
from support.postgres import (
    autovacuum_worker_in,
    connected,
    execute,
    fetchval,
    keep_autovacuum_busy,
)

from asyncdb_lab.grading.database import GradingServer
from asyncdb_lab.servers.admin import create_database, drop_database
from asyncdb_lab.servers.sync_admin import run_admin_sql
from asyncdb_lab.settings import DATABASE_DEFAULTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[GradingServer]:
    server = GradingServer.start(connection_limit=10)
    yield server
    server.stop()


async def _make_database(url: str, name: str) -> str:
    await execute(url, f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


async def _sleep_without_guard_rails(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET statement_timeout = 0")
        await conn.execute("SET client_connection_check_interval = 0")
        await conn.execute("SELECT pg_sleep(600)")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError):
        pass


def test_a_query_that_ignores_every_limit_is_stopped_and_everything_dropped(
    server: GradingServer,
):
    role = server.new_role()
    database = asyncio.run(_make_database(role.url, "learner_scratch"))
    sleeper = threading.Thread(target=asyncio.run, args=(_sleep_without_guard_rails(database),))
    sleeper.start()
    deadline = time.monotonic() + 10
    while "SELECT pg_sleep(600)" not in server.activity(role) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "SELECT pg_sleep(600)" in server.activity(role)

    started = time.monotonic()
    assert server.drop_role(role) == {"backends": 1, "databases": 1}
    sleeper.join(timeout=10)
    assert not sleeper.is_alive()
    assert time.monotonic() - started < 5
    assert server.activity(role) == []
    assert asyncio.run(_exists(server, role.name, "learner_scratch")) == (False, False)


def test_a_role_cannot_reach_another_roles_database_even_one_made_by_hand(
    server: GradingServer,
):
    alice, bob = server.new_role(), server.new_role()
    try:
        # A bare CREATE DATABASE leaves CONNECT granted to PUBLIC: the login guard still holds.
        alices = asyncio.run(_make_database(alice.url, "alice_scratch"))
        asyncio.run(_connect(alices))
        asyncio.run(_cannot(alices, "DROP EVENT TRIGGER asyncdb_lab_only_its_owner"))
        asyncio.run(_cannot(alices, "DROP SCHEMA asyncdb_lab_guard CASCADE"))
        bobs_view = alices.replace(f"{alice.name}:{alice.password}", f"{bob.name}:{bob.password}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="only the role that made"):
            asyncio.run(_connect(bobs_view))
        for template in ("template0", "template1"):
            with pytest.raises(asyncpg.PostgresError):
                asyncio.run(_connect(bob.url.rsplit("/", 1)[0] + f"/{template}"))
        assert asyncio.run(_is_superuser(bob.url)) is False
    finally:
        server.drop_role(alice)
        server.drop_role(bob)


def test_a_role_drops_its_database_while_autovacuum_works_in_it(server: GradingServer):
    """FORCE by the role fails there ("permission denied to terminate process"); not the drop."""
    admin_dsn = server.server.admin_dsn
    run_admin_sql(admin_dsn, ["ALTER SYSTEM SET autovacuum_naptime = 1", "SELECT pg_reload_conf()"])
    role = server.new_role()
    try:
        asyncio.run(_drop_while_autovacuum_works(role.url, admin_dsn))
    finally:
        server.drop_role(role)
        run_admin_sql(
            admin_dsn, ["ALTER SYSTEM RESET autovacuum_naptime", "SELECT pg_reload_conf()"]
        )


async def _drop_while_autovacuum_works(url: str, admin_dsn: str) -> None:
    name = "learner_busy"
    async with connected(url) as conn:
        await create_database(conn, name, "template0", DATABASE_DEFAULTS)
        await keep_autovacuum_busy(url.rsplit("/", 1)[0] + f"/{name}")
        await autovacuum_worker_in(admin_dsn, name)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="terminate process"):
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await drop_database(conn, name)
        assert await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name) == 0


async def _connect(url: str) -> None:
    conn = await asyncpg.connect(url)
    await conn.close()


async def _cannot(url: str, statement: str) -> None:
    async with connected(url) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)


async def _is_superuser(url: str) -> bool:
    return await fetchval(url, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")


async def _exists(server: GradingServer, role: str, database: str) -> tuple[bool, bool]:
    async with connected(server.server.admin_dsn) as conn:
        has_role = await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", role)
        has_db = await conn.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = $1", database
        )
    return bool(has_role), bool(has_db)
