"""The url backend against existing servers: a second embedded server (the newest major, TCP +
password, a superuser) and Debian's own PostgreSQL (an older major, fsync on) as a login role
that may create databases and nothing more, as a learner on a class's shared server would be.

It creates its own scratch databases, drops them when the process ends (Ctrl-C, SIGTERM, a
Jupyter kernel's shutdown) or at the next start after a kill -9, and never touches any other
database.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import pytest
from jupyter_client.manager import KernelManager
from support.postgres import connected, execute, fetchval
from support.processes import Child
from support.system_postgres import SystemServer

from asyncdb_lab.servers.embedded.server import EmbeddedServer, new_password


@dataclass(frozen=True)
class ExistingServer:
    """A server the url backend is pointed at: `url` for the backend, `admin_dsn` to look."""

    url: str
    admin_dsn: str

    def admin(self, database: str) -> str:
        return self.admin_dsn.rsplit("/", 1)[0] + f"/{database}"


@pytest.fixture(scope="module")
def embedded_superuser() -> Iterator[ExistingServer]:
    server = EmbeddedServer.start(tcp=True, password=new_password())
    try:
        yield ExistingServer(url=server.admin_dsn, admin_dsn=server.admin_dsn)
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["embedded superuser", "Debian PostgreSQL, CREATEDB only"])
def existing_server(request: pytest.FixtureRequest) -> Iterator[ExistingServer]:
    if request.param == "embedded superuser":
        server: ExistingServer = request.getfixturevalue("embedded_superuser")
    else:
        system: SystemServer = request.getfixturevalue("system_postgres")
        server = ExistingServer(url=system.learner_dsn, admin_dsn=system.admin_dsn)
    asyncio.run(_make_precious_database(server))
    try:
        yield server
    finally:
        asyncio.run(execute(server.admin_dsn, "DROP DATABASE precious"))


async def _make_precious_database(server: ExistingServer) -> None:
    await execute(server.admin_dsn, "CREATE DATABASE precious")
    async with connected(server.admin("precious")) as conn:
        await conn.execute(
            "CREATE TABLE keep (note text); INSERT INTO keep VALUES ('do not touch')"
        )


def databases(server: ExistingServer) -> set[str]:
    async def fetch() -> set[str]:
        async with connected(server.admin_dsn) as conn:
            rows = await conn.fetch("SELECT datname FROM pg_database")
        return {row[0] for row in rows}

    return asyncio.run(fetch())


@pytest.fixture
def url_env(subprocess_env: dict[str, str], existing_server: ExistingServer) -> dict[str, str]:
    subprocess_env["ASYNCDB_LAB_DATABASE_URL"] = existing_server.url
    return subprocess_env


def test_the_server_requires_its_password(existing_server: ExistingServer):
    async def login_without_password() -> None:
        wrong = existing_server.url.replace("@", "x@", 1)
        await asyncpg.connect(wrong)

    with pytest.raises(asyncpg.InvalidPasswordError):
        asyncio.run(login_without_password())


def test_a_seeded_scratch_database_is_made_and_everything_is_dropped_at_exit(
    url_env: dict[str, str], existing_server: ExistingServer
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


def test_sigterm_drops_every_database_and_the_process_still_dies_of_it(
    url_env: dict[str, str], existing_server: ExistingServer
):
    before = databases(existing_server)
    child = Child(url_env, "wait")
    assert len(databases(existing_server) - before) == 3
    child.process.send_signal(signal.SIGTERM)
    assert child.wait() == -signal.SIGTERM
    assert databases(existing_server) == before


def test_databases_of_a_killed_process_are_dropped_by_the_next_start(
    url_env: dict[str, str], existing_server: ExistingServer
):
    before = databases(existing_server)
    child = Child(url_env, "wait")
    child.process.send_signal(signal.SIGKILL)
    child.wait()
    leftovers = databases(existing_server) - before
    assert len(leftovers) == 3  # a killed Python runs no exit hooks

    assert Child(url_env, "exit").wait() == 0
    assert databases(existing_server) == before
    assert asyncio.run(_precious_note(existing_server)) == "do not touch"


def test_shared_templates_prepared_by_an_instructor_are_used_and_left_alone(
    url_env: dict[str, str], existing_server: ExistingServer
):
    from asyncdb_lab.seed import seed_fingerprint
    from asyncdb_lab.servers.sync_admin import run_sync
    from asyncdb_lab.servers.templates import create_templates
    from asyncdb_lab.servers.url import shared_template_names

    names = shared_template_names(seed_fingerprint())
    run_sync(
        create_templates(
            {
                "admin": existing_server.url,
                names.tables: existing_server.url.rsplit("/", 1)[0] + f"/{names.tables}",
                names.seed: existing_server.url.rsplit("/", 1)[0] + f"/{names.seed}",
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
    for name in (names.tables, names.seed):
        run_sync(execute(existing_server.url, f'ALTER DATABASE "{name}" IS_TEMPLATE false'))
        run_sync(execute(existing_server.url, f'DROP DATABASE "{name}"'))


def test_a_jupyter_kernel_asked_to_shut_down_drops_its_databases(
    url_env: dict[str, str], existing_server: ExistingServer
):
    """As JupyterLab (or nbclient) shuts a kernel down: a shutdown request, SIGTERM at 2.5 s if
    it has not exited, SIGKILL at 5 s."""
    before = databases(existing_server)
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=url_env, extra_arguments=["--HistoryManager.hist_file=:memory:"])
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(
            "from asyncdb_lab import disposable_database\n"
            "db = await disposable_database(seed=True)",
            timeout=120,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        assert len(databases(existing_server) - before) == 3
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
    assert databases(existing_server) == before


async def _count_users(dsn: str) -> int:
    return await fetchval(dsn, "SELECT count(*) FROM users")


async def _precious_note(server: ExistingServer) -> str:
    return await fetchval(server.admin("precious"), "SELECT note FROM keep")
