"""Per-run folders for embedded servers, their owner records, and the sweep for orphans.

Layout: <runtime dir>/srv-<owner pid>-<random>/ holds owner.json, data/, sock/ and postgres.log.
A folder whose owner process is gone (and whose watchdog is gone too) is an orphan: its server
is stopped and the folder removed the next time any server starts. A shared server's folder,
srv-shared-<key>/ (see shared.py and leases.py), is owned by its watchdog; it is an orphan once
that watchdog and every process with a lease on it are gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from asyncdb_lab.servers.embedded import leases, reaper
from asyncdb_lab.settings import RUNTIME_DIR_ENV

OWNER_FILE = "owner.json"
# A folder without an owner record is being created; older than this, it was abandoned.
_ABANDONED_AFTER_SECONDS = 120
# Unix socket paths must fit in 107 bytes: <dir>/sock/.s.PGSQL.NNNNN
_MAX_BASE_LENGTH = 60
_MIN_FREE_MEMORY_BYTES = 2 * 1024**3
# Run by path with `python -I`, so that it imports nothing of the package (see its docstring).
WATCHDOG_SCRIPT = Path(__file__).with_name("watchdog.py")
SHARED_WATCHDOG_SCRIPT = Path(__file__).with_name("shared_watchdog.py")


@dataclass
class OwnerRecord:
    owner_pid: int
    owner_started: float
    postmaster_pid: int | None = None
    watchdog_pid: int | None = None

    def write(self, server_dir: Path) -> None:
        tmp = server_dir / f".{OWNER_FILE}.tmp"
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(server_dir / OWNER_FILE)

    @classmethod
    def read(cls, server_dir: Path) -> OwnerRecord | None:
        try:
            return cls(**json.loads((server_dir / OWNER_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None


def owner_is_alive(record: OwnerRecord) -> bool:
    if not reaper.is_alive(record.owner_pid):
        return False
    return abs(reaper.process_start_time(record.owner_pid) - record.owner_started) < 0.5


def _memory_backed_root() -> Path | None:
    """/dev/shm when it is a roomy tmpfs: copying and running a cluster in RAM is several times
    faster and steadier than on a busy disk, and the data is thrown away anyway."""
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    free = stats.f_bavail * stats.f_frsize
    return shm if free >= _MIN_FREE_MEMORY_BYTES and os.access(shm, os.W_OK) else None


def _temp_root() -> Path:
    temp = Path(tempfile.gettempdir())
    # As root, PostgreSQL's service user must reach the server folders: a private TMPDIR won't do.
    if os.geteuid() == 0 and not all_world_searchable(temp):
        return Path("/tmp")
    return temp


def all_world_searchable(folder: Path) -> bool:
    try:
        return all(path.stat().st_mode & 0o001 for path in [folder, *folder.parents])
    except OSError:
        return False


def base_path() -> Path:
    """The per-user folder that holds the server folders (it may not exist)."""
    configured = os.environ.get(RUNTIME_DIR_ENV)
    root = Path(configured) if configured else _memory_backed_root() or _temp_root()
    if len(str(root)) > _MAX_BASE_LENGTH:
        root = Path("/tmp")
    return root / f"asyncdb-lab-{os.getuid()}"


def base_dir() -> Path:
    """base_path(), made if missing; it goes again with the last server folder in it."""
    base = base_path()
    base.mkdir(mode=0o711, exist_ok=True)
    # The service user that runs PostgreSQL for root must be able to traverse into its folder.
    os.chmod(base, 0o711)
    return base


def new_server_dir(name: str | None = None) -> Path:
    """A new server folder in the base folder (name: the shared server's well-known one)."""
    name = name or f"srv-{os.getpid()}-{secrets.token_hex(3)}"
    for _ in range(5):
        server_dir = base_dir() / name
        try:
            server_dir.mkdir(mode=0o755)
            break
        except FileNotFoundError:
            continue  # the last server in the base folder removed it just now: make it again
    else:
        server_dir.mkdir(mode=0o755)
    OwnerRecord(os.getpid(), reaper.process_start_time(os.getpid())).write(server_dir)
    return server_dir


def start_watchdog(server_dir: Path, postmaster_pid: int) -> tuple[subprocess.Popen[bytes], int]:
    """Start the watchdog; return it and the pipe's write end, which only this process holds.

    Closing the write end (or dying) tells the watchdog to clean up, unless the folder is gone.
    """
    read_end, write_end = os.pipe()
    watchdog = subprocess.Popen(
        [
            sys.executable,
            "-I",
            str(WATCHDOG_SCRIPT),
            str(read_end),
            str(server_dir),
            str(postmaster_pid),
        ],
        pass_fds=(read_end,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(read_end)
    return watchdog, write_end


def sweep_orphans() -> list[Path]:
    """Stop the servers of dead owners and remove their folders; return the folders removed."""
    removed: list[Path] = []
    base = base_path()
    if not base.is_dir():
        return removed
    for server_dir in sorted(base.glob("srv-*")):
        if server_dir.name.startswith(leases.SHARED_PREFIX):
            if _sweep_shared(server_dir):
                removed.append(server_dir)
            continue
        record = OwnerRecord.read(server_dir)
        if record is None:
            with contextlib.suppress(OSError):
                if time.time() - server_dir.stat().st_mtime < _ABANDONED_AFTER_SECONDS:
                    continue
            data = server_dir / "data"
            reaper.stop_postmaster(reaper.postmaster_pid(data), data)
        else:
            if owner_is_alive(record):
                continue
            if record.watchdog_pid and _is_watchdog_of(record.watchdog_pid, server_dir):
                continue  # the watchdog is cleaning up right now
            reaper.stop_postmaster(record.postmaster_pid, server_dir / "data")
        reaper.remove_server_dir(server_dir)
        removed.append(server_dir)
    return removed


def _sweep_shared(server_dir: Path) -> bool:
    """Stop a shared server nobody watches and nobody uses (its watchdog was killed too)."""
    with leases.locked(server_dir):
        if not server_dir.exists():
            leases.remove_lock(server_dir)
            return False
        record = OwnerRecord.read(server_dir)
        if record is not None and owner_is_alive(record):
            return False  # its watchdog, or the process starting it
        if leases.postmaster_serves(server_dir) and leases.has_live_leases(server_dir):
            return False  # the next process to attach gives it a new watchdog
        leases.stop_shared(server_dir)
        return True


def start_shared_watchdog(server_dir: Path, bin_dir: Path) -> subprocess.Popen[bytes]:
    """The watchdog of a shared server (shared_watchdog.py): it outlives whoever starts it."""
    return subprocess.Popen(
        [sys.executable, "-I", str(SHARED_WATCHDOG_SCRIPT), str(server_dir), str(bin_dir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _is_watchdog_of(pid: int, server_dir: Path) -> bool:
    cmdline = reaper.process_cmdline(pid)
    return reaper.is_alive(pid) and str(WATCHDOG_SCRIPT) in cmdline and str(server_dir) in cmdline
