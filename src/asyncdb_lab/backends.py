"""Choose the PostgreSQL backend: url, docker or embedded, explained in one line."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Protocol

from .errors import BackendUnavailable
from .settings import BACKEND_ENV, BACKEND_NAMES, DATABASE_URL_ENV
from .templates import Contents


class Server(Protocol):
    """What every backend's running server offers the database layer."""

    backend: str
    reason: str
    version: str
    started_in: float
    prefix: str
    clone_strategy: str | None

    @property
    def admin_dsn(self) -> str: ...

    def dsn(self, database: str) -> str: ...

    async def template_for(self, contents: Contents) -> str: ...

    def track(self, name: str) -> None: ...

    def forget(self, name: str) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class BackendChoice:
    name: str
    reason: str


def choose_backend() -> BackendChoice:
    """ASYNCDB_LAB_BACKEND if set; else url if a URL is set, docker if it answers, else embedded."""
    from .docker_backend import docker_reachability

    requested = os.environ.get(BACKEND_ENV, "").strip().lower()
    if requested:
        if requested not in BACKEND_NAMES:
            raise BackendUnavailable(
                f"{BACKEND_ENV}={requested!r} is not a backend: use one of "
                f"{', '.join(BACKEND_NAMES)}, or unset it to choose automatically."
            )
        if requested == "url" and not os.environ.get(DATABASE_URL_ENV):
            raise BackendUnavailable(
                f"{BACKEND_ENV}=url needs {DATABASE_URL_ENV}, e.g. "
                f"postgresql://user:password@localhost:5432/postgres."
            )
        if requested == "docker":
            reachable, why = docker_reachability()
            if not reachable:
                raise BackendUnavailable(
                    f"{BACKEND_ENV}=docker, but Docker is not reachable ({why}): start Docker, "
                    f"or unset {BACKEND_ENV} to use the embedded server."
                )
        return BackendChoice(requested, f"{BACKEND_ENV}={requested}")
    if os.environ.get(DATABASE_URL_ENV):
        return BackendChoice("url", f"{DATABASE_URL_ENV} is set")
    reachable, why = docker_reachability()
    if reachable:
        return BackendChoice("docker", "a Docker daemon answered")
    return BackendChoice("embedded", f"Docker not reachable: {why}")


def start_server(choice: BackendChoice) -> Server:
    started = time.perf_counter()
    server: Server
    if choice.name == "embedded":
        from .embedded import EmbeddedServer

        server = EmbeddedServer.start()
    elif choice.name == "docker":
        from .docker_backend import start_docker_server

        server = start_docker_server(choice.reason)
        server.connect_check()
    else:
        from .external import ExternalServer

        server = ExternalServer(os.environ[DATABASE_URL_ENV], reason=choice.reason)
        server.connect_check()
    server.reason = choice.reason
    server.started_in = time.perf_counter() - started
    return server
