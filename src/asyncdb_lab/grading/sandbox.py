"""What a learner's kernel may see and use while it is graded, and the command that starts it so.

The kernel sees an allow-list, not a deny-list: the Python installation, the course library and
the seed data (read-only), an empty private /tmp, its database's Unix socket and the folder of
its own ZMQ sockets. Everything else is absent: solutions/, the gradebook, other submissions,
other clones of the repository, home folders, the network (it has only its own loopback). See
_sandbox_launch.py for how; this module decides what and checks that it can be done here.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

LAUNCHER = Path(__file__).with_name("_sandbox_launch.py")

# Kernels run as a fresh user id from this range when the grader is root: one per submission,
# chosen at random among those no process uses, so that no kernel can signal another's
# processes, share its process limit or read its keyrings. They need no account.
KERNEL_UID_BASE = 1_923_000_000
KERNEL_UIDS = 10_000
SYSTEM_FOLDERS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Where the kernel finds its database's socket, in its view.
DATABASE_SOCKET_DIR = "/run/postgresql"
DATABASE_PORT = 5432  # the name of its socket there, whatever the server's port
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PREFIX = "asyncdb-lab-"

_handed_out: set[int] = set()  # user ids given to kernels by this process


@dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel."""

    memory_bytes: int = 2 * 1024**3  # the whole kernel's memory (cgroup) and each process's AS
    processes: int = 512  # processes and threads of the kernel (pids cgroup, RLIMIT_NPROC)
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
    # Unix socket files made visible in the view: {path on the host: path in the view}.
    sockets: dict[str, str] = field(default_factory=dict)
    # The kernel's own cgroups, made by the launcher before it runs: {folder: {file: value}}.
    cgroups: dict[str, dict[str, str]] = field(default_factory=dict)

    def command(self, kernel_command: list[str], *, parent: int | None = None) -> list[str]:
        """The launcher command that runs `kernel_command` (which has `-f FILE`) in this sandbox.

        parent: the pid of the process that starts it (the grading worker); when it dies, so
        does the sandbox.
        """
        spec = json.dumps({**asdict(self), "parent": parent}, separators=(",", ":"))
        return [sys.executable, "-I", "-S", str(LAUNCHER), spec, "--", *kernel_command]


def make_spec(
    root: Path, hostname: str, limits: Limits, *, database_socket: Path | None = None
) -> SandboxSpec:
    """The sandbox of one kernel: a fresh user id and fresh cgroups whenever we are root."""
    running_as_root = os.geteuid() == 0
    uid = new_kernel_uid() if running_as_root else os.getuid()
    gid = uid if running_as_root else os.getgid()
    symlinks, folders = _system_view()
    sockets = {}
    if database_socket is not None:
        sockets[str(database_socket)] = f"{DATABASE_SOCKET_DIR}/.s.PGSQL.{DATABASE_PORT}"
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
        sockets=sockets,
        cgroups=kernel_cgroups(limits) if running_as_root else {},
    )


def sandboxed_database_url(user: str, password: str) -> str:
    """The kernel's ASYNCDB_LAB_DATABASE_URL: the server's Unix socket, as seen in its view.

    No port: asyncpg ignores `?host=` when the URL names one, and the usual 5432 is what every
    client (FrozenRelay's too) assumes when there is none.
    """
    auth = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return f"postgresql://{auth}@/postgres?host={DATABASE_SOCKET_DIR}"


# -- user ids -----------------------------------------------------------------------------------


def new_kernel_uid() -> int:
    """A user id from KERNEL_UID_BASE on that no account, running process or earlier kernel has."""
    in_use = _running_uids()
    while True:
        uid = KERNEL_UID_BASE + secrets.randbelow(KERNEL_UIDS)
        if uid not in in_use and uid not in _handed_out and not _has_account(uid):
            _handed_out.add(uid)
            return uid


def _running_uids() -> set[int]:
    uids = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                uids.add(entry.stat().st_uid)
    return uids


def _has_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


# -- cgroups ------------------------------------------------------------------------------------


def kernel_cgroups(limits: Limits) -> dict[str, dict[str, str]]:
    """New cgroups for one kernel ({} if this machine gives us none we can write)."""
    name = f"{CGROUP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    unified = _unified_parent()
    if unified is not None:
        settings = {"memory.max": str(limits.memory_bytes), "memory.swap.max": "0"}
        if "pids" in (unified / "cgroup.subtree_control").read_text().split():
            settings["pids.max"] = str(limits.processes)
        return {str(unified / name): settings}
    cgroups = {}
    memory = _v1_parent("memory")
    if memory is not None:
        settings = {"memory.limit_in_bytes": str(limits.memory_bytes)}
        if (memory / "memory.memsw.limit_in_bytes").exists():
            settings["memory.memsw.limit_in_bytes"] = str(limits.memory_bytes)
        cgroups[str(memory / name)] = settings
    pids = _v1_parent("pids")
    if pids is not None:
        cgroups[str(pids / name)] = {"pids.max": str(limits.processes)}
    return cgroups


def cgroup_parents() -> list[Path]:
    """The folders our kernels' cgroups are made in (our own cgroups)."""
    unified = _unified_parent()
    if unified is not None:
        return [unified]
    return [path for path in (_v1_parent("memory"), _v1_parent("pids")) if path is not None]


def _own_cgroups() -> dict[str, str]:
    """{controller (or "" for cgroup v2): our path in it}, from /proc/self/cgroup."""
    found = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def _v1_parent(controller: str) -> Path | None:
    path = _own_cgroups().get(controller)
    if path is None:
        return None
    folder = CGROUP_ROOT / controller / path.lstrip("/")
    return folder if (folder / "cgroup.procs").exists() and os.access(folder, os.W_OK) else None


def _unified_parent() -> Path | None:
    """Our cgroup v2 folder, if it hands the memory controller down to cgroups we make."""
    path = _own_cgroups().get("")
    if path is None:
        return None
    for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        folder = mount / path.lstrip("/")
        control = folder / "cgroup.subtree_control"
        with contextlib.suppress(OSError):
            if "memory" in control.read_text().split() and os.access(folder, os.W_OK):
                return folder
    return None


def memory_limit_hit(spec: SandboxSpec | None) -> bool:
    """Did the kernel's cgroup kill one of its processes for memory? (False: no cgroup)"""
    for folder in spec.cgroups if spec is not None else {}:
        for name in ("memory.events", "memory.oom_control"):
            with contextlib.suppress(OSError, ValueError):
                fields = dict(
                    line.split() for line in (Path(folder) / name).read_text().splitlines()
                )
                if int(fields.get("oom_kill", 0)) > 0:
                    return True
    return False


def remove_cgroups(spec: SandboxSpec | None, *, seconds: float = 10.0) -> list[str]:
    """Kill whatever still runs in the kernel's cgroups and remove them; return those left.

    The grade command may not know every process of a kernel (one killed while it started, say):
    its cgroup does.
    """
    left = list(spec.cgroups) if spec is not None else []
    deadline = time.monotonic() + seconds
    while left:
        for folder in left:
            _kill_members(folder)
        left = [folder for folder in left if not _rmdir(folder)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return left


def _kill_members(folder: str) -> None:
    try:
        members = Path(folder, "cgroup.procs").read_text().split()
    except OSError:
        return
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def sweep_orphan_cgroups() -> None:
    """Empty cgroups of grade runs that were killed (their process is gone)."""
    for parent in cgroup_parents():
        for folder in parent.glob(f"{CGROUP_PREFIX}*"):
            if not _owner_alive(folder.name):
                _rmdir(str(folder))


def orphan_cgroups() -> list[str]:
    """Our kernels' cgroups whose grade run (or test) is gone: none should ever be left."""
    return [
        str(folder)
        for parent in cgroup_parents()
        for folder in parent.glob(f"{CGROUP_PREFIX}*")
        if not _owner_alive(folder.name)
    ]


def _owner_alive(name: str) -> bool:
    try:
        pid = int(name.removeprefix(CGROUP_PREFIX).split("-")[0])
    except ValueError:
        return True  # not one of ours
    return Path(f"/proc/{pid}").exists()


def _rmdir(folder: str) -> bool:
    try:
        os.rmdir(folder)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


# -- the view -----------------------------------------------------------------------------------


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


# -- checking it works here ---------------------------------------------------------------------


@dataclass(frozen=True)
class SandboxCheck:
    available: bool
    how: str  # a sentence for the report: what protects the grader from learner code here


def check_sandbox(root: Path) -> SandboxCheck:
    """Start a trivial program in the sandbox once: can this machine build it?"""
    spec = make_spec(root, hostname="asyncdb-lab-check", limits=Limits())
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
        remove_cgroups(spec)
    if result.returncode == 0:
        return SandboxCheck(True, _isolation_sentence(spec))
    why = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
    return SandboxCheck(False, why)


def _isolation_sentence(spec: SandboxSpec) -> str:
    sees = (
        "seeing only the Python installation, the course library and the seed data, with no "
        "network (their database through a Unix socket)"
    )
    if spec.cgroups:
        limits = "memory and process limits per kernel (a cgroup of its own)"
    else:
        limits = "memory and process limits per process only (no cgroup could be made here)"
    if spec.drop_to_uid:
        return (
            f"learner kernels ran in private namespaces, each as a new unprivileged user id with "
            f"new keyrings, {sees}, under {limits}"
        )
    return (
        f"learner kernels ran in a user namespace with your user id, {sees}, under {limits} "
        f"(run as root to give each kernel its own user id and cgroup)"
    )
