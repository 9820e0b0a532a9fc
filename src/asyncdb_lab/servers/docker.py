"""The docker backend: PostgreSQL in a container through testcontainers, when a daemon answers.

By default one container per learner, shared by all their processes (docker_shared.py);
ASYNCDB_LAB_SHARED_SERVER=0 gives each process a private one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from pathlib import Path
from urllib.parse import urlparse

from asyncdb_lab.servers.docker_api import Engine, EngineError
from asyncdb_lab.servers.postgres_container import (
    HOST_LABEL,
    OWNER_LABEL,
    docker_host,
    run_postgres_container,
)
from asyncdb_lab.servers.shared_container import SUPERUSER
from asyncdb_lab.servers.url import ExternalServer
from asyncdb_lab.settings import BACKEND_ENV, shared_server

_PING = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"


def docker_reachability(timeout: float = 1.0) -> tuple[bool, str]:
    """(True, "") when a Docker daemon answers /_ping, else (False, why) in a few words."""
    host = docker_host()
    parsed = urlparse(host)
    try:
        if parsed.scheme == "unix":
            if not os.path.exists(parsed.path):
                return False, f"no daemon socket at {parsed.path}"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: str | tuple[str, int] = parsed.path
        elif parsed.scheme in ("tcp", "http"):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = (parsed.hostname or "localhost", parsed.port or 2375)
        else:
            return False, f"DOCKER_HOST={host} is not a unix:// or tcp:// address"
        with sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(_PING)
            reply = sock.recv(512)
    except OSError as error:
        return False, f"{host}: {error.strerror or error}"
    if b" 200 " in reply.split(b"\r\n", 1)[0]:
        return True, ""
    return False, f"{host} did not answer like a Docker daemon"


def detect() -> tuple[bool, str]:
    reachable, why = docker_reachability()
    return (
        (True, "a Docker daemon answered") if reachable else (False, f"Docker not reachable: {why}")
    )


def refuse_request() -> str | None:
    reachable, why = docker_reachability()
    if reachable:
        return None
    return (
        f"{BACKEND_ENV}=docker, but Docker is not reachable ({why}): start Docker, "
        f"or unset {BACKEND_ENV} to use the embedded server."
    )


def start(reason: str) -> ExternalServer:
    """This learner's shared container (ASYNCDB_LAB_SHARED_SERVER=0: a private one, this
    process's own, removed when it exits)."""
    sweep_orphan_containers()
    if shared_server():
        from asyncdb_lab.servers.docker_shared import attach

        return attach(reason)
    server = start_docker_server(reason)
    server.connect_check()
    return server


def start_docker_server(reason: str) -> ExternalServer:
    """A private container for this process, labelled with its name as its owner."""
    from asyncdb_lab.servers.url import process_prefix

    password = secrets.token_hex(16)
    container = run_postgres_container(password, owner=process_prefix(), reaper_allowed=True)
    host = container.get_container_host_ip()
    port = container.get_exposed_port(5432)
    url = f"postgresql://{SUPERUSER}:{password}@{host}:{port}/postgres"
    return ExternalServer(url, backend="docker", reason=reason, on_stop=container.stop)


def sweep_orphan_containers() -> list[str]:
    """Remove the course's containers on this host whose owner has gone; their short ids.

    A private container's owner is a process; a shared one's is its folder, gone once its
    watchdog and every process with a lease on it are (docker_shared.is_orphan)."""
    from asyncdb_lab.servers.docker_shared import is_orphan
    from asyncdb_lab.servers.embedded.reaper import scratch_owner_is_gone
    from asyncdb_lab.servers.url import host_tag

    if not docker_reachability()[0]:
        return []
    engine = Engine(docker_host())
    removed: list[str] = []
    try:
        listed = engine.containers(OWNER_LABEL)
    except EngineError:
        return removed  # the engine went away meanwhile: the next start sweeps again
    for summary in listed:
        labels = summary.get("Labels") or {}
        owner, container_id = labels.get(OWNER_LABEL, ""), summary.get("Id", "")
        if owner.startswith(f"adl_{host_tag()}_"):
            orphan = scratch_owner_is_gone(owner)
        elif owner.startswith(os.sep) and labels.get(HOST_LABEL) == host_tag():
            try:
                orphan = is_orphan(Path(owner), container_id)
            except OSError:
                orphan = False  # a folder this user cannot look into is not theirs to judge
        else:
            orphan = False  # another host's, or a kind this version does not know
        if orphan:
            with contextlib.suppress(EngineError):
                if engine.remove(container_id):
                    removed.append(container_id[:12])
    return removed
