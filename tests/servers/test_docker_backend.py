"""The docker backend for real (WIP, issue 14): a private Docker engine and a PostgreSQL image
built offline (.ci/docker/setup), a seeded database, and no container left after kill -9 once
`asyncdb-lab cleanup` or the next start has run. Skipped, with the reason, where no engine can
start (not root, no Debian packages)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncdb_lab.settings import REPO

pytestmark = pytest.mark.slow

IMAGE = "asyncdb-lab/postgres:15-local"
CHILD = """
import asyncio, os, sys
from sqlalchemy import text
from asyncdb_lab import disposable_database

async def main():
    db = await disposable_database(seed=True)
    async with db.engine.connect() as conn:
        users = (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one()
    print(users, db.server.version.split()[0], flush=True)
    if sys.argv[1] == "kill":
        os.kill(os.getpid(), 9)

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def docker_env() -> Iterator[dict[str, str]]:
    if os.geteuid() != 0:
        pytest.skip("starting a Docker engine needs root")
    folder = Path(tempfile.mkdtemp(prefix="adl-docker-", dir="/tmp"))
    setup = subprocess.run(
        ["bash", str(REPO / ".ci" / "docker" / "setup"), str(folder)],
        capture_output=True,
        text=True,
    )
    try:
        if setup.returncode != 0:
            pytest.skip(f"no Docker engine here: {setup.stderr.strip()[-300:]}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCDB_LAB_")}
        env |= {
            "DOCKER_HOST": f"unix://{folder}/docker.sock",
            "ASYNCDB_LAB_BACKEND": "docker",
            "ASYNCDB_LAB_DOCKER_IMAGE": IMAGE,
            "ASYNCDB_LAB_QUIET": "1",
            "ASYNCDB_LAB_SHARED_SERVER": "0",
            "PYTHONWARNINGS": "ignore",
        }
        env.pop("TESTCONTAINERS_RYUK_DISABLED", None)  # Ryuk's image is absent: not pulled
        yield env
    finally:
        _stop_engine(folder)


def _stop_engine(folder: Path) -> None:
    pid_file = folder / "docker.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
    subprocess.run(["umount", "-R", str(folder / "data")], capture_output=True)
    subprocess.run(["rm", "-rf", str(folder)], check=False)


def containers(env: dict[str, str]) -> list[str]:
    listed = subprocess.run(
        ["docker", "ps", "-aq"], env=env, capture_output=True, text=True, check=True
    )
    return listed.stdout.split()


def child(env: dict[str, str], mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, mode], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_seeded_database_in_a_container_that_goes_with_its_process(docker_env):
    run = child(docker_env, "exit")
    assert run.returncode == 0, run.stderr
    users, version = run.stdout.split()
    assert users == "1000" and version.startswith("15."), run.stdout
    assert containers(docker_env) == []


def test_after_kill_9_cleanup_removes_the_container_and_says_so(docker_env):
    run = child(docker_env, "kill")
    assert run.returncode == -9 and run.stdout.startswith("1000"), run.stderr
    (left,) = containers(docker_env)
    cleanup = subprocess.run(
        [sys.executable, "-m", "asyncdb_lab.cli", "cleanup"],
        env=docker_env,
        capture_output=True,
        text=True,
    )
    assert f"Removed orphaned container {left[:10]}" in cleanup.stdout, cleanup.stdout
    assert containers(docker_env) == []


def test_after_kill_9_the_next_start_removes_the_container(docker_env):
    assert child(docker_env, "kill").returncode == -9
    assert len(containers(docker_env)) == 1
    assert child(docker_env, "exit").returncode == 0
    assert containers(docker_env) == []
