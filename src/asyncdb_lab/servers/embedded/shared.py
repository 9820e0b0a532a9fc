"""One embedded server per user, shared by their kernels: attach to it, or start it.

The first process to ask starts the server in a well-known folder of the per-user base folder
(keyed by the cluster image and the programs, so another installation gets its own), with a
watchdog that outlives it; every process, the first included, registers a lease there (see
leases.py). Each process makes and drops only its own databases, named by its pid and start
time as the url backend names them, so a process that died is recognised by its databases too.
The last lease to go stops the server.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from asyncdb_lab.servers.embedded import leases, reaper, run_folders
from asyncdb_lab.servers.embedded.binaries import (
    SUPERUSER,
    ChildRunner,
    copy_tree,
    server_version,
    service_user,
)
from asyncdb_lab.servers.embedded.image import IMAGE_FORMAT
from asyncdb_lab.servers.embedded.server import EmbeddedServer
from asyncdb_lab.servers.templates import EMBEDDED_TEMPLATES, Contents
from asyncdb_lab.servers.url import ExternalServer
from asyncdb_lab.settings import cache_dir, seed_dir

_SOCKET_PORT = 5432
# The watchdogs this process started, kept so that Python does not warn that they still run.
_watchdogs: list[subprocess.Popen[bytes]] = []


class SharedServer(ExternalServer):
    """This process's use of the shared embedded server: its own databases, and its lease."""

    # As a private embedded server clones (ExternalServer's None leaves the server's default).
    clone_strategy = "FILE_COPY"  # type: ignore[assignment]

    def __init__(self, server_dir: Path, *, started: EmbeddedServer | None) -> None:
        socket_dir = server_dir / "sock"
        super().__init__(
            f"postgresql://{SUPERUSER}@/postgres?host={socket_dir}",
            backend="embedded",
            on_stop=self._leave,
        )
        self.server_dir = server_dir
        self.socket_dir = socket_dir
        # Kept so that the postgres process this one started is reaped, not left a zombie.
        self._started = started

    @property
    def postmaster_pid(self) -> int | None:
        return reaper.postmaster_pid(self.server_dir / "data")

    @property
    def watchdog_pid(self) -> int | None:
        return leases.watchdog_pid(self.server_dir)

    async def template_for(self, contents: Contents) -> str:
        return EMBEDDED_TEMPLATES.for_contents(contents)

    def _leave(self) -> None:
        """Give up the lease (after stop() dropped this process's databases); the last one out
        stops the server."""
        with leases.locked(self.server_dir):
            leases.remove_lease(self.server_dir, os.getpid())
            if self.server_dir.exists() and not leases.has_live_leases(self.server_dir):
                leases.stop_shared(self.server_dir)
        if self._started is not None:
            self._started.process.poll()


def attach() -> SharedServer:
    """Attach to this user's shared server, starting it (and its watchdog) if there is none."""
    run_folders.sweep_orphans()
    runner = ChildRunner(service_user())
    server_dir = run_folders.base_dir() / f"{leases.SHARED_PREFIX}{_image_key(runner)}"
    started = None
    with leases.locked(server_dir):
        if not leases.postmaster_serves(server_dir):
            _discard(server_dir)
            started = _start(EmbeddedServer.prepared_image(runner), runner, server_dir)
        elif not _watchdog_is_alive(server_dir):
            _watch(server_dir, runner)  # its watchdog was killed: take over from it
        leases.add_lease(server_dir, os.getpid())
    server = SharedServer(server_dir, started=started)
    server.connect_check_or_stop()
    return server


def _image_key(runner: ChildRunner) -> str:
    """Which cluster image (and programs) a server runs, from what the image is built of.

    File sizes and times stand in for image.py's seed fingerprint, whose computation imports
    the models and SQLAlchemy's ORM: a notebook's setup cell that attaches need not wait for that.
    """
    package = Path(__file__).resolve().parents[2]
    inputs = [package / "models.py", package / "seed.py", *sorted(seed_dir().glob("*.csv"))]
    stamps = [f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}" for path in inputs]
    uid = runner.user.uid if runner.user else os.getuid()
    parts = [server_version(), str(IMAGE_FORMAT), str(uid), str(cache_dir()), str(runner.bin)]
    return hashlib.sha256("\0".join(parts + stamps).encode()).hexdigest()[:10]


def _discard(server_dir: Path) -> None:
    """Remove what a start that did not finish left behind (its postmaster, if any, too)."""
    if server_dir.exists():
        data_dir = server_dir / "data"
        reaper.stop_postmaster(reaper.postmaster_pid(data_dir), data_dir)
        reaper.remove_server_dir(server_dir)


def _start(image: Path, runner: ChildRunner, server_dir: Path) -> EmbeddedServer:
    run_folders.new_server_dir(server_dir.name)
    try:
        (server_dir / leases.LEASES).mkdir()
        copy_tree(image / "data", server_dir / "data")
    except BaseException:
        reaper.remove_server_dir(server_dir)
        raise
    started = EmbeddedServer.launch(
        server_dir, runner, tcp=False, port=_SOCKET_PORT, password=None, owned=False
    )
    try:
        _watch(server_dir, runner)
    except BaseException:
        _discard(server_dir)
        raise
    return started


def _watch(server_dir: Path, runner: ChildRunner) -> None:
    """Start a watchdog and make it the folder's owner (the orphan sweep leaves it alone)."""
    watchdog = run_folders.start_shared_watchdog(server_dir, runner.bin)
    _watchdogs.append(watchdog)
    record = run_folders.OwnerRecord(
        owner_pid=watchdog.pid,
        owner_started=reaper.process_start_time(watchdog.pid),
        postmaster_pid=reaper.postmaster_pid(server_dir / "data"),
        watchdog_pid=watchdog.pid,
    )
    record.write(server_dir)


def _watchdog_is_alive(server_dir: Path) -> bool:
    record = run_folders.OwnerRecord.read(server_dir)
    return record is not None and run_folders.owner_is_alive(record)
