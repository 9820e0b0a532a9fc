"""Watchdog of a shared server: ends what its users leave behind, and the server after the last.

Run as `python -I shared_watchdog.py SERVER_DIR BIN_DIR` for a shared embedded server, or as
`python -I shared_watchdog.py --container FOLDER` for a shared docker container
(servers/shared_container.py); standard library only, like watchdog.py. Every half second,
holding the server's lock: the leases of processes that are gone (kill -9 included) are removed
and their databases dropped; once no lease is left, the server is stopped and its folder
removed. It ends when another watchdog has taken its place or the folder is gone.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))

import leases  # type: ignore[import-not-found]

POLL_SECONDS = 0.5


class WatchedServer(Protocol):
    """What the watchdog needs of a kind of shared server (each call with the lock held)."""

    def serves(self, server_dir: Path) -> bool: ...

    def stop(self, server_dir: Path) -> None:
        """Stop the server and remove its folder and its lock file."""

    def drop_databases_of_dead_processes(self, server_dir: Path) -> None: ...


class SharedPostmaster:
    """A shared embedded server: its postmaster, and psql from the wheel's programs."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir

    def serves(self, server_dir: Path) -> bool:
        return leases.postmaster_serves(server_dir)

    def stop(self, server_dir: Path) -> None:
        leases.stop_shared(server_dir)

    def drop_databases_of_dead_processes(self, server_dir: Path) -> None:
        leases.drop_databases_of_dead_processes(server_dir, self.bin_dir)


def shared_container() -> WatchedServer:
    """servers/shared_container.py, whose functions are what a WatchedServer offers. Its folder
    goes last on the path, so that no module there can hide one of the standard library."""
    sys.path.append(str(Path(__file__).resolve().parents[1]))
    import shared_container  # type: ignore[import-not-found]

    return shared_container


def main(argv: list[str]) -> int:
    if argv[0] == "--container":
        server_dir, server = Path(argv[1]), shared_container()
    else:
        server_dir, server = Path(argv[0]), SharedPostmaster(Path(argv[1]))
    # A Ctrl-C in the starting kernel's terminal must not end the watchdog of everyone's server.
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        time.sleep(POLL_SECONDS)
        if not server_dir.exists():
            return 0
        with leases.locked(server_dir):
            if not watch_once(server_dir, server):
                return 0


def watch_once(server_dir: Path, server: WatchedServer) -> bool:
    """One look, with the lock held; False when there is nothing left to watch."""
    if not server_dir.exists():
        leases.remove_lock(server_dir)  # stopped by its last user while we slept
        return False
    if leases.watchdog_pid(server_dir) != os.getpid():
        return False  # another watchdog took over
    if not server.serves(server_dir):
        server.stop(server_dir)
        return False
    removed = leases.remove_dead_leases(server_dir)
    if not leases.has_live_leases(server_dir):
        server.stop(server_dir)
        return False
    if removed:
        server.drop_databases_of_dead_processes(server_dir)
    return True


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
