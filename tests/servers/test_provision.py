"""`asyncdb-lab provision`: a class's shared server, one role per learner, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import asyncpg
import pytest
from support.processes import Child
from support.system_postgres import SystemServer

from asyncdb_lab.cli import main
from asyncdb_lab.servers.embedded.server import EmbeddedServer, new_password
from asyncdb_lab.servers.shared_class import (
    LEARNER_ROLE_PREFIX,
    ServerTooOld,
    SharedClass,
    learner_role_name,
)

ODD_NAMES = [
    "alice",
    "Alice",
    'o\'brien "the"; DROP ROLE postgres; --',
    "zoë@example.org",
    "学生-七",
    "!!!",
    "x" * 300,
]


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    server = EmbeddedServer.start(tcp=True, password=new_password())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shared_class(server: EmbeddedServer) -> SharedClass:
    shared_class = SharedClass(server.admin_dsn, connection_limit=5)
    shared_class.setup()
    return shared_class


def _run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


async def _fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


def _roles(server: EmbeddedServer) -> set[str]:
    rows = _run(
        _fetch(server.admin_dsn, "SELECT rolname FROM pg_roles WHERE starts_with(rolname, 'adl_')")
    )
    return {row[0] for row in rows}


def _databases_of(server: EmbeddedServer, role: str) -> list[str]:
    query = "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = $1"
    return [row[0] for row in _run(_fetch(server.admin_dsn, query, role))]


def _database_url(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + f"/{database}"


def test_role_names_are_safe_identifiers_and_distinct_for_any_user_name():
    names = [learner_role_name(user) for user in ODD_NAMES]
    for name in names:
        assert re.fullmatch(r"[a-z0-9_]+", name), name
        assert name.startswith(LEARNER_ROLE_PREFIX)
        assert len(name.encode()) <= 63
    assert len(set(names)) == len(ODD_NAMES)
    assert learner_role_name("alice") == learner_role_name("alice")


def test_a_learner_with_an_odd_name_gets_a_working_url(
    server: EmbeddedServer, shared_class: SharedClass, subprocess_env: dict[str, str]
):
    user = ODD_NAMES[2]
    learner = shared_class.learner(user)
    try:
        assert learner.role == learner_role_name(user)
        [row] = _run(
            _fetch(
                learner.url,
                "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user",
            )
        )
        assert tuple(row) == (learner.role, False)
        # The url backend in a learner's kernel: a seeded clone of the shared templates.
        child = Child({**subprocess_env, "ASYNCDB_LAB_DATABASE_URL": learner.url}, "exit")
        assert child.report["backend"] == "url"
        assert child.wait() == 0
        assert _databases_of(server, learner.role) == []  # it dropped its database at exit
    finally:
        shared_class.drop(user)
    assert learner.role not in _roles(server)


def test_learners_cannot_reach_each_others_databases_or_queries(
    server: EmbeddedServer, shared_class: SharedClass
):
    alice, bob = shared_class.learner("alice"), shared_class.learner("bob")
    try:
        _run(_fetch(alice.url, 'CREATE DATABASE "alices"'))
        alices = _database_url(alice.url, "alices")
        bob_at_alices = _database_url(bob.url, "alices")
        _run(_fetch(alices, "SELECT 1"))
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="only the role that made"):
            _run(_fetch(bob_at_alices, "SELECT 1"))
        _run(_watch_activity(alice.url, bob.url))
    finally:
        shared_class.drop("alice")
        shared_class.drop("bob")
    assert _databases_of(server, alice.role) == []
    assert {alice.role, bob.role}.isdisjoint(_roles(server))


async def _watch_activity(alices_url: str, bobs_url: str) -> None:
    """Bob sees that alice has a session, never what it runs."""
    sleeper = await asyncpg.connect(alices_url)
    try:
        task = asyncio.ensure_future(sleeper.execute("SELECT pg_sleep(30) /* alice's secret */"))
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not seen:
            seen = [
                row[0]
                for row in await _fetch(
                    bobs_url,
                    "SELECT query FROM pg_stat_activity WHERE usename = $1",
                    learner_role_name("alice"),
                )
            ]
            await asyncio.sleep(0.05)
        assert seen, "alice's session never showed up"
        assert all("secret" not in (query or "") for query in seen), seen
        task.cancel()
    finally:
        sleeper.terminate()


def test_provisioning_again_replaces_the_role_and_ends_its_old_sessions(
    server: EmbeddedServer, shared_class: SharedClass
):
    first = shared_class.learner("carol")
    try:
        _run(_fetch(first.url, 'CREATE DATABASE "carols"'))
        second = shared_class.learner("carol")
        assert second.password != first.password
        assert _databases_of(server, second.role) == []
        with pytest.raises(asyncpg.InvalidPasswordError):
            _run(_fetch(first.url, "SELECT 1"))
        _run(_fetch(second.url, "SELECT 1"))
    finally:
        shared_class.drop("carol")


def test_drop_ends_sessions_and_removes_everything_and_twice_is_harmless(
    server: EmbeddedServer, shared_class: SharedClass
):
    dave = shared_class.learner("dave")
    _run(_fetch(dave.url, 'CREATE DATABASE "daves"'))
    dropped = _run(_drop_during_a_session(shared_class, _database_url(dave.url, "daves")))
    assert dropped == {"backends": 1, "databases": 1}
    assert dave.role not in _roles(server)
    assert shared_class.drop("dave") == {"backends": 0, "databases": 0}


async def _drop_during_a_session(shared_class: SharedClass, url: str) -> dict[str, int]:
    session = await asyncpg.connect(url)
    try:
        dropped = await asyncio.to_thread(shared_class.drop, "dave")
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
            await session.fetchval("SELECT 1")
    finally:
        session.terminate()
    return dropped


def test_sweep_keeps_running_learners_and_roles_made_after_the_listing(
    server: EmbeddedServer, shared_class: SharedClass
):
    for user in ("erin", "frank"):
        shared_class.learner(user)
    listed_at = time.time()
    late = shared_class.learner("grace")  # a server started while the sweep ran
    try:
        assert shared_class.sweep({"erin"}, listed_at=listed_at) == ["frank"]
        roles = _roles(server)
        assert learner_role_name("erin") in roles and late.role in roles
        assert learner_role_name("frank") not in roles
    finally:
        for user in ("erin", "grace"):
            shared_class.drop(user)


def test_setup_again_changes_nothing_and_grading_roles_are_not_swept(
    server: EmbeddedServer, shared_class: SharedClass
):
    assert shared_class.setup() == []
    _run(_fetch(server.admin_dsn, 'CREATE ROLE "adl_grade_1_abc" LOGIN'))
    try:
        assert shared_class.sweep(set()) == []
        assert "adl_grade_1_abc" in _roles(server)
    finally:
        _run(_fetch(server.admin_dsn, 'DROP ROLE "adl_grade_1_abc"'))


def test_the_command_prints_the_url_and_drops(
    server: EmbeddedServer, shared_class: SharedClass, capsys: pytest.CaptureFixture[str]
):
    admin = ["provision", "--admin-url", server.admin_dsn]
    assert main([*admin, "learner", "heidi", "--learner-host", "db.example"]) == 0
    url = capsys.readouterr().out.strip()
    assert re.fullmatch(
        rf"postgresql://{learner_role_name('heidi')}:[^@]+@db\.example:\d+/postgres", url
    )
    assert main([*admin, "drop", "heidi"]) == 0
    assert "0 database(s)" in capsys.readouterr().out
    assert learner_role_name("heidi") not in _roles(server)


def test_a_server_older_than_17_is_refused_in_one_line(
    system_postgres: SystemServer, capsys: pytest.CaptureFixture[str]
):
    if system_postgres.major >= 17:
        pytest.skip(f"the system PostgreSQL is {system_postgres.major}, not older than 17")
    with pytest.raises(ServerTooOld):
        SharedClass(system_postgres.admin_dsn).setup()
    assert main(["provision", "--admin-url", system_postgres.admin_dsn, "setup"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "17" in error and "use a PostgreSQL 17" in error


def test_no_admin_url_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.delenv("ASYNCDB_LAB_ADMIN_URL", raising=False)
    assert main(["provision", "drop", "alice"]) == 2
    assert "--admin-url" in capsys.readouterr().err
