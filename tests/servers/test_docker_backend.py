"""The docker backend for real: a private Docker engine and a PostgreSQL image built offline
(tests/support/docker_engine.py), a seeded database, and no container left after kill -9 once
`asyncdb-lab cleanup` or the next start has run. Skipped, with the reason, where no engine can
start (not root, no Debian packages)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.docker_engine import DockerEngine

pytestmark = pytest.mark.slow

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


@pytest.fixture
def docker_env(docker_engine: DockerEngine) -> dict[str, str]:
    return docker_engine.env(dict(os.environ))


def containers(env: dict[str, str]) -> list[str]:
    return DockerEngine(Path(env["DOCKER_HOST"].removeprefix("unix://")).parent).containers()


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
