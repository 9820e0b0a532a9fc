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
import pytest
from jupyter_client.manager import KernelManager
from sqlalchemy import text

from asyncdb_lab.databases import DisposableDatabase
from asyncdb_lab.interrupts import StatementInterrupted
from asyncdb_lab.learner.execute import run_notebook

# The bounds: the reply within 2 s of the interrupt, the server's statement within 1 s.
REPLY_SECONDS = 2.0
SERVER_SECONDS = 1.0

SETUP = """\
import asyncio, time
from sqlalchemy import text
from asyncdb_lab import disposable_database
db = await disposable_database(seed=True)
"""
SLEEP = """\
async with db.engine.connect() as conn:
    await conn.execute(text("SELECT pg_sleep(30)"))
"""
# Prints how many pg_sleep statements still run on the server once they had a second to stop,
# then whether the engine answers a query.
AFTERWARDS = f"""\
ACTIVE = text(
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
    "AND query LIKE '%pg_sleep(3_)%' AND pid <> pg_backend_pid()"
)
deadline = time.monotonic() + {SERVER_SECONDS}
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
    seconds_after_interrupt: float


class Kernel:
    """A python3 kernel, as JupyterLab starts one for a course notebook."""

    def __init__(self, manager: KernelManager) -> None:
        self.manager = manager
        self.client = manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, interrupt_after: float | None = None) -> CellResult:
        """Execute `code`; press the stop button `interrupt_after` seconds in, if given."""
        msg_id = self.client.execute(code)
        started = time.monotonic()
        interrupted: float | None = None
        errors: list[dict[str, Any]] = []
        stdout: list[str] = []
        while True:
            waited = time.monotonic() - started
            if interrupt_after is not None and interrupted is None and waited > interrupt_after:
                self.manager.interrupt_kernel()
                interrupted = time.monotonic()
            assert waited < 60, "the cell did not finish"
            try:
                msg = self.client.get_iopub_msg(timeout=0.05)
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
        ended = time.monotonic()
        reply = self._reply(msg_id)
        after = ended - interrupted if interrupted is not None else 0.0
        return CellResult(reply, errors, "".join(stdout), after)

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
        setup = kernel.run(SETUP)
        assert setup.reply["status"] == "ok", setup.errors
        yield kernel
        kernel.client.stop_channels()
    finally:
        manager.shutdown_kernel(now=False)


def assert_stopped_in_one_line(cell: CellResult, statement: str) -> None:
    assert cell.seconds_after_interrupt < REPLY_SECONDS
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
    cell = kernel.run(SLEEP, interrupt_after=1)

    assert_stopped_in_one_line(cell, "SELECT pg_sleep(30)")
    assert_server_idle_and_engine_works(kernel)


def test_interrupting_gathered_session_and_raw_statements_cancels_them_all(kernel: Kernel) -> None:
    cell = kernel.run(
        "async def raw(seconds):\n"
        "    async with db.engine.connect() as conn:\n"
        '        await conn.exec_driver_sql(f"SELECT pg_sleep({seconds})")\n'
        "async def orm():\n"
        "    async with db.session_factory() as session:\n"
        '        await session.execute(text("SELECT pg_sleep(31)"))\n'
        "await asyncio.gather(orm(), raw(32), raw(33))",
        interrupt_after=1,
    )

    assert cell.seconds_after_interrupt < REPLY_SECONDS
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
        nbformat.v4.new_code_cell(SETUP + "started = time.monotonic()"),
        nbformat.v4.new_code_cell(SLEEP),
        # Runs once the cell before has ended: at once, not at the 15 s statement_timeout.
        nbformat.v4.new_code_cell(
            AFTERWARDS + "assert running == 0\nassert time.monotonic() - started < 3 + 2"
        ),
    ]

    run = run_notebook(notebook, tmp_path, timeout=3)

    assert run.cells[1].outcome == "error"
    assert run.cells[1].evalue == "the cell was stopped after 3 s, the time limit of one cell"
    assert run.cells[2].outcome == "ok", run.cells[2]
