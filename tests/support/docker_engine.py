"""A private Docker engine for the tests that need one, started once per test session.

.ci/docker/setup starts dockerd on a socket in a temporary folder (so no other test, and no
other program, picks it up by accident) and builds asyncdb-lab/postgres:15-local offline from
Debian's packages. Tests that use it are skipped, with the reason, where no engine can start
(not root, no Debian packages). The engine, its containers and its folder go at the session's end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from asyncdb_lab.settings import REPO

POSTGRES_IMAGE = "asyncdb-lab/postgres:15-local"


@dataclass(frozen=True)
class DockerEngine:
    folder: Path

    @property
    def host(self) -> str:
        return f"unix://{self.folder}/docker.sock"

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """`base` (no ASYNCDB_LAB_ variables kept) pointed at this engine's docker backend."""
        env = {k: v for k, v in base.items() if not k.startswith("ASYNCDB_LAB_")}
        env.pop("TESTCONTAINERS_RYUK_DISABLED", None)  # Ryuk's image is absent: never pulled
        return env | {
            "DOCKER_HOST": self.host,
            "ASYNCDB_LAB_BACKEND": "docker",
            "ASYNCDB_LAB_DOCKER_IMAGE": POSTGRES_IMAGE,
            "ASYNCDB_LAB_QUIET": "1",
            "ASYNCDB_LAB_SHARED_SERVER": "0",
            "PYTHONWARNINGS": "ignore",
        }

    def docker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args],
            env=os.environ | {"DOCKER_HOST": self.host},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def containers(self) -> list[str]:
        """The ids of every container on this engine, running or not."""
        listed = self.docker("ps", "-aq")
        assert listed.returncode == 0, listed.stderr
        return listed.stdout.split()


def start_engine() -> tuple[DockerEngine | None, str]:
    """(the engine, "") or (None, why it cannot start here)."""
    if os.geteuid() != 0:
        return None, "starting a Docker engine needs root"
    folder = Path(tempfile.mkdtemp(prefix="adl-docker-", dir="/tmp"))
    setup = subprocess.run(
        ["bash", str(REPO / ".ci" / "docker" / "setup"), str(folder)],
        capture_output=True,
        text=True,
    )
    if setup.returncode != 0:
        stop_engine(folder)
        return None, f"no Docker engine here: {setup.stderr.strip()[-300:]}"
    return DockerEngine(folder), ""


def stop_engine(folder: Path) -> None:
    """Stop the engine (its containers with it) and remove its folder."""
    pid_file = folder / "docker.pid"
    if pid_file.exists():
        engine = DockerEngine(folder)
        ids = engine.containers() if engine.docker("info").returncode == 0 else []
        if ids:
            engine.docker("rm", "-f", *ids)
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    # exec/netns/default stays mounted after dockerd stops when a container used the host's
    # network (a `build.network: host` build, say).
    for mounted in ("data", "exec/netns/default"):
        subprocess.run(["umount", "-R", str(folder / mounted)], capture_output=True)
    subprocess.run(["rm", "-rf", str(folder)], check=False)
