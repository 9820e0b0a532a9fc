"""disposable_database(): fresh, isolated, resettable databases with guard rails (embedded)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from support.postgres import connection_is_dead, fetchval

from asyncdb_lab import GUARD_RAILS, disposable_database
from asyncdb_lab.databases import current_server
from asyncdb_lab.errors import BackendUnavailable
from asyncdb_lab.servers.embedded.binaries import service_user
from asyncdb_lab.servers.embedded.server import EmbeddedServer


async def database_exists(name: str) -> bool:
    server = current_server()
    found = await fetchval(server.admin_dsn, "SELECT 1 FROM pg_database WHERE datname = $1", name)
    return found == 1


@pytest.mark.asyncio
async def test_seed_true_gives_the_course_tables_with_the_seed_rows():
    async with disposable_database(seed=True, label="seeded") as db:
        assert db.url.startswith("postgresql+asyncpg://")
        async with db.engine.connect() as conn:
            users = (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one()
            posts = (await conn.execute(text("SELECT count(*) FROM posts"))).scalar_one()
        assert (users, posts) == (1000, 5000)


@pytest.mark.asyncio
async def test_tables_true_gives_the_tables_without_rows_and_default_gives_nothing():
    async with disposable_database(tables=True, label="tables") as tables_db:
        assert await fetchval(tables_db.dsn, "SELECT count(*) FROM users") == 0
        assert await fetchval(tables_db.dsn, "SELECT count(*) FROM products") == 0
    async with disposable_database(label="empty") as empty_db:
        count = await fetchval(
            empty_db.dsn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        assert count == 0


@pytest.mark.asyncio
async def test_two_databases_at_once_do_not_see_each_others_rows():
    async with (
        disposable_database(seed=True, label="left") as left,
        disposable_database(seed=True, label="right") as right,
    ):
        assert left.name != right.name
        conn = await asyncpg.connect(left.dsn)
        await conn.execute("INSERT INTO users (email, name) VALUES ('only@left.test', 'Left')")
        await conn.execute("DELETE FROM order_items")
        await conn.close()
        assert await fetchval(left.dsn, "SELECT count(*) FROM users") == 1001
        assert await fetchval(right.dsn, "SELECT count(*) FROM users") == 1000
        assert await fetchval(right.dsn, "SELECT count(*) FROM order_items") > 0


@pytest.mark.asyncio
async def test_reset_gives_the_same_database_back_clean():
    async with disposable_database(seed=True, label="reset") as db:
        name, url = db.name, db.url
        async with db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM order_items"))
        await db.reset()
        assert (db.name, db.url) == (name, url)
        assert await fetchval(db.dsn, "SELECT count(*) FROM order_items") > 5000


@pytest.mark.asyncio
async def test_asking_again_with_the_same_label_replaces_the_previous_database():
    first = await disposable_database(seed=True, label="rerun")
    conn = await asyncpg.connect(first.dsn)  # a session the learner left open
    second = await disposable_database(seed=True, label="rerun")
    try:
        assert first.name != second.name
        assert not await database_exists(first.name)
        assert conn.is_closed() or await connection_is_dead(conn)
        assert await fetchval(second.dsn, "SELECT count(*) FROM users") == 1000
    finally:
        await second.drop()
    assert not await database_exists(second.name)


@pytest.mark.asyncio
async def test_every_database_gets_the_guard_rails_as_its_defaults():
    async with disposable_database(label="rails") as db:
        conn = await asyncpg.connect(db.dsn)
        try:
            for setting, value in GUARD_RAILS.items():
                assert await conn.fetchval(f"SHOW {setting}") == value
            assert await conn.fetchval("SHOW timezone") == "UTC"
            acl = await conn.fetchval(
                "SELECT datacl::text FROM pg_database WHERE datname = $1", db.name
            )
        finally:
            await conn.close()
    # PUBLIC (an entry with nothing before the '=') may not connect: other roles stay out.
    assert acl is not None
    assert not any(
        entry.startswith("=") and "c" in entry.split("/")[0] for entry in acl.strip("{}").split(",")
    )


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_runaway_query_ends_with_a_statement_timeout():
    async with disposable_database(label="runaway") as db:
        conn = await asyncpg.connect(db.dsn)
        try:
            # The database's own setting, which every session starts with.
            assert await conn.fetchval("SHOW statement_timeout") == "15s"
            with pytest.raises(asyncpg.QueryCanceledError, match="statement timeout"):
                await conn.fetchval("SELECT pg_sleep(600)")
        finally:
            await conn.close()
        assert GUARD_RAILS["statement_timeout"] == "15s"


@pytest.mark.asyncio
async def test_a_query_whose_client_was_killed_stops_on_the_server(subprocess_env):
    """A killed kernel leaves its query running unless client_connection_check_interval is set."""
    async with disposable_database(label="orphan_query") as db:
        sleeper = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import asyncio, asyncpg, sys\n"
                "async def main():\n"
                "    conn = await asyncpg.connect(sys.argv[1])\n"
                "    await conn.fetchval('SELECT pg_sleep(600)')\n"
                "asyncio.run(main())\n",
                db.dsn,
            ],
            env=subprocess_env,
        )
        watcher = await asyncpg.connect(db.dsn)
        try:
            active = (
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(600)%'"
            )
            for _ in range(200):
                if await watcher.fetchval(active) == 1:
                    break
                await asyncio.sleep(0.05)
            assert await watcher.fetchval(active) == 1, "the sleeping query never started"
            sleeper.kill()
            sleeper.wait()
            for _ in range(100):
                if await watcher.fetchval(active) == 0:
                    break
                await asyncio.sleep(0.1)
            assert await watcher.fetchval(active) == 0, "the query outlived its killed client"
        finally:
            await watcher.close()


def test_a_private_runtime_folder_gives_root_a_clear_error(monkeypatch):
    if service_user() is None:
        pytest.skip("only root runs PostgreSQL as a separate service user")
    private = Path(tempfile.mkdtemp(prefix="adl-", dir="/tmp"))  # mode 0700
    monkeypatch.setenv("ASYNCDB_LAB_RUNTIME_DIR", str(private))
    try:
        with pytest.raises(BackendUnavailable, match=f"chmod o\\+x {private}"):
            EmbeddedServer.start()
        assert list(private.iterdir()) == [], "a start that failed left a folder behind"
    finally:
        shutil.rmtree(private)
