"""A learner's shared PostgreSQL container: its folder, what it records, and its end.

Standard library only: the shared watchdog (embedded/shared_watchdog.py) loads it by path, to
remove the container once every process using it has gone, kill -9 included.

The folder, docker-<key>/ in the per-user base folder (run_folders.base_dir()), is private
(mode 0700) because it holds the container's password:
    container.json   the container (its id and its engine) and where PostgreSQL listens
    password         the password generated for the container's superuser (mode 0600)
    leases/          one file per process using the container (leases.py)
    owner.json       its watchdog is its owner (run_folders.OwnerRecord)
Its lock file, docker-<key>.lock, is beside it (leases.locked).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

# The watchdog loads this file as a top-level module, with embedded/ and this folder on its path.
if __package__:
    from asyncdb_lab.servers.docker_api import Engine, EngineError
    from asyncdb_lab.servers.embedded import leases, reaper
else:
    import leases  # type: ignore[import-not-found,no-redef]
    import reaper  # type: ignore[import-not-found,no-redef]
    from docker_api import Engine, EngineError  # type: ignore[import-not-found,no-redef]

FOLDER_PREFIX = "docker-"
RECORD_FILE = "container.json"
PASSWORD_FILE = "password"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class ContainerRecord:
    container_id: str
    docker_host: str
    host: str  # where this machine reaches the container's published port
    port: int

    @property
    def engine(self) -> Engine:
        return Engine(self.docker_host)

    def url(self, password: str) -> str:
        return f"postgresql://{SUPERUSER}:{password}@{self.host}:{self.port}/postgres"

    def write(self, folder: Path) -> None:
        tmp = folder / f".{RECORD_FILE}.tmp"
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(folder / RECORD_FILE)

    @classmethod
    def read(cls, folder: Path) -> ContainerRecord | None:
        try:
            return cls(**json.loads((folder / RECORD_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None


def make_folder(folder: Path) -> None:
    """The container's folder (private to this user) with its leases/ folder."""
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)  # whatever the umask
    (folder / leases.LEASES).mkdir()


def new_password(folder: Path) -> str:
    """Generate the container's password and keep it in the folder, readable by this user only."""
    password = secrets.token_hex(16)
    fd = os.open(folder / PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(password)
    return password


def read_password(folder: Path) -> str:
    return (folder / PASSWORD_FILE).read_text().strip()


def serves(folder: Path) -> bool:
    """False once the engine says the container is gone or stopped. True while it runs, and
    while the engine cannot be asked: then the processes' leases decide."""
    record = ContainerRecord.read(folder)
    if record is None:
        return False
    try:
        return record.engine.is_running(record.container_id)
    except EngineError:
        return True


def stop(folder: Path) -> None:
    """Remove the container, the folder and its lock file (call with the lock held).

    An engine that cannot be reached keeps the container: it carries the owner label, so the
    next orphan sweep removes it."""
    remove_container(folder)
    leases.remove_shared_folder(folder)


def remove_container(folder: Path) -> None:
    """Remove the folder's container, if it names one. One the engine cannot remove now
    carries the owner label: the next orphan sweep removes it."""
    record = ContainerRecord.read(folder)
    if record is not None:
        with contextlib.suppress(EngineError):
            record.engine.remove(record.container_id)


def drop_databases_of_dead_processes(folder: Path) -> None:
    """Drop every scratch database whose process is gone (named as servers/url.py names them),
    with psql inside the container: the watchdog imports no driver."""
    record = ContainerRecord.read(folder)
    if record is None:
        return
    env = (f"PGPASSWORD={read_password(folder)}",)
    connect = ["psql", "-X", "-q", "-A", "-t", "-U", SUPERUSER, "-d", "postgres"]
    with contextlib.suppress(EngineError, OSError):
        listed = record.engine.exec_output(
            record.container_id,
            [*connect, "-c", "SELECT datname FROM pg_database WHERE datname ~ '^adl_'"],
            env=env,
        )
        gone = [
            name
            for name in listed.splitlines()
            if re.fullmatch("adl_[0-9a-z_]+", name) and reaper.scratch_owner_is_gone(name)
        ]
        if gone:
            drops = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in gone]
            commands = [arg for statement in drops for arg in ("-c", statement)]
            record.engine.exec_output(record.container_id, [*connect, *commands], env=env)
