"""One PostgreSQL container per learner, shared by their processes: attach to it, or start it.

A learner is an OS user on a host, with a Docker engine (DOCKER_HOST) and an image. Their first
process starts the container, with a password generated for it and the templates every
database is cloned from, and a watchdog that outlives it; later processes attach to it and pay
no container start. Every process, the first included, takes a lease (embedded/leases.py) and
makes and drops only its own databases, named by its pid and start time as the url backend
names them. The last process to leave removes the container; if they die (kill -9), the
watchdog (embedded/shared_watchdog.py --container) does. The folder and what it holds:
shared_container.py.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

from asyncdb_lab.servers import shared_container
from asyncdb_lab.servers.docker_api import EngineError
from asyncdb_lab.servers.embedded import leases, reaper, run_folders
from asyncdb_lab.servers.shared_container import ContainerRecord
from asyncdb_lab.servers.url import ExternalServer
from asyncdb_lab.settings import docker_image

# The watchdogs this process started, kept so that Python does not warn that they still run.
_watchdogs: list[subprocess.Popen[bytes]] = []


def attach(reason: str) -> ExternalServer:
    """Attach to this learner's container, starting it (and its watchdog) if there is none."""
    folder = container_folder()
    with leases.locked(folder):
        record = ContainerRecord.read(folder)
        if record is None or not _runs(record):
            _discard(folder)
            record = _start(folder)
        elif not _watchdog_is_alive(folder):
            _watch(folder)  # its watchdog was killed: take over from it
        leases.add_lease(folder, os.getpid())
        password = shared_container.read_password(folder)
    server = ExternalServer(
        record.url(password), backend="docker", reason=reason, on_stop=lambda: _leave(folder)
    )
    server.connect_check_or_stop()
    return server


def container_folder() -> Path:
    """The learner's container folder in the per-user base folder (made if missing)."""
    from asyncdb_lab.servers.postgres_container import docker_host

    parts = [str(os.getuid()), socket.gethostname(), docker_host(), docker_image()]
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:10]
    return run_folders.base_dir() / f"{shared_container.FOLDER_PREFIX}{key}"


def is_orphan(folder: Path, container_id: str) -> bool:
    """Is this shared container nobody's, so that the sweep may remove it? Yes when its folder
    (its owner label) is gone or names another container, or when its watchdog and every
    process with a lease on it are gone (then the folder goes too). In doubt (another user's
    folder, or one locked right now by a process starting, attaching or leaving) it is not."""
    if not _is_mine(folder):
        return False
    if not folder.exists():
        return True  # a start makes the folder before the container, and a stop removes it after
    with leases.locked(folder, wait=False) as held:
        if not held:
            return False
        record = ContainerRecord.read(folder)
        if record is None or record.container_id != container_id:
            return True  # the folder is another container's now
        owner = run_folders.OwnerRecord.read(folder)
        if owner is not None and run_folders.owner_is_alive(owner):
            return False  # its watchdog, or the process starting it
        if leases.has_live_leases(folder):
            return False  # the next process to attach gives it a new watchdog
        leases.remove_shared_folder(folder)
        return True


def _is_mine(folder: Path) -> bool:
    """In a per-user base folder (run_folders.base_path()) of this user, wherever it is."""
    base, uid = folder.parent, os.getuid()
    if base.name != f"asyncdb-lab-{uid}":
        return False
    if not folder.name.startswith(shared_container.FOLDER_PREFIX):
        return False
    try:
        return base.stat().st_uid == uid
    except FileNotFoundError:
        return True  # gone with everything in it: an orphan's
    except OSError:
        return False


def _runs(record: ContainerRecord) -> bool:
    try:
        return record.engine.is_running(record.container_id)
    except EngineError:
        return False


def _start(folder: Path) -> ContainerRecord:
    """Start the container, its templates and its watchdog (with the lock held)."""
    from asyncdb_lab.servers.postgres_container import docker_host, run_postgres_container

    shared_container.make_folder(folder)
    me = os.getpid()
    # The starting process owns the folder until its watchdog does: the sweep leaves it alone.
    run_folders.OwnerRecord(me, reaper.process_start_time(me)).write(folder)
    try:
        password = shared_container.new_password(folder)
        container = run_postgres_container(password, owner=str(folder), reaper_allowed=False)
        record = ContainerRecord(
            container_id=container.get_wrapped_container().id,
            docker_host=docker_host(),
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(5432)),
        )
        record.write(folder)
        _create_shared_templates(record.url(password))
        _watch(folder)
    except BaseException:
        _discard(folder)
        raise
    return record


def _create_shared_templates(url: str) -> None:
    """The templates every process clones from (url.py finds them by name): made once, with
    the container, rather than once per process."""
    from asyncdb_lab.seed import seed_fingerprint
    from asyncdb_lab.servers.sync_admin import run_sync
    from asyncdb_lab.servers.templates import create_templates
    from asyncdb_lab.servers.url import shared_template_names

    names = shared_template_names(seed_fingerprint())
    admin = ExternalServer(url, backend="docker")
    dsn_for = {
        "admin": admin.admin_dsn,
        names.tables: admin.dsn(names.tables),
        names.seed: admin.dsn(names.seed),
    }
    run_sync(create_templates(dsn_for, names))


def _watch(folder: Path) -> None:
    """Start a watchdog and make it the folder's owner."""
    watchdog = subprocess.Popen(
        [sys.executable, "-I", str(run_folders.SHARED_WATCHDOG_SCRIPT), "--container", str(folder)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _watchdogs.append(watchdog)
    run_folders.OwnerRecord(
        owner_pid=watchdog.pid,
        owner_started=reaper.process_start_time(watchdog.pid),
        watchdog_pid=watchdog.pid,
    ).write(folder)


def _watchdog_is_alive(folder: Path) -> bool:
    record = run_folders.OwnerRecord.read(folder)
    return record is not None and run_folders.owner_is_alive(record)


def _discard(folder: Path) -> None:
    """Remove what a start that did not finish, or a container that stopped, left behind (with
    the lock held, which stays)."""
    if folder.exists():
        shared_container.remove_container(folder)
        reaper.remove_server_dir(folder)


def _leave(folder: Path) -> None:
    """Give up the lease (after stop() dropped this process's databases); the last one out
    removes the container."""
    with leases.locked(folder):
        leases.remove_lease(folder, os.getpid())
        if folder.exists() and not leases.has_live_leases(folder):
            shared_container.stop(folder)
