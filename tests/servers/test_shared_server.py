"""One embedded server per user, shared by their processes, and nothing left when they go.

Every test runs its children in a runtime folder of its own, so that the shared server it sees
is the one its children share, not one of another test run on the machine.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from support.observe import alive, remove_tree
from support.processes import Child, kill9, server_processes, wait_until

from asyncdb_lab.learner.head_start import shared_server_held
from asyncdb_lab.servers.embedded import shared
from asyncdb_lab.servers.embedded.leases import LEASES, lease_name

pytestmark = pytest.mark.slow


@pytest.fixture
def shared_env(subprocess_env: dict[str, str]) -> Iterator[dict[str, str]]:
    # Short, because a Unix socket path must fit in 107 bytes.
    runtime_dir = Path(tempfile.mkdtemp(prefix="adl-", dir="/tmp"))
    runtime_dir.chmod(0o755)
    subprocess_env["ASYNCDB_LAB_RUNTIME_DIR"] = str(runtime_dir)
    subprocess_env["ASYNCDB_LAB_SHARED_SERVER"] = "1"
    yield subprocess_env
    # Private servers of killed children go with their watchdogs, a moment later.
    wait_until(lambda: not list(runtime_dir.glob("asyncdb-lab-*/srv-*")))
    for folder in runtime_dir.glob("asyncdb-lab-*/srv-*"):
        for pid in server_processes(str(folder)):
            kill9(pid)  # only after a failed test: the server of this test's children
    # The last watchdog removes the per-user folder after the server's: it may be at it still.
    remove_tree(runtime_dir)


def admin_dsn(report: dict) -> str:
    return report["dsn"].replace(f"/{report['database']}?", "/postgres?")


def databases(report: dict) -> set[str]:
    async def names() -> set[str]:
        conn = await asyncpg.connect(admin_dsn(report))
        try:
            return {row[0] for row in await conn.fetch("SELECT datname FROM pg_database")}
        finally:
            await conn.close()

    return asyncio.run(names())


def users_in(report: dict) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(report["dsn"])
        try:
            return int(await conn.fetchval("SELECT count(*) FROM users"))
        finally:
            await conn.close()

    return asyncio.run(count())


def base_of(env: dict[str, str]) -> Path:
    return Path(env["ASYNCDB_LAB_RUNTIME_DIR"]) / f"asyncdb-lab-{os.getuid()}"


def test_two_processes_share_one_server_with_databases_of_their_own(shared_env):
    first, second = Child(shared_env, "wait"), Child(shared_env, "wait")
    try:
        assert first.report["postmaster"] == second.report["postmaster"]
        assert first.report["dir"] == second.report["dir"]
        assert first.report["database"] != second.report["database"]
        assert {first.report["database"], second.report["database"]} <= databases(first.report)
        assert users_in(first.report) == users_in(second.report) == 1000
    finally:
        first.kill9()
        second.kill9()


def test_kill_9_of_one_drops_its_databases_and_the_other_keeps_working(shared_env):
    victim, survivor = Child(shared_env, "wait"), Child(shared_env, "wait")
    try:
        victim.kill9()
        assert wait_until(lambda: victim.report["database"] not in databases(survivor.report))
        assert survivor.report["database"] in databases(survivor.report)
        assert users_in(survivor.report) == 1000
        assert alive(survivor.report["postmaster"])
    finally:
        survivor.kill9()


def test_the_last_process_to_exit_takes_the_server_and_its_folder_with_it(shared_env):
    first, last = Child(shared_env, "wait"), Child(shared_env, "exit")
    assert last.wait() == 0
    assert alive(first.report["postmaster"])  # still in use by the first
    running = server_processes(first.report["dir"])
    first.kill9()  # the last one goes too, without a chance to clean up
    assert wait_until(lambda: not any(alive(pid) for pid in running))
    assert wait_until(lambda: not Path(first.report["dir"]).exists())
    assert wait_until(lambda: not alive(first.report["watchdog"]))
    assert not base_of(shared_env).exists()  # nor a lock file


def test_a_normal_exit_of_the_only_user_stops_the_server_at_once(shared_env):
    only = Child(shared_env, "exit")
    assert only.wait() == 0
    assert not alive(only.report["postmaster"])
    assert not Path(only.report["dir"]).exists()
    assert not base_of(shared_env).exists()


def test_three_processes_starting_at_once_make_one_server(shared_env):
    with ThreadPoolExecutor(max_workers=3) as pool:
        children = list(pool.map(lambda _: Child(shared_env, "wait"), range(3)))
    try:
        assert len({child.report["postmaster"] for child in children}) == 1
        assert len({child.report["database"] for child in children}) == 3
        assert [folder.name for folder in base_of(shared_env).glob("srv-*")] == [
            Path(children[0].report["dir"]).name
        ]
    finally:
        for child in children:
            child.kill9()


def test_a_new_process_takes_over_a_server_whose_watchdog_was_killed(shared_env):
    first = Child(shared_env, "wait")
    kill9(first.report["watchdog"])
    second = Child(shared_env, "wait")
    try:
        assert second.report["postmaster"] == first.report["postmaster"]
        assert second.report["watchdog"] != first.report["watchdog"]
        assert alive(second.report["watchdog"])
    finally:
        first.kill9()
        second.kill9()
    assert wait_until(lambda: not Path(first.report["dir"]).exists())


def test_kill_9_of_everything_is_swept_by_the_next_start(shared_env):
    child = Child(shared_env, "wait")
    running = server_processes(child.report["dir"])
    kill9(child.report["watchdog"])
    child.kill9()
    assert alive(child.report["postmaster"])  # nobody is left to clean up

    shared_env["ASYNCDB_LAB_SHARED_SERVER"] = "0"  # a private start sweeps it as well
    assert Child(shared_env, "exit").wait() == 0
    assert wait_until(lambda: not any(alive(pid) for pid in running))
    assert not base_of(shared_env).exists()


def test_opting_out_gives_each_process_a_private_server(shared_env):
    shared_env["ASYNCDB_LAB_SHARED_SERVER"] = "0"
    first, second = Child(shared_env, "wait"), Child(shared_env, "wait")
    try:
        assert first.report["postmaster"] != second.report["postmaster"]
        assert "srv-shared-" not in first.report["dir"]
    finally:
        first.kill9()
        second.kill9()


def test_a_server_started_directly_is_never_shared(shared_env, monkeypatch):
    # The grading pipeline starts its server with EmbeddedServer.start(): always its own.
    from asyncdb_lab.servers.embedded.server import EmbeddedServer

    user = Child(shared_env, "wait")
    monkeypatch.setenv("ASYNCDB_LAB_RUNTIME_DIR", shared_env["ASYNCDB_LAB_RUNTIME_DIR"])
    monkeypatch.setenv("ASYNCDB_LAB_SHARED_SERVER", "1")
    try:
        with EmbeddedServer.start(tcp=True) as private:
            assert private.postmaster_pid != user.report["postmaster"]
            assert "srv-shared-" not in str(private.server_dir)
    finally:
        user.kill9()


def test_a_checks_head_start_holds_the_server_its_kernels_share_until_the_check_ends(
    shared_env, monkeypatch
):
    """`asyncdb-lab check` attaches to the shared server while its kernel starts
    (learner/head_start.py); the kernel (here a child) finds it running, and it outlives that
    kernel until the check ends, then goes like any last user's server."""
    _use_in_this_process(shared_env, monkeypatch)
    with shared_server_held():
        assert wait_until(lambda: any(_leases_of(shared_env, os.getpid())))
        kernel = Child(shared_env, "exit")
        assert kernel.wait() == 0
        assert alive(kernel.report["postmaster"]), "the server stopped under the check"
        assert _leases_of(shared_env, os.getpid())
    assert wait_until(lambda: not alive(kernel.report["postmaster"]))
    assert not Path(kernel.report["dir"]).exists()
    assert not base_of(shared_env).exists()
    # This process started the server's watchdog: it ends with the server, and is reaped here.
    assert wait_until(lambda: all(w.poll() is not None for w in shared._watchdogs))


@pytest.mark.parametrize("setting", [("ASYNCDB_LAB_SHARED_SERVER", "0"),
                                     ("ASYNCDB_LAB_BACKEND", "url")])  # fmt: skip
def test_no_head_start_when_the_kernel_would_not_share_it(shared_env, monkeypatch, setting):
    _use_in_this_process(shared_env, monkeypatch)
    monkeypatch.setenv(*setting)
    with shared_server_held():
        pass
    assert not base_of(shared_env).exists()


def _use_in_this_process(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's course settings as the children's, so that it shares their server."""
    for name in [n for n in os.environ if n.startswith("ASYNCDB_LAB_")]:
        monkeypatch.delenv(name)
    for name in ("ASYNCDB_LAB_RUNTIME_DIR", "ASYNCDB_LAB_SHARED_SERVER", "ASYNCDB_LAB_QUIET"):
        monkeypatch.setenv(name, env[name])


def _leases_of(env: dict[str, str], pid: int) -> list[Path]:
    return list(base_of(env).glob(f"srv-shared-*/{LEASES}/{lease_name(pid)}"))
