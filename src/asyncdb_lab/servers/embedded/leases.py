"""Leases on a shared server, the lock around them, and the end of a shared embedded server.

Standard library only: the shared watchdog (shared_watchdog.py) imports it by path. The lock
and the leases serve the shared docker container too (servers/shared_container.py).

Layout in the per-user base folder:
    shared-<key>.lock             flock'd while a server is started, attached to, left or stopped
    srv-shared-<key>/leases/      one empty file per process using the server: <pid>_<start>
    srv-shared-<key>/owner.json   the watchdog is its owner (run_folders.OwnerRecord)
A lease whose process is gone (kill -9) is removed, and its databases dropped, by the watchdog;
the last lease to go stops the server and removes its folder and the lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

# The watchdog imports this file as a top-level module, beside reaper.py.
if __package__:
    from asyncdb_lab.servers.embedded import reaper
else:
    import reaper  # type: ignore[import-not-found,no-redef]

SHARED_PREFIX = "srv-shared-"
LEASES = "leases"
SUPERUSER = "postgres"
_PSQL_TIMEOUT_SECONDS = 30


def lock_path(server_dir: Path) -> Path:
    return server_dir.with_name(server_dir.name.removeprefix("srv-") + ".lock")


@contextlib.contextmanager
def locked(server_dir: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the shared server's lock (made if missing; the last one out deletes it).

    wait=False: yield False at once, holding nothing, when another process holds it.
    """
    path = lock_path(server_dir)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            path.parent.mkdir(mode=0o711, exist_ok=True)
            os.chmod(path.parent, 0o711)  # the service user must traverse it (see run_folders)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            yield False
            return
        if _still_linked(fd, path):
            break
        os.close(fd)  # the holder before us deleted the file: lock its successor instead
    try:
        yield True
    finally:
        os.close(fd)


def _still_linked(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


# -- leases ---------------------------------------------------------------------------------


def start_ticks(pid: int) -> int:
    """When `pid` started, in hundredths of a second since boot (as the url backend names it)."""
    return int(reaper.process_start_time(pid) * 100)


def lease_name(pid: int) -> str:
    return f"{pid}_{start_ticks(pid)}"


def holder_is_alive(pid: int, ticks: int) -> bool:
    return reaper.is_alive(pid) and start_ticks(pid) == ticks


def add_lease(server_dir: Path, pid: int) -> None:
    (server_dir / LEASES / lease_name(pid)).touch()


def remove_lease(server_dir: Path, pid: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        (server_dir / LEASES / lease_name(pid)).unlink()


def _lease_holders(server_dir: Path) -> dict[Path, tuple[int, int]]:
    holders = {}
    with contextlib.suppress(OSError):
        for lease in (server_dir / LEASES).iterdir():
            pid, _, ticks = lease.name.partition("_")
            if pid.isdigit() and ticks.isdigit():
                holders[lease] = (int(pid), int(ticks))
    return holders


def has_live_leases(server_dir: Path) -> bool:
    return any(holder_is_alive(*holder) for holder in _lease_holders(server_dir).values())


def remove_dead_leases(server_dir: Path) -> int:
    """Remove the leases of processes that are gone; return how many."""
    removed = 0
    for lease, holder in _lease_holders(server_dir).items():
        if not holder_is_alive(*holder):
            with contextlib.suppress(FileNotFoundError):
                lease.unlink()
            removed += 1
    return removed


# -- the server -----------------------------------------------------------------------------


def watchdog_pid(server_dir: Path) -> int | None:
    try:
        pid = json.loads((server_dir / "owner.json").read_text()).get("watchdog_pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


def postmaster_serves(server_dir: Path) -> bool:
    data_dir = server_dir / "data"
    pid = reaper.postmaster_pid(data_dir)
    return pid is not None and reaper.is_alive(pid) and str(data_dir) in reaper.process_cmdline(pid)


def stop_shared(server_dir: Path) -> None:
    """Stop the server, remove its folder and its lock file (call with the lock held)."""
    data_dir = server_dir / "data"
    reaper.stop_postmaster(reaper.postmaster_pid(data_dir), data_dir)
    remove_shared_folder(server_dir)


def remove_shared_folder(server_dir: Path) -> None:
    """Remove a shared server's folder and its lock file (call with the lock held)."""
    reaper.remove_server_dir(server_dir)
    remove_lock(server_dir)


def remove_lock(server_dir: Path) -> None:
    """Delete the lock file of a server that is gone (call with the lock held), and the base
    folder with it when it is empty: waiters notice and lock a new file (see locked())."""
    with contextlib.suppress(FileNotFoundError):
        lock_path(server_dir).unlink()
    with contextlib.suppress(OSError):
        server_dir.parent.rmdir()  # refused while another server's folder is still there


def drop_databases_of_dead_processes(server_dir: Path, bin_dir: Path) -> None:
    """Drop every scratch database whose process is gone (named as servers/url.py names them:
    adl_<host>_<pid>_<start, base 36>_…), through psql: the watchdog imports no driver."""
    listed = _psql(server_dir, bin_dir, ["SELECT datname FROM pg_database WHERE datname ~ '^adl_'"])
    gone = [name for name in listed.splitlines() if reaper.scratch_owner_is_gone(name)]
    if gone:
        drops = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in gone]
        _psql(server_dir, bin_dir, drops)


def _psql(server_dir: Path, bin_dir: Path, statements: list[str]) -> str:
    connect = ["-h", str(server_dir / "sock"), "-U", SUPERUSER, "-d", "postgres"]
    commands = [arg for statement in statements for arg in ("-c", statement)]
    result = subprocess.run(
        [str(bin_dir / "psql"), "-X", "-q", "-A", "-t", *connect, *commands],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "LC_ALL": "C", "PGCONNECT_TIMEOUT": "10"},
        capture_output=True,
        text=True,
        timeout=_PSQL_TIMEOUT_SECONDS,
        check=False,
    )
    return result.stdout
