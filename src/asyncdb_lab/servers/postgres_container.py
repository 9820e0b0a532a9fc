"""Start a PostgreSQL container through testcontainers, labelled with its owner: the one place
both the private (docker.py) and the shared (docker_shared.py) container are started."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from asyncdb_lab.errors import BackendUnavailable
from asyncdb_lab.servers.docker_api import DEFAULT_DOCKER_HOST, Engine, EngineError
from asyncdb_lab.servers.shared_container import SUPERUSER
from asyncdb_lab.settings import BACKEND_ENV, DOCKER_IMAGE_ENV, docker_image

# Every container the course starts names its owner: a private container its process, as
# scratch databases do (adl_<host>_<pid>_<start>_), a shared one its folder (shared_container.py).
# The next start and `asyncdb-lab cleanup` remove those whose owner is gone, with or without
# testcontainers' Ryuk. The host label tells this machine's containers from those of others
# that use the same engine.
OWNER_LABEL = "org.asyncdb-lab.owner"
HOST_LABEL = "org.asyncdb-lab.host"


def docker_host() -> str:
    return os.environ.get("DOCKER_HOST", "") or DEFAULT_DOCKER_HOST


def run_postgres_container(password: str, *, owner: str, reaper_allowed: bool) -> Any:
    """A started testcontainers PostgresContainer of docker_image(), labelled with its owner.

    reaper_allowed=False: no Ryuk for it, which would remove it with the session of this
    process (a shared container outlives the process that starts it).
    """
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
    from testcontainers.core.config import testcontainers_config

    from asyncdb_lab.servers.url import host_tag

    if reaper_allowed:
        _use_ryuk_only_if_present()
    else:
        testcontainers_config.ryuk_disabled = True  # this process starts no other container
    image = docker_image()
    try:
        # The docker SDK leaves its socket to the garbage collector when the engine fails it
        # mid-way: an engine that answered its ping but not its API is caught before that.
        Engine(docker_host(), timeout=10).version()
    except EngineError as error:
        raise _did_not_start(image, error) from None
    container = None
    try:  # the client is made, and may fail, with the container
        container = PostgresContainer(image, username=SUPERUSER, password=password)
        container.with_kwargs(labels={OWNER_LABEL: owner, HOST_LABEL: host_tag()})
        container.start()
    except Exception as error:
        if container is not None and getattr(container, "_container", None) is not None:
            with contextlib.suppress(Exception):
                container.stop()  # created, but never ready
        raise _did_not_start(image, error) from None
    return container


def _did_not_start(image: str, error: Exception) -> BackendUnavailable:
    what = (
        f"Docker answered but the {image} container did not start "
        f"({type(error).__name__}: {_one_line(str(error))})"
    )
    return BackendUnavailable(
        f"{what}. Set {DOCKER_IMAGE_ENV} to an image this engine has, or {BACKEND_ENV}=embedded.",
        what=what,
    )


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
        present = Engine(docker_host(), timeout=10).has_image(config.ryuk_image)
    except EngineError:
        present = False
    if not present:
        config.ryuk_disabled = True
