"""Shared fixtures: databases from the course's own disposable PostgreSQL."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from support.docker_engine import DockerEngine, start_engine, stop_engine
from support.system_postgres import SystemServer, start_system_server

from asyncdb_lab.databases import DisposableDatabase, disposable_database

# Tests speak through assertions, not through the library's friendly progress lines.
os.environ.setdefault("ASYNCDB_LAB_QUIET", "1")
# Tests count a server's processes and folders: each test process gets a private server, not one
# shared with other test runs on the machine (tests/servers/test_shared_server.py opts back in).
os.environ.setdefault("ASYNCDB_LAB_SHARED_SERVER", "0")
# Tests press Ctrl-C in the commands they start, as a terminal would. Started in the background by
# a shell (`make test &`, nohup, some CI runners), this process and every child it starts would
# ignore SIGINT: an ignored signal stays ignored across exec, a handled one is reset to default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest_asyncio.fixture
async def empty_database_dsn() -> AsyncIterator[str]:
    """A plain `postgresql://…` DSN to a new, empty database, dropped after the test."""
    async with disposable_database(label="test_empty") as db:
        yield db.dsn


@pytest_asyncio.fixture
async def seeded_database() -> AsyncIterator[DisposableDatabase]:
    """A fresh database with the course tables and seed data, dropped after the test."""
    async with disposable_database(seed=True, label="test_seed") as db:
        yield db


@pytest.fixture
def subprocess_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a child Python that uses the library: quiet, same cache, no inherited URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCDB_LAB_")}
    env["ASYNCDB_LAB_QUIET"] = "1"
    env["ASYNCDB_LAB_SHARED_SERVER"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    yield env


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    """A private Docker engine with a local PostgreSQL image (see support/docker_engine.py)."""
    engine, why_not = start_engine()
    if engine is None:
        pytest.skip(why_not)
    try:
        yield engine
    finally:
        stop_engine(engine.folder)


@pytest.fixture(scope="session")
def system_postgres() -> Iterator[SystemServer]:
    """Debian's PostgreSQL (an older major), fsync on, with a CREATEDB-only learner role."""
    server, why_not = start_system_server()
    if server is None:
        pytest.skip(why_not)
    try:
        yield server
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """`make mutants`: how many wrong answers the hidden tests catch, per exercise."""
    import sys

    module = sys.modules.get("test_mutants") or sys.modules.get("course.test_mutants")
    outcomes = getattr(module, "OUTCOMES", None)
    if outcomes:
        from support.mutants import table

        terminalreporter.section("wrong-answer suite (tests/wrong_answers/)")
        terminalreporter.write_line(table(outcomes))
