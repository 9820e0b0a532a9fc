"""The grading run's PostgreSQL: a role per submission, and what is left of it afterwards."""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from support.postgres import (
    autovacuum_worker_in,
    connected,
    execute,
    fetchval,
    keep_autovacuum_busy,
)

from asyncdb_lab.grading.collect import Candidate
from asyncdb_lab.grading.database import TABLE_OWNER, GradingServer, Role
from asyncdb_lab.grading.disk_watch import DatabaseSizeWatch
from asyncdb_lab.grading.messages import Graded
from asyncdb_lab.grading.options import GradeOptions
from asyncdb_lab.grading.progress import Progress
from asyncdb_lab.grading.results import TestResult
from asyncdb_lab.grading.session import Dispatch, LocalSession, Running
from asyncdb_lab.grading.store import ResultStore
from asyncdb_lab.seed import seed_fingerprint
from asyncdb_lab.servers.admin import create_database, drop_database
from asyncdb_lab.servers.embedded.server import EmbeddedServer, new_password
from asyncdb_lab.servers.sync_admin import run_admin_sql, run_sync
from asyncdb_lab.servers.url import shared_template_names
from asyncdb_lab.settings import DATABASE_DEFAULTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[GradingServer]:
    server = GradingServer.start(roles_at_once=1, connection_limit=10)
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


def test_every_role_running_at_once_may_open_all_its_connections():
    # Notebook 04 opens 20 connections at once: with four submissions at a time, a server that
    # did not admit them all would fail a correct answer.
    roles_at_once = 4
    server = GradingServer.start(roles_at_once=roles_at_once)
    try:
        roles = [server.new_role() for _ in range(roles_at_once)]
        assert server.connection_limit >= 40

        async def open_every_connection() -> int:
            each = server.connection_limit
            connections = await asyncio.gather(
                *(asyncpg.connect(role.url) for role in roles for _ in range(each))
            )
            try:
                return len(connections)
            finally:
                await asyncio.gather(*(conn.close() for conn in connections))

        opened = asyncio.run(open_every_connection())
        assert opened == roles_at_once * server.connection_limit
        for role in roles:
            server.drop_role(role)
    finally:
        server.stop()


def test_a_query_that_ignores_every_limit_is_stopped_and_everything_dropped(
    server: GradingServer,
):
    role = server.new_role()
    database = asyncio.run(_make_database(role.url, "learner_scratch"))
    sleeper = threading.Thread(target=asyncio.run, args=(_sleep_without_guard_rails(database),))
    sleeper.start()
    deadline = time.monotonic() + 60
    while "SELECT pg_sleep(600)" not in server.activity(role) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "SELECT pg_sleep(600)" in server.activity(role)

    assert server.drop_role(role) == {"backends": 1, "databases": 1}
    sleeper.join(timeout=60)  # its statement would have run for 600 s
    assert not sleeper.is_alive()
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


# -- the database: owners, sizes, what survives --------------------------------------------------

SHARED = f'"{TABLE_OWNER}"'


def test_database_runs_postgresql_16_or_later(server: GradingServer):
    """MEMBERSHIP's SET FALSE keeps objects from the shared role only from PostgreSQL 16 on."""
    version = run_sync(fetchval(server.server.admin_dsn, "SHOW server_version_num"))
    assert int(version) >= 160000


def test_database_a_learner_alters_course_tables_but_cannot_hand_anything_to_the_shared_role(
    server: GradingServer,
):
    role = server.new_role()
    try:
        clone = asyncio.run(_clone_seed(role.url, "learner_owned"))
        asyncio.run(
            _execute_all(
                clone,
                [
                    "ALTER TABLE users ADD CONSTRAINT positive CHECK (id > 0)",
                    "ALTER TABLE users DROP CONSTRAINT positive",
                    "CREATE TABLE mine (x int)",
                ],
            )
        )
        for statement in [
            f"ALTER DATABASE learner_owned OWNER TO {SHARED}",
            f"ALTER TABLE mine OWNER TO {SHARED}",
            f"ALTER SCHEMA public OWNER TO {SHARED}",
            f"CREATE SCHEMA theirs AUTHORIZATION {SHARED}",
            f"REASSIGN OWNED BY CURRENT_USER TO {SHARED}",
            f"SET ROLE {SHARED}",
        ]:
            asyncio.run(_cannot(clone, statement))
        asyncio.run(_cannot(role.url, f"CREATE DATABASE handed OWNER {SHARED}"))
    finally:
        assert server.drop_role(role) == {"backends": 0, "databases": 1}
    assert asyncio.run(_owned_by_shared_role(server)) == []


def test_database_a_database_the_shared_role_was_given_goes_with_the_next_clean_up(
    server: GradingServer,
):
    """Before PostgreSQL 16 (or by a bug) a learner could give one away: it must not survive."""
    admin = server.server.admin_dsn
    run_admin_sql(admin, [f"CREATE DATABASE planted OWNER {SHARED}"])
    role = server.new_role()
    assert server.drop_role(role) == {"backends": 0, "databases": 0, "handed_over": 1}
    assert asyncio.run(_owned_by_shared_role(server)) == []
    names = asyncio.run(_database_names(admin))
    assert server.templates <= names


def test_database_a_copy_of_another_roles_database_cannot_be_used(server: GradingServer):
    """Any role may copy a database its owner marked IS_TEMPLATE: the copy stays unusable."""
    planter, reader = server.new_role(), server.new_role()
    try:
        planted = asyncio.run(_make_database(planter.url, "planted_template"))
        asyncio.run(
            _execute_all(
                planted,
                [
                    "CREATE TABLE secret (word text)",
                    "INSERT INTO secret VALUES ('planted')",
                    "ALTER DATABASE planted_template IS_TEMPLATE true",
                ],
            )
        )
        asyncio.run(_execute_all(reader.url, ["CREATE DATABASE copied TEMPLATE planted_template"]))
        copied = reader.url.rsplit("/", 1)[0] + "/copied"
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="copy of another role"):
            asyncio.run(_connect(copied))
        asyncio.run(_connect(planted))  # its maker still may
    finally:
        # The copy holds the planter's table: it goes with the planter, or DROP ROLE would fail.
        assert server.drop_role(planter) == {"backends": 0, "databases": 1, "copies": 1}
        assert server.drop_role(reader) == {"backends": 0, "databases": 0}


def test_database_a_learner_can_store_nothing_in_postgres(server: GradingServer):
    role = server.new_role()
    try:
        for statement in [
            "CREATE TEMP TABLE planted (x int)",
            "CREATE TABLE public.planted (x int)",
            "CREATE SCHEMA planted",
            "SELECT lo_from_bytea(0, 'planted'::bytea)",
            "SELECT lo_create(0)",
            "SELECT lo_creat(-1)",
            "SELECT lo_import('/etc/hostname')",
            "SELECT lo_put(1, 0, 'x'::bytea)",
        ]:
            asyncio.run(_cannot(role.url, statement))
    finally:
        server.drop_role(role)
    assert (
        run_sync(fetchval(server.server.admin_dsn, "SELECT count(*) FROM pg_largeobject_metadata"))
        == 0
    )


def test_database_a_role_over_the_size_limit_is_stopped_while_others_churn(
    server: GradingServer,
):
    limit = 48 * 1024**2
    watch = DatabaseSizeWatch(server.server.admin_dsn, limit)
    filler, churner = server.new_role(), server.new_role()
    watch.watch(filler.name)
    watch.watch(churner.name)
    watch.start()
    stop_churning = threading.Event()
    churn = threading.Thread(
        target=asyncio.run, args=(_create_and_drop(churner.url, stop_churning),)
    )
    try:
        churn.start()
        database = asyncio.run(_make_database(filler.url, "filled"))
        # Whichever error asyncpg raises for a session the server ended mid-statement: a
        # connection error, or (a race inside asyncpg, seen once in CI) InternalClientError.
        with pytest.raises(
            (
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
                ConnectionError,
            )
        ):
            asyncio.run(_fill(database, seconds=120))  # ends sooner only if the watch stops it
        stopped = watch.stopped()
        assert set(stopped) == {filler.name}
        assert limit < stopped[filler.name] < limit + 64 * 1024**2
        with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="not permitted"):
            asyncio.run(_connect(filler.url))
    finally:
        stop_churning.set()  # before its role goes, or a failure here shows as the churner's
        if churn.is_alive():
            churn.join(timeout=120)
        watch.stop()
        server.drop_role(filler)
        server.drop_role(churner)
    assert not churn.is_alive()


def test_database_a_role_may_write_temporary_files_up_to_the_size_limit_only(
    server: GradingServer,
):
    role = server.new_role()
    try:
        setting = run_sync(
            fetchval(
                server.server.admin_dsn,
                "SELECT setconfig FROM pg_db_role_setting WHERE setrole = "
                "(SELECT oid FROM pg_roles WHERE rolname = $1)",
                role.name,
            )
        )
        assert f"temp_file_limit={server.size_limit // 1024}kB" in setting
    finally:
        server.drop_role(role)


def test_database_no_tcp_login_without_a_password_from_the_first_moment():
    port = _free_port()
    attempts: list[str] = []
    starting = threading.Event()
    prober = threading.Thread(target=_probe_without_password, args=(port, starting, attempts))
    prober.start()
    try:
        embedded = EmbeddedServer.start(tcp=True, port=port, password=new_password())
    finally:
        starting.set()
        prober.join(timeout=120)
    try:
        assert "LOGGED IN" not in attempts
        # The prober reached the server before its password was set, not only after.
        assert any("rejects connection" in outcome for outcome in attempts), attempts[-5:]
        socket_without_password = (
            f"postgresql://postgres@/postgres?host={embedded.socket_dir}&port={port}"
        )
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError)):
            asyncio.run(_connect(socket_without_password))
        asyncio.run(_connect(embedded.admin_dsn))
    finally:
        embedded.stop()


def _probe_without_password(port: int, done: threading.Event, attempts: list[str]) -> None:
    async def probe() -> None:
        while not done.is_set():
            try:
                conn = await asyncpg.connect(
                    host="127.0.0.1", port=port, user="postgres", database="postgres", timeout=2
                )
            except (TimeoutError, OSError):
                await asyncio.sleep(0.001)  # not listening yet
                continue
            except Exception as error:
                attempts.append(f"{type(error).__name__}: {error}")
                continue
            attempts.append("LOGGED IN")
            await conn.close()

    asyncio.run(probe())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _clone_seed(url: str, name: str) -> str:
    template = shared_template_names(seed_fingerprint()).seed
    async with connected(url) as conn:
        await create_database(conn, name, template, DATABASE_DEFAULTS)
    return url.rsplit("/", 1)[0] + f"/{name}"


async def _execute_all(url: str, statements: list[str]) -> None:
    async with connected(url) as conn:
        for statement in statements:
            await conn.execute(statement)


async def _owned_by_shared_role(server: GradingServer) -> list[str]:
    async with connected(server.server.admin_dsn) as conn:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = $1", TABLE_OWNER
        )
    return [row[0] for row in rows]


async def _database_names(dsn: str) -> set[str]:
    async with connected(dsn) as conn:
        return {row[0] for row in await conn.fetch("SELECT datname FROM pg_database")}


async def _fill(url: str, seconds: float) -> None:
    """Incompressible rows as fast as one session writes them."""
    async with connected(url) as conn:
        await conn.execute("CREATE TABLE filler (pad bytea)")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await conn.execute(
                "INSERT INTO filler SELECT decode(string_agg(md5(random()::text), ''), 'hex') "
                "FROM generate_series(1, 64 * 1000) AS g GROUP BY g % 1000"
            )


async def _create_and_drop(url: str, done: threading.Event) -> None:
    async with connected(url) as conn:
        while not done.is_set():
            await conn.execute("CREATE DATABASE churning")
            await conn.execute("DROP DATABASE churning")


# -- the runner: a clean-up that fails, a size stop ------------------------------------------------


class _FakeServer:
    """drop_role fails for one role; the size watch stopped another."""

    size_limit = 512 * 1024**2

    def __init__(self, failing: str, oversized: str) -> None:
        self.failing, self.oversized = failing, oversized

    def new_role(self, student: str) -> Role:
        if student == "carol":  # another submission filled the server's lock table
            raise asyncpg.OutOfMemoryError("out of shared memory")
        return Role(student, "secret", "postgresql://nowhere/postgres")

    def drop_role(self, role: Role) -> dict[str, int]:
        if role.name == self.failing:
            raise asyncpg.DependentObjectsStillExistError(
                f'role "{role.name}" cannot be dropped because some objects depend on it'
            )
        return {"backends": 0, "databases": 1}

    def stopped_for_size(self, role: Role) -> int | None:
        return 600 * 1024**2 if role.name == self.oversized else None

    def stopped_roles(self) -> set[str]:
        return {self.oversized}


class _FakeFiles:
    def max_points(self, notebook: str) -> float:
        return 4.0


@dataclasses.dataclass
class _FakeWorker:
    slot: int
    log: Path
    kernels: set[int] = dataclasses.field(default_factory=set)
    job: Any = None
    ready: bool = True


@dataclasses.dataclass
class _FakePool:
    workers: list[_FakeWorker]
    messages: queue.Queue[Any] = dataclasses.field(default_factory=queue.Queue)


def test_database_a_failed_clean_up_or_role_flags_its_submission_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    graded = Graded(
        status="graded",
        tests=(TestResult("test_count_users_seed", "count_users", 2.0, 2.0, "passed"),),
    )
    size_stopped = dataclasses.replace(
        graded, stop="the kernel died (signal 9) in cell 7", stop_kind="kernel-died"
    )

    def start(self: Any, worker: Any, server: Any, candidate: Candidate, *rest: Any) -> None:
        worker.job = Running(
            candidate, server.new_role(candidate.student), "digest", time.monotonic()
        )
        reply = size_stopped if candidate.student == "mallory" else graded
        pool.messages.put((worker, reply))

    monkeypatch.setattr(LocalSession, "_start", start)
    options = GradeOptions(
        submissions=tmp_path,
        out=tmp_path / "out",
        jobs=1,
        time_limit=10,
        memory_limit=2**31,
        config=tmp_path / "nbgrader_config.py",
    )
    (tmp_path / "run").mkdir()
    candidates = [
        Candidate(student, "00_start_here", tmp_path / f"{student}.ipynb", student)
        for student in ("alice", "carol", "bob", "mallory")
    ]
    session = LocalSession(
        options,
        _FakeFiles(),  # type: ignore[arg-type]
        "sqlite://",
        tmp_path / "run",
        ResultStore(tmp_path / "results"),
        {c: "digest" for c in candidates},
    )
    pool = _FakePool([_FakeWorker(0, tmp_path / "worker-0.log")])
    run = Dispatch(
        pool,  # type: ignore[arg-type]
        _FakeServer(failing="alice", oversized="mallory"),  # type: ignore[arg-type]
        deque(candidates),
        {},
        Progress(len(candidates), bar=False),
    )
    session._dispatch(run)

    results = {result.student: result for result in session.results}
    assert set(results) == {"alice", "bob", "carol", "mallory"}
    carol = results["carol"]
    assert (carol.status, carol.reason) == (
        "error",
        "not graded: its database role could not be made: out of shared memory",
    )
    alice = results["alice"]
    assert (alice.status, alice.score, alice.flags) == ("graded", 2.0, ["cleanup-failed"])
    assert alice.reason.startswith("cleaning up its database role failed (the run went on): ")
    assert "cannot be dropped" in alice.reason and "\n" not in alice.reason
    assert alice.cleanup == {}
    bob = results["bob"]
    assert (bob.flags, bob.reason, bob.cleanup) == ([], "", {"backends": 0, "databases": 1})
    mallory = results["mallory"]
    assert mallory.flags == ["database-size"]
    assert mallory.reason == (
        "its databases grew past the 512 MiB limit (600 MiB when seen): stopped in cell 7"
    )
