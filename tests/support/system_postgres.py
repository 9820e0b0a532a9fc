"""Debian's own PostgreSQL (`apt-get install postgresql`: 15 on Debian 12), run by the tests as a
second real server for the url backend: an older major than the embedded one, fsync on, reached
over TCP with a password, and a login role that may create databases and nothing more.

The server runs as the `postgres` OS user in a temporary folder, on a free port; the embedded
backend's watchdog (servers/embedded/watchdog.py) stops it and removes its folder when the test
process ends, even by kill -9.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asyncdb_lab.servers.embedded import reaper, run_folders

SYSTEM_POSTGRES = Path("/usr/lib/postgresql")
LEARNER = "adl_learner"  # LOGIN CREATEDB, nothing more: as a learner on a shared class server


@dataclass
class SystemServer:
    folder: Path
    bin_dir: Path
    port: int
    learner_password: str
    superuser_password: str
    _watchdog_pipe: int
    _watchdog: subprocess.Popen[bytes]

    @property
    def major(self) -> int:
        return int(self.bin_dir.parent.name)

    def dsn(self, database: str = "postgres", *, superuser: bool = False) -> str:
        user, password = (
            ("postgres", self.superuser_password) if superuser else (LEARNER, self.learner_password)
        )
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    @property
    def learner_dsn(self) -> str:
        return self.dsn()

    @property
    def admin_dsn(self) -> str:
        return self.dsn(superuser=True)

    def stop(self) -> None:
        """Close the watchdog's pipe: it stops the server and removes the folder; wait for it."""
        os.close(self._watchdog_pipe)
        self._watchdog.wait(timeout=60)


def system_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL installed here (its bin folder), or None."""
    found = sorted(SYSTEM_POSTGRES.glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def start_system_server() -> tuple[SystemServer | None, str]:
    """(a running server, "") or (None, why there is none here)."""
    bin_dir = system_bin_dir()
    if bin_dir is None:
        return None, "Debian's postgresql package is not installed (apt-get install postgresql)"
    if os.geteuid() != 0:
        return None, "running Debian's PostgreSQL as its own OS user needs root"
    base = Path(tempfile.mkdtemp(prefix="adl-syspg-", dir="/tmp"))
    folder = base / "server"
    folder.mkdir()
    os.chmod(base, 0o755)
    passwords = {"postgres": secrets.token_hex(12), LEARNER: secrets.token_hex(12)}
    pwfile = folder / "pw"
    pwfile.write_text(passwords["postgres"])
    subprocess.run(["chown", "-R", "postgres:postgres", str(folder)], check=True)
    as_postgres = ["runuser", "-u", "postgres", "--"]
    initdb = subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres",
         f"--pwfile={pwfile}", "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8",
         "--locale=C.UTF-8"],
        capture_output=True, text=True,
    )  # fmt: skip
    pwfile.unlink()
    if initdb.returncode != 0:
        reaper.remove_server_dir(folder)
        return None, f"initdb failed: {initdb.stderr.strip()[-300:]}"
    port = _free_port()
    options = (
        f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} "
        "-c max_connections=100 -c fsync=on"
    )
    started = subprocess.run(
        [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-o", options,
         "-l", str(folder / "log"), "-w", "start"],
        capture_output=True, text=True,
    )  # fmt: skip
    pid = reaper.postmaster_pid(folder / "data")
    if started.returncode != 0 or pid is None:
        reaper.stop_postmaster(pid, folder / "data")
        reaper.remove_server_dir(folder)
        return None, f"Debian's PostgreSQL did not start: {started.stderr.strip()[-300:]}"
    watchdog, pipe = run_folders.start_watchdog(folder, pid)
    server = SystemServer(
        folder, bin_dir, port, passwords[LEARNER], passwords["postgres"], pipe, watchdog
    )
    psql = subprocess.run(
        [*as_postgres, str(bin_dir / "psql"), "-h", str(folder), "-p", str(port), "-v",
         "ON_ERROR_STOP=1", "-c",
         f"CREATE ROLE {LEARNER} LOGIN CREATEDB PASSWORD '{passwords[LEARNER]}'", "postgres"],
        capture_output=True, text=True,
    )  # fmt: skip
    if psql.returncode != 0:
        server.stop()
        return None, f"could not create the learner role: {psql.stderr.strip()}"
    return server, ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
