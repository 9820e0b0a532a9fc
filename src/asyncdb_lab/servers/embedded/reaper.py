"""Stop a PostgreSQL server and remove its folder, using the standard library only.

Both the watchdog process (which must start fast and import nothing of ours) and the
orphan sweep at start-up use these functions.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import time
from pathlib import Path


def process_cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def process_start_time(pid: int) -> float:
    """Seconds since boot at which `pid` started (from /proc), 0.0 if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[-1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0.0
    return ticks / os.sysconf("SC_CLK_TCK")


def scratch_owner_is_gone(name: str) -> bool:
    """Whether the process a scratch database is named after has ended: servers/url.py names
    them adl_<host>_<pid>_<start, hundredths of a second since boot, base 36>_…"""
    parts = name.split("_")
    try:
        pid, started = int(parts[2]), int(parts[3], 36)
    except (IndexError, ValueError):
        return False
    return not is_alive(pid) or int(process_start_time(pid) * 100) != started


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = _process_state(pid)
    return state not in ("Z", "X")


def _process_state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name is in parentheses and may contain spaces; the state follows it.
    return stat.rsplit(")", 1)[-1].split()[0]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def shared_memory_id(data_dir: Path) -> int | None:
    """The SysV segment id recorded in postmaster.pid (line 7: 'key id')."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[6].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def remove_shared_memory(shm_id: int) -> None:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    ipc_rmid = 0
    with contextlib.suppress(Exception):
        libc.shmctl(ctypes.c_int(shm_id), ctypes.c_int(ipc_rmid), None)


def stop_postmaster(pid: int | None, data_dir: Path, *, grace: float = 5.0) -> None:
    """Immediate shutdown of the postmaster `pid` serving `data_dir`, then SIGKILL if it lingers.

    The pid is checked against the command line first, so a recycled pid is never signalled.
    """
    shm_id = shared_memory_id(data_dir)
    if pid is not None and is_alive(pid) and str(data_dir) in process_cmdline(pid):
        backends = _children(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + grace
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        for leftover in [pid, *backends]:
            if is_alive(leftover):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(leftover, signal.SIGKILL)
    if shm_id is not None:
        remove_shared_memory(shm_id)


def postmaster_pid(data_dir: Path) -> int | None:
    """The postmaster's pid from data_dir/postmaster.pid, None when there is none to read."""
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, IndexError, ValueError):
        return None


def remove_server_dir(server_dir: Path) -> None:
    """Remove a server's folder, and the per-user base folder once no other server is in it."""
    shutil.rmtree(server_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        server_dir.parent.rmdir()  # refused while another server's folder is still there
