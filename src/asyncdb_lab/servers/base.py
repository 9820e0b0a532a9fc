"""What every backend provides, the registry of backends, and the choice between them.

A backend is a module (or package) in `BACKENDS` with three functions:

    detect() -> tuple[bool, str]        applies here automatically? and the reason, or why not
    refuse_request() -> str | None      asked for by name but cannot run here: why, in one line
    start(reason: str) -> Server        a running server (connected and checked)

A new backend is a new module beside this one, named in `BACKENDS` (and in `AUTOMATIC_ORDER`
when it may be chosen without being asked for).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Protocol, cast

from asyncdb_lab.errors import BackendUnavailable
from asyncdb_lab.settings import BACKEND_ENV

if TYPE_CHECKING:
    from asyncdb_lab.servers.templates import Contents

# Each backend's name (what ASYNCDB_LAB_BACKEND takes) and the module that implements it.
BACKENDS: dict[str, str] = {
    "embedded": "asyncdb_lab.servers.embedded",
    "docker": "asyncdb_lab.servers.docker",
    "url": "asyncdb_lab.servers.url",
}
# Automatic choice tries these in turn and uses the first that applies; the last always does.
AUTOMATIC_ORDER = ("url", "docker", "embedded")
# Chosen automatically but unable to give a database, these give way to FALLBACK. Not url: a URL
# the learner set is what they meant, and its failure is theirs to see.
FALLBACK = "embedded"
GIVES_WAY = ("docker",)


class Server(Protocol):
    """What every backend's running server offers the database layer (`databases.py`)."""

    backend: str
    reason: str
    version: str
    started_in: float
    prefix: str

    @property
    def clone_strategy(self) -> str | None:
        """CREATE DATABASE's STRATEGY for clones, or None for the server's default."""

    @property
    def admin_dsn(self) -> str: ...

    def dsn(self, database: str) -> str: ...

    async def template_for(self, contents: Contents) -> str: ...

    def track(self, name: str) -> None: ...

    def forget(self, name: str) -> None: ...

    def stop(self) -> None: ...


class Backend(Protocol):
    """The three functions of a backend module."""

    def detect(self) -> tuple[bool, str]: ...

    def refuse_request(self) -> str | None: ...

    def start(self, reason: str) -> Server: ...


if TYPE_CHECKING:
    # The type checker holds every backend module to the Backend protocol (and so each server
    # it starts to Server); nothing is imported at run time.
    from asyncdb_lab.servers import docker, embedded, url

    _CHECKED: tuple[Backend, ...] = (embedded, docker, url)


@dataclass(frozen=True)
class BackendChoice:
    name: str
    reason: str
    automatic: bool = False  # chosen by detection, not asked for by BACKEND_ENV


def backend(name: str) -> Backend:
    return cast(Backend, import_module(BACKENDS[name]))


def choose_backend() -> BackendChoice:
    """ASYNCDB_LAB_BACKEND if set; else the first backend of AUTOMATIC_ORDER that applies here."""
    requested = os.environ.get(BACKEND_ENV, "").strip().lower()
    if requested:
        if requested not in BACKENDS:
            raise BackendUnavailable(
                f"{BACKEND_ENV}={requested!r} is not a backend: use one of "
                f"{', '.join(BACKENDS)}, or unset it to choose automatically."
            )
        refusal = backend(requested).refuse_request()
        if refusal is not None:
            raise BackendUnavailable(refusal)
        return BackendChoice(requested, f"{BACKEND_ENV}={requested}")
    why_not = ""
    for name in AUTOMATIC_ORDER:
        applies, reason = backend(name).detect()
        if applies:
            # A backend that always applies (the fallback) is explained by the one before it.
            return BackendChoice(name, reason or why_not, automatic=True)
        why_not = reason
    raise BackendUnavailable(
        f"No PostgreSQL backend applies here ({why_not}): set {BACKEND_ENV} to one of "
        f"{', '.join(BACKENDS)}."
    )


def start_server(choice: BackendChoice) -> Server:
    """Start the chosen backend's server. One chosen automatically that cannot give a database
    (Docker answers, but its image cannot be pulled, say) gives way to the embedded server, and
    the reason says why; one asked for by name fails with its own reason."""
    started = time.perf_counter()
    try:
        server = backend(choice.name).start(choice.reason)
    except BackendUnavailable as error:
        if not (choice.automatic and choice.name in GIVES_WAY):
            raise
        choice = BackendChoice(FALLBACK, f"{error.what}; the embedded server instead")
        server = backend(FALLBACK).start(choice.reason)
    server.reason = choice.reason
    server.started_in = time.perf_counter() - started
    return server
