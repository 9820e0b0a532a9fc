"""The url backend against an existing server (here: a second embedded server, TCP + password).

It creates its own scratch databases, drops them when the process ends (or at the next start
after a kill -9), and never touches any other database.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

import asyncpg
import pytest
from support.postgres import connected, fetchval
from support.processes import Child

from asyncdb_lab.servers.embedded.server import EmbeddedServer, new_password


@pytest.fixture(scope="module")
def existing_server() -> Iterator[EmbeddedServer]:
    server = EmbeddedServer.start(tcp=True, password=new_password())
    try:
        asyncio.run(_make_precious_database(server))
        yield server
    finally:
        server.stop()


async def _make_precious_database(server: EmbeddedServer) -> None:
    admin = await asyncpg.connect(server.admin_dsn)
    await admin.execute("CREATE DATABASE precious")
    await admin.close()
    conn = await asyncpg.connect(server.dsn("precious"))
    await conn.execute("CREATE TABLE keep (note text); INSERT INTO keep VALUES ('do not touch')")
    await conn.close()


def databases(server: EmbeddedServer) -> set[str]:
    async def fetch() -> set[str]:
        async with connected(server.admin_dsn) as conn:
            rows = await conn.fetch("SELECT datname FROM pg_database")
        return {row[0] for row in rows}

    return asyncio.run(fetch())


@pytest.fixture
def url_env(subprocess_env: dict[str, str], existing_server: EmbeddedServer) -> dict[str, str]:
    subprocess_env["ASYNCDB_LAB_DATABASE_URL"] = existing_server.admin_dsn
    return subprocess_env


def test_the_server_requires_its_password(existing_server: EmbeddedServer):
    async def login_without_password() -> None:
        await asyncpg.connect(existing_server.dsn("postgres", password="wrong"))

    with pytest.raises(asyncpg.InvalidPasswordError):
        asyncio.run(login_without_password())


def test_a_seeded_scratch_database_is_made_and_everything_is_dropped_at_exit(
    url_env: dict[str, str], existing_server: EmbeddedServer
):
    before = databases(existing_server)
    child = Child(url_env, "wait")
    report = child.report
    assert report["backend"] == "url"
    during = databases(existing_server)
    ours = during - before
    assert report["database"] in ours
    assert all(name.startswith("adl_") for name in ours)
    assert len(ours) == 3  # the scratch database and this process's two templates
    assert asyncio.run(_count_users(report["dsn"])) == 1000

    child.process.send_signal(signal.SIGINT)  # Ctrl-C: Python exits, running its exit hooks
    child.wait()
    assert databases(existing_server) == before
    assert asyncio.run(_precious_note(existing_server)) == "do not touch"


@pytest.mark.parametrize("kill", ["SIGKILL", "SIGTERM"])
def test_databases_of_a_killed_process_are_dropped_by_the_next_start(
    url_env: dict[str, str], existing_server: EmbeddedServer, kill: str
):
    before = databases(existing_server)
    child = Child(url_env, "wait")
    child.process.send_signal(getattr(signal, kill))
    child.wait()
    leftovers = databases(existing_server) - before
    assert len(leftovers) == 3  # a killed Python runs no exit hooks

    assert Child(url_env, "exit").wait() == 0
    assert databases(existing_server) == before
    assert asyncio.run(_precious_note(existing_server)) == "do not touch"


def test_shared_templates_prepared_by_an_instructor_are_used_and_left_alone(
    url_env: dict[str, str], existing_server: EmbeddedServer
):
    from asyncdb_lab.seed import seed_fingerprint
    from asyncdb_lab.servers.sync_admin import run_sync
    from asyncdb_lab.servers.templates import create_templates
    from asyncdb_lab.servers.url import shared_template_names

    names = shared_template_names(seed_fingerprint())
    run_sync(
        create_templates(
            {
                "admin": existing_server.admin_dsn,
                names.tables: existing_server.dsn(names.tables),
                names.seed: existing_server.dsn(names.seed),
            },
            names,
        )
    )
    before = databases(existing_server)
    child = Child(url_env, "wait")
    assert len(databases(existing_server) - before) == 1  # only the scratch database
    assert asyncio.run(_count_users(child.report["dsn"])) == 1000
    child.process.send_signal(signal.SIGINT)
    child.wait()
    assert databases(existing_server) == before  # the shared templates stay


async def _count_users(dsn: str) -> int:
    return await fetchval(dsn, "SELECT count(*) FROM users")


async def _precious_note(server: EmbeddedServer) -> str:
    return await fetchval(server.dsn("precious"), "SELECT note FROM keep")
