"""The stop button stops the statement (issue 13): interrupting a notebook cell that waits for
the notebook's database cancels the statement on the server at once, says so in one line, and
leaves the engine working for the next cell. The same for a cell timeout in `asyncdb-lab check`.
"""

from __future__ import annotations

import asyncio
import os
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import psycopg
import pytest
from jupyter_client.manager import KernelManager
from sqlalchemy import text

from asyncdb_lab.databases import DisposableDatabase
from asyncdb_lab.interrupts import StatementInterrupted
from asyncdb_lab.learner.execute import run_notebook

# Each statement turns its statement_timeout off and would run for 300 s or more: a cell that
# ends, and statements gone from the server, within a minute of the stop button were stopped by
# it. How soon (the issue asked for 2 s) is measured by benchmarks/learner.py, not asserted here.
WITHIN_SECONDS = 60
CELL_LIMIT_SECONDS = 15

SETUP = """\
import asyncio, time
from sqlalchemy import text
from asyncdb_lab import disposable_database
db = await disposable_database(seed=True)
"""
SLEEPING = (
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
    "AND query LIKE '%pg_sleep(30_)%' AND pid <> pg_backend_pid()"
)
SLEEP = """\
async with db.engine.connect() as conn:
    await conn.execute(text("SET LOCAL statement_timeout = 0"))
    await conn.execute(text("SELECT pg_sleep(300)"))
"""
# Prints how many pg_sleep statements still run on the server once they had a minute to stop,
# then whether the engine answers a query.
AFTERWARDS = f"""\
ACTIVE = text({SLEEPING!r})
deadline = time.monotonic() + {WITHIN_SECONDS}
async with db.engine.connect() as conn:
    while (running := await conn.scalar(ACTIVE)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    print(running, await conn.scalar(text("SELECT count(*) FROM users")))
"""


@dataclass
class CellResult:
    reply: dict[str, Any]
    errors: list[dict[str, Any]]
    stdout: str


class Kernel:
    """A python3 kernel, as JupyterLab starts one for a course notebook."""

    def __init__(self, manager: KernelManager) -> None:
        self.manager = manager
        self.client = manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.dsn = ""  # the notebook's database, once its setup cell ran

    def run(self, code: str, interrupt_when_sleeping: int = 0) -> CellResult:
        """Execute `code`; press the stop button once that many of its pg_sleep statements run.

        Waiting for the statements, not for a fixed time, makes sure the stop button interrupts
        a statement in progress however busy the machine is.
        """
        msg_id = self.client.execute(code)
        deadline = time.monotonic() + 2 * WITHIN_SECONDS
        interrupted = not interrupt_when_sleeping
        errors: list[dict[str, Any]] = []
        stdout: list[str] = []
        while True:
            assert time.monotonic() < deadline, "the cell did not finish"
            if not interrupted and self.sleeping() >= interrupt_when_sleeping:
                self.manager.interrupt_kernel()
                interrupted = True
            try:
                msg = self.client.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "error":
                errors.append(content)
            elif kind == "stream" and content["name"] == "stdout":
                stdout.append(content["text"])
            elif kind == "status" and content["execution_state"] == "idle":
                break
        reply = self._reply(msg_id)
        return CellResult(reply, errors, "".join(stdout))

    def sleeping(self) -> int:
        """How many pg_sleep statements run on the notebook's database (seen from outside)."""
        with psycopg.connect(self.dsn, connect_timeout=30) as connection:
            row = connection.execute(SLEEPING).fetchone()
        assert row is not None
        return int(row[0])

    def _reply(self, msg_id: str) -> dict[str, Any]:
        while True:
            msg = self.client.get_shell_msg(timeout=10)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    env = {**os.environ, "ASYNCDB_LAB_QUIET": "1"}
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=env, extra_arguments=["--HistoryManager.hist_file=:memory:"])
    try:
        kernel = Kernel(manager)
        setup = kernel.run(SETUP + "print(db.dsn)")
        assert setup.reply["status"] == "ok", setup.errors
        kernel.dsn = setup.stdout.strip().replace("postgresql+asyncpg://", "postgresql://")
        yield kernel
        kernel.client.stop_channels()
    finally:
        manager.shutdown_kernel(now=False)


def assert_stopped_in_one_line(cell: CellResult, statement: str) -> None:
    assert cell.reply["status"] == "error", cell
    [error] = cell.errors
    assert error["ename"] == "StatementInterrupted"
    assert error["traceback"] == [
        f"Interrupted: the statement running on the database was cancelled ({statement})."
    ]


def assert_server_idle_and_engine_works(kernel: Kernel) -> None:
    after = kernel.run(AFTERWARDS)
    assert after.reply["status"] == "ok", after.errors
    assert after.stdout.split() == ["0", "1000"]


def test_interrupting_a_statement_cancels_it_on_the_server(kernel: Kernel) -> None:
    cell = kernel.run(SLEEP, interrupt_when_sleeping=1)

    assert_stopped_in_one_line(cell, "SELECT pg_sleep(300)")
    assert_server_idle_and_engine_works(kernel)


def test_interrupting_gathered_session_and_raw_statements_cancels_them_all(kernel: Kernel) -> None:
    cell = kernel.run(
        "async def raw(seconds):\n"
        "    async with db.engine.connect() as conn:\n"
        '        await conn.exec_driver_sql("SET LOCAL statement_timeout = 0")\n'
        '        await conn.exec_driver_sql(f"SELECT pg_sleep({seconds})")\n'
        "async def orm():\n"
        "    async with db.session_factory() as session:\n"
        '        await session.execute(text("SET LOCAL statement_timeout = 0"))\n'
        '        await session.execute(text("SELECT pg_sleep(301)"))\n'
        "await asyncio.gather(orm(), raw(302), raw(303))",
        interrupt_when_sleeping=3,
    )

    [error] = cell.errors
    assert error["ename"] == "StatementInterrupted"
    [line] = error["traceback"]
    assert line.startswith("Interrupted: the statement running on the database was cancelled")
    assert_server_idle_and_engine_works(kernel)


@pytest.mark.asyncio
async def test_other_cancellations_stay_as_asyncio_makes_them(
    seeded_database: DisposableDatabase,
) -> None:
    # Outside an interrupted cell, a timeout around a statement is still a TimeoutError.
    async with seeded_database.engine.connect() as conn:
        with pytest.raises(TimeoutError) as raised:
            async with asyncio.timeout(0.2):
                await conn.execute(text("SELECT pg_sleep(5)"))
    assert not isinstance(raised.value.__context__, StatementInterrupted)
    async with seeded_database.engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1


def test_check_stops_the_statement_of_a_cell_past_its_timeout(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(SLEEP),
        # Runs once the cell before has ended at its time limit, long before the statement would.
        nbformat.v4.new_code_cell(AFTERWARDS + "assert running == 0"),
    ]

    # A limit far above what the setup cell takes on a busy machine, far below the 300 s sleep.
    run = run_notebook(notebook, tmp_path, timeout=CELL_LIMIT_SECONDS)

    assert run.cells[1].outcome == "error"
    assert run.cells[1].evalue == (
        f"the cell was stopped after {CELL_LIMIT_SECONDS} s, the time limit of one cell"
    )
    assert run.cells[2].outcome == "ok", run.cells[2]
