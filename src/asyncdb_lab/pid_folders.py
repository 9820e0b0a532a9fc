"""Temporary folders named after the process that made them (`<prefix><pid>-<random>`), so that
whoever starts next removes those of a process that was killed (kill -9) before it could."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from asyncdb_lab.servers.embedded.reaper import is_alive

# A Unix socket's path has at most 107 bytes (103 on macOS); ZMQ's names add "-" and a number.
_SOCKET_PATH_BYTES = 100


def name_prefix(prefix: str) -> str:
    """The start of this process's folder names, for tempfile.mkdtemp(prefix=...)."""
    return f"{prefix}{os.getpid()}-"


def socket_folder(prefix: str) -> Path:
    """A new folder of this process for a kernel's Unix sockets (`kernel-<number>`): in the
    temporary folder, or in /tmp when the temporary folder's path is too long for a socket's."""
    start = name_prefix(prefix)
    for parent in socket_folder_parents():
        if len(os.path.join(parent, f"{start}XXXXXXXX", "kernel-00000")) <= _SOCKET_PATH_BYTES:
            return Path(tempfile.mkdtemp(prefix=start, dir=parent))
    raise RuntimeError(
        f"the temporary folder's path is too long for a kernel's sockets, and /tmp is not "
        f"usable either: set TMPDIR to a short path ({tempfile.gettempdir()})"
    )


def socket_folder_parents() -> list[Path]:
    """Where socket_folder makes its folders."""
    return list(dict.fromkeys([Path(tempfile.gettempdir()), Path("/tmp")]))


def sweep(parent: Path, prefix: str) -> None:
    """Remove the folders in `parent` named `prefix` + the pid of a process that has ended."""
    for folder in parent.glob(f"{prefix}*"):
        try:
            pid = int(folder.name.removeprefix(prefix).split("-")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not is_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
