"""What a learner's kernel may see and use while it is graded, and the command that starts it so.

The kernel sees an allow-list, not a deny-list: the Python installation, the course library and
the seed data (read-only) and an empty private /tmp. Everything else is absent: solutions/, the
gradebook, other submissions, other clones of the repository, home folders. See
_sandbox_launch.py for how; this module decides what and checks that it can be done here.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

LAUNCHER = Path(__file__).with_name("_sandbox_launch.py")

# Kernels run as one of these user ids when the grader is root: one per worker, so that no
# kernel can signal another's processes or share its process limit. They need no account.
KERNEL_UID_BASE = 1_923_000_000
SYSTEM_FOLDERS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel."""

    memory_bytes: int = 2 * 1024**3  # address space (RLIMIT_AS)
    processes: int = 512  # processes and threads of the kernel's user (RLIMIT_NPROC)
    file_bytes: int = 256 * 1024**2  # largest file it may write (RLIMIT_FSIZE)
    tmp_bytes: int = 256 * 1024**2  # size of its private /tmp (memory-backed)


@dataclass(frozen=True)
class SandboxSpec:
    root: str  # an empty folder the private view is mounted on (only inside the namespace)
    uid: int
    gid: int
    drop_to_uid: bool  # root: run the kernel as uid/gid; otherwise keep ours (user namespace)
    hostname: str
    memory_bytes: int
    processes: int
    file_bytes: int
    tmp_bytes: int
    read_only: list[str] = field(default_factory=list)
    symlinks: dict[str, str] = field(default_factory=dict)

    def command(self, kernel_command: list[str], *, parent: int | None = None) -> list[str]:
        """The launcher command that runs `kernel_command` (which has `-f FILE`) in this sandbox.

        parent: the pid of the process that starts it (the grading worker); when it dies, so
        does the sandbox.
        """
        spec = json.dumps({**asdict(self), "parent": parent}, separators=(",", ":"))
        return [sys.executable, "-I", "-S", str(LAUNCHER), spec, "--", *kernel_command]


def make_spec(root: Path, slot: int, hostname: str, limits: Limits) -> SandboxSpec:
    running_as_root = os.geteuid() == 0
    uid = kernel_uid(slot) if running_as_root else os.getuid()
    gid = uid if running_as_root else os.getgid()
    symlinks, folders = _system_view()
    return SandboxSpec(
        root=str(root),
        uid=uid,
        gid=gid,
        drop_to_uid=running_as_root,
        hostname=hostname,
        memory_bytes=limits.memory_bytes,
        processes=limits.processes,
        file_bytes=limits.file_bytes,
        tmp_bytes=limits.tmp_bytes,
        read_only=_outermost(folders + _python_and_course_folders()),
        symlinks=symlinks,
    )


def kernel_uid(slot: int) -> int:
    """The user id of worker `slot`'s kernels: the first free one from KERNEL_UID_BASE + slot."""
    uid = KERNEL_UID_BASE + slot * 16
    while _has_account(uid):
        uid += 1
    return uid


def _has_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _system_view() -> tuple[dict[str, str], list[str]]:
    symlinks: dict[str, str] = {}
    folders: list[str] = []
    for name in SYSTEM_FOLDERS:
        path = Path(name)
        if path.is_symlink():
            symlinks[name] = os.readlink(path)
        elif path.is_dir():
            folders.append(name)
    return symlinks, folders


def _python_and_course_folders() -> list[str]:
    """The interpreter, the virtual environment, the asyncdb_lab package and the seed data."""
    import asyncdb_lab
    from asyncdb_lab.seed import SEED_DIR

    package_parent = Path(asyncdb_lab.__file__).resolve().parent.parent
    candidates = [
        Path(sys.base_prefix).resolve(),
        Path(sys.prefix).resolve(),
        Path(sys.executable).resolve().parent,
        package_parent,
        SEED_DIR.resolve(),
    ]
    return [str(path) for path in candidates if path.is_dir()]


def _outermost(paths: list[str]) -> list[str]:
    """Drop duplicates and folders inside another listed folder; keep a stable order."""
    chosen: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path == kept or path.startswith(kept.rstrip("/") + "/") for kept in chosen):
            chosen.append(path)
    return chosen


@dataclass(frozen=True)
class SandboxCheck:
    available: bool
    how: str  # a sentence for the report: what protects the grader from learner code here


def check_sandbox(root: Path) -> SandboxCheck:
    """Start a trivial program in the sandbox once: can this machine build it?"""
    spec = make_spec(root, slot=0, hostname="asyncdb-lab-check", limits=Limits())
    connection = root.parent / "sandbox-check.json"
    connection.write_text("{}")
    try:
        result = subprocess.run(
            spec.command([sys.executable, "-I", "-S", "-c", "pass", "-f", str(connection)]),
            capture_output=True,
            text=True,
            timeout=30,
            start_new_session=True,
        )
    finally:
        connection.unlink(missing_ok=True)
    if result.returncode == 0:
        if spec.drop_to_uid:
            how = (
                "learner kernels ran in private namespaces as unprivileged user ids, seeing only "
                "the Python installation, the course library and the seed data"
            )
        else:
            how = (
                "learner kernels ran in a user namespace with your user id, seeing only the "
                "Python installation, the course library and the seed data (run as root to "
                "give each kernel its own unprivileged user id)"
            )
        return SandboxCheck(True, how)
    why = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
    return SandboxCheck(False, why)
