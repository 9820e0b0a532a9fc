"""A check's head start: the learner's shared PostgreSQL, started while the check's kernel starts.

A checked notebook needs its database from the setup cell on, and a kernel takes about a second
to start. When the notebooks' server is this user's shared embedded server (the default), the
check takes a lease on it at once, in a thread: the server starts while the kernel does rather
than after it, and stays up between the notebooks of `check --all` and `--watch`. The lease goes
when the check ends; as always, the last lease out stops the server (and the server's watchdog
takes a lease whose process was killed). With any other backend, or when anything goes wrong
here, nothing is held: the kernel starts its server as it would have, and says what failed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def shared_server_held() -> Iterator[None]:
    held: list[Any] = []
    thread = threading.Thread(
        target=_attach, args=(held,), name="asyncdb-lab-head-start", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        thread.join()
        for server in held:
            with contextlib.suppress(Exception):
                server.stop()


def _attach(held: list[Any]) -> None:
    from asyncdb_lab.settings import shared_server

    if not shared_server():
        return
    try:
        from asyncdb_lab.servers.base import choose_backend

        if choose_backend().name != "embedded":
            return
        from asyncdb_lab.servers.embedded.shared import attach

        held.append(attach())
    except Exception:  # the kernel's setup cell meets the same problem and explains it
        return
