"""The docker backend: PostgreSQL in a container through testcontainers, when a daemon answers."""

from __future__ import annotations

import contextlib
import os
import socket
from urllib.parse import urlparse

from asyncdb_lab.errors import BackendUnavailable
from asyncdb_lab.servers.url import ExternalServer
from asyncdb_lab.settings import BACKEND_ENV, DOCKER_IMAGE_ENV, docker_image

# Every container the course starts names its owner process, as scratch databases do
# (adl_<host>_<pid>_<start>_): the next start and `asyncdb-lab cleanup` remove those whose owner
# is gone, with or without testcontainers' Ryuk.
OWNER_LABEL = "org.asyncdb-lab.owner"

_PING = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"


def docker_reachability(timeout: float = 1.0) -> tuple[bool, str]:
    """(True, "") when a Docker daemon answers /_ping, else (False, why) in a few words."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
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
    server = start_docker_server(reason)
    server.connect_check()
    return server


def start_docker_server(reason: str) -> ExternalServer:
    try:
        # testcontainers 4.15 moved it (the old path still works, with a DeprecationWarning).
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        try:
            from testcontainers.postgres import PostgresContainer
        except ImportError as error:
            raise BackendUnavailable(
                f"testcontainers is not installed ({error}): run `make install`."
            ) from None
    from asyncdb_lab.servers.url import process_prefix

    sweep_orphan_containers()
    _use_ryuk_only_if_present()
    image = docker_image()
    try:  # the client is made, and may fail, with the container
        container = PostgresContainer(image, username="postgres", password="postgres")
        container.with_kwargs(labels={OWNER_LABEL: process_prefix()})
        container.start()
    except Exception as error:
        what = (
            f"Docker answered but the {image} container did not start "
            f"({type(error).__name__}: {_one_line(str(error))})"
        )
        raise BackendUnavailable(
            f"{what}. Set {DOCKER_IMAGE_ENV} to an image this engine has, or "
            f"{BACKEND_ENV}=embedded.",
            what=what,
        ) from None
    host = container.get_container_host_ip()
    port = container.get_exposed_port(5432)
    url = f"postgresql://postgres:postgres@{host}:{port}/postgres"
    return ExternalServer(url, backend="docker", reason=reason, on_stop=container.stop)


def _one_line(text: str, most: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def _use_ryuk_only_if_present() -> None:
    """Ryuk (testcontainers' reaper) is used when its image is here already; otherwise no pull
    is tried (offline, a mirror, a locked-down laptop): the owner label does its work."""
    from testcontainers.core.config import testcontainers_config as config

    if config.ryuk_disabled:
        return
    try:
        import docker  # type: ignore[import-untyped]

        with contextlib.closing(docker.from_env()) as client:
            client.images.get(config.ryuk_image)
    except Exception:
        config.ryuk_disabled = True


def sweep_orphan_containers() -> list[str]:
    """Remove the course's containers whose owner process has ended; their short ids."""
    from asyncdb_lab.servers.embedded.reaper import scratch_owner_is_gone
    from asyncdb_lab.servers.url import host_tag

    if not docker_reachability()[0]:
        return []
    import docker

    removed: list[str] = []
    try:
        with contextlib.closing(docker.from_env()) as client:
            for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
                owner = container.labels.get(OWNER_LABEL, "")
                if owner.startswith(f"adl_{host_tag()}_") and scratch_owner_is_gone(owner):
                    with contextlib.suppress(Exception):
                        container.remove(force=True)
                        removed.append(container.short_id)
    except Exception:
        pass  # the engine went away meanwhile: the next start sweeps again
    return removed
