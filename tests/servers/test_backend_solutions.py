"""The solutions of notebooks 00, 04 and 10, every test cell hidden ones included, on the backends
other than the tests' own embedded server (test_notebooks.py runs every solution there): Debian's
older PostgreSQL through the url backend as a CREATEDB-only role, and a PostgreSQL container
through the docker backend. Nothing is left on the server afterwards."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable

import pytest
from support.docker_engine import DockerEngine
from support.postgres import connected
from support.system_postgres import SystemServer

from asyncdb_lab.settings import REPO

pytestmark = pytest.mark.slow

NOTEBOOKS = ("00_start_here", "04_transactions_and_locking", "10_testing_async_code")
RUN_SOLUTION = """
import sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
notebook = nbformat.read(sys.argv[1], as_version=4)
try:
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
except CellExecutionError as error:
    sys.exit(str(error)[-3000:])
for cell in notebook.cells:
    for output in cell.get("outputs", []):
        print(output.get("text", ""), end="")
"""


def run_solution(notebook: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = REPO / "solutions" / notebook / f"{notebook}.ipynb"
    return subprocess.run(
        [sys.executable, "-c", RUN_SOLUTION, str(path)],
        env=env,
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )


def databases(admin_dsn: str) -> set[str]:
    async def fetch() -> set[str]:
        async with connected(admin_dsn) as conn:
            return {row[0] for row in await conn.fetch("SELECT datname FROM pg_database")}

    return asyncio.run(fetch())


@pytest.fixture(params=["url: Debian PostgreSQL, CREATEDB only", "docker"])
def backend(
    request: pytest.FixtureRequest, subprocess_env: dict[str, str]
) -> tuple[dict[str, str], Callable[[], object]]:
    """The environment a notebook's kernel gets, and what the server holds (compared after)."""
    if request.param == "docker":
        engine: DockerEngine = request.getfixturevalue("docker_engine")
        return engine.env(subprocess_env), engine.containers
    system: SystemServer = request.getfixturevalue("system_postgres")
    env = subprocess_env | {
        "ASYNCDB_LAB_BACKEND": "url",
        "ASYNCDB_LAB_DATABASE_URL": system.learner_dsn,
    }
    return env, lambda: databases(system.admin_dsn)


def test_a_demonstration_that_needs_a_newer_server_says_so_and_the_notebook_goes_on(
    system_postgres: SystemServer, subprocess_env: dict[str, str]
):
    if system_postgres.major >= 16:
        pytest.skip(f"Debian's PostgreSQL here is {system_postgres.major}, which has the setting")
    env = subprocess_env | {"ASYNCDB_LAB_DATABASE_URL": system_postgres.learner_dsn}
    run = run_solution("06_connection_pooling", env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "(reserved_connections needs PostgreSQL 16 or later" in run.stdout


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_the_solution_passes_every_test_and_leaves_nothing(
    notebook: str, backend: tuple[dict[str, str], Callable[[], object]]
):
    env, holdings = backend
    before = holdings()
    run = run_solution(notebook, env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert holdings() == before
