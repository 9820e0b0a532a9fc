"""Watchdog of a shared server: ends what its users leave behind, and the server after the last.

Run as `python -I shared_watchdog.py SERVER_DIR BIN_DIR` (standard library only, like
watchdog.py). Every half second, holding the server's lock: the leases of processes that are
gone (kill -9 included) are removed and their databases dropped; once no lease is left, the
server is stopped and its folder removed. It ends when another watchdog has taken its place or
the folder is gone.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import leases  # type: ignore[import-not-found]

POLL_SECONDS = 0.5


def main(argv: list[str]) -> int:
    server_dir, bin_dir = Path(argv[0]), Path(argv[1])
    # A Ctrl-C in the starting kernel's terminal must not end the watchdog of everyone's server.
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        time.sleep(POLL_SECONDS)
        if not server_dir.exists():
            return 0
        with leases.locked(server_dir):
            if not watch_once(server_dir, bin_dir):
                return 0


def watch_once(server_dir: Path, bin_dir: Path) -> bool:
    """One look, with the lock held; False when there is nothing left to watch."""
    if not server_dir.exists():
        leases.remove_lock(server_dir)  # stopped by its last user while we slept
        return False
    if leases.watchdog_pid(server_dir) != os.getpid():
        return False  # another watchdog took over
    if not leases.postmaster_serves(server_dir):
        leases.stop_shared(server_dir)
        return False
    removed = leases.remove_dead_leases(server_dir)
    if not leases.has_live_leases(server_dir):
        leases.stop_shared(server_dir)
        return False
    if removed:
        leases.drop_databases_of_dead_processes(server_dir, bin_dir)
    return True


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
