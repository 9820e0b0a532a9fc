"""Watchdog: removes a server when the process that started it dies, even by kill -9.

Run as `python -I watchdog.py FD SERVER_DIR POSTMASTER_PID`. It blocks reading the pipe
FD whose write end only the owner holds; end-of-file means the owner is gone. If the owner
already cleaned up (normal exit), the folder is gone and there is nothing to do.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reaper import remove_server_dir, stop_postmaster  # type: ignore[import-not-found]


def main(argv: list[str]) -> int:
    fd, server_dir, postmaster_pid = int(argv[0]), Path(argv[1]), int(argv[2])
    # A Ctrl-C in the owner's terminal must not kill the watchdog before it has cleaned up.
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass
    if server_dir.exists():
        stop_postmaster(postmaster_pid, server_dir / "data")
        remove_server_dir(server_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
