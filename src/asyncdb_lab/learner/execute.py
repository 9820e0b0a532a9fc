"""Run a notebook top to bottom on a fresh python3 kernel, in memory, and record each code cell's
outcome. The notebook object is executed, never a file: the learner's notebook is not touched.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import nbformat

from asyncdb_lab.course.notebook import FAILED
from asyncdb_lab.course.verdict import cell_verdict, stderr_text
from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.pid_folders import socket_folder, socket_folder_parents, sweep
from asyncdb_lab.settings import RUN_BY_ENV

if TYPE_CHECKING:
    from nbclient import NotebookClient

CELL_TIMEOUT_SECONDS = 60
# A kernel that dies before its first reply (seen on a machine under heavy load) is started
# afresh, up to this many times in all: the learner's notebook is not at fault.
KERNEL_START_ATTEMPTS = 2
# After Ctrl-C: how long the kernel (and the PostgreSQL it started) gets to be shut down.
STOP_SECONDS = 15
TIMEOUT_ERROR = "CellTimeoutError"
# The kernel's sockets and connection file: a folder named after this process (pid_folders.py).
KERNEL_FOLDER_PREFIX = "asyncdb-lab-check-kernel-"

Outcome = Literal["ok", "error", "not_run"]


@dataclass(frozen=True)
class CellRun:
    """How one code cell went: ok, error (it raised, by course/verdict.py's rule: the exception's
    name and message), or not_run (the kernel died before reaching it). `stderr` is what it wrote
    to stderr, which does not make it an error."""

    index: int
    outcome: Outcome
    ename: str = ""
    evalue: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class NotebookRun:
    cells: dict[int, CellRun]
    seconds: float
    kernel_died: bool = False
    kernel_log: str = ""


def run_notebook(
    notebook: nbformat.NotebookNode, cwd: Path, *, timeout: int = CELL_TIMEOUT_SECONDS
) -> NotebookRun:
    """Execute every code cell of (a copy of) `notebook` with `cwd` as the kernel's folder.

    A cell that raises does not stop the run, as when nbgrader grades. A cell that runs longer
    than `timeout` seconds is interrupted and recorded as a CellTimeoutError. Ctrl-C shuts the
    kernel down, then raises KeyboardInterrupt.
    """
    for _ in range(KERNEL_START_ATTEMPTS - 1):
        with contextlib.suppress(_KernelDidNotStart):
            return _run_once(notebook, cwd, timeout)
    try:
        return _run_once(notebook, cwd, timeout)
    except _KernelDidNotStart as error:
        raise AsyncDbLabError(
            f"Could not start a python3 kernel to run the notebook: {error}"
        ) from None


class _KernelDidNotStart(Exception):
    pass


def _run_once(notebook: nbformat.NotebookNode, cwd: Path, timeout: int) -> NotebookRun:
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    notebook = copy.deepcopy(notebook)
    replies: dict[int, dict[str, Any]] = {}

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        replies[cell_index] = execute_reply.get("content", {})

    started = time.perf_counter()
    kernel_died = False
    # The kernel's own stdout and stderr (its start-up warnings, a crash) go to a log rather
    # than the learner's terminal; what the cells print is in their outputs.
    for parent in socket_folder_parents():
        sweep(parent, KERNEL_FOLDER_PREFIX)
    with (
        _removed_after(socket_folder(KERNEL_FOLDER_PREFIX)) as sockets,
        tempfile.TemporaryFile("w+") as log,
    ):
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": TIMEOUT_ERROR,
                "evalue": f"the cell was stopped after {timeout} s, the time limit of one cell",
                "traceback": [],
            },
            record_timing=False,
            resources={"metadata": {"path": str(cwd)}},
            # Keep the learner's IPython history out of it, as nbgrader does.
            extra_arguments=["--HistoryManager.hist_file=:memory:"],
            on_cell_executed=on_cell_executed,
            config=_unix_sockets_in(sockets),
        )
        try:
            _execute(client, log)
        except DeadKernelError:
            kernel_died = True
        except RuntimeError as error:
            # nbclient raises a bare RuntimeError when the kernel cannot start at all.
            raise _KernelDidNotStart(str(error)) from error
        log.seek(0)
        kernel_log = log.read()[-2000:]
    seconds = time.perf_counter() - started
    cells = {
        index: _cell_run(index, cell, replies.get(index))
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
    }
    return NotebookRun(cells, seconds, kernel_died, kernel_log if kernel_died else "")


@contextlib.contextmanager
def _removed_after(folder: Path) -> Iterator[Path]:
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unix_sockets_in(folder: Path) -> Any:
    """Kernel channels on Unix sockets in `folder`: TCP ports picked free can be taken by another
    process before the kernel binds them (then it dies at start-up), which files cannot. The
    connection file goes there too (jupyter_client would make it in /tmp, and leave it there when
    the kernel dies starting), so that removing the folder removes everything."""
    from traitlets.config import Config

    return Config(
        {
            "KernelManager": {
                "transport": "ipc",
                "ip": str(folder / "kernel"),
                "connection_file": str(folder / "kernel.json"),
            }
        }
    )


def _execute(client: NotebookClient, log: IO[str]) -> None:
    """client.execute(), on an event loop of its own in a worker thread, so that Ctrl-C reaches
    this (main) thread rather than nbclient's insides: the kernel is then stopped (_stop) and
    KeyboardInterrupt raised here, with no traceback from nbclient."""
    loop = asyncio.new_event_loop()
    # The notebook's last cell (learner/in_lab.py) sees it is run by check, and skips itself.
    env = {**os.environ, RUN_BY_ENV: "check"}
    task = loop.create_task(client.async_execute(stdout=log, stderr=log, env=env))
    failures: list[BaseException] = []

    def work() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(task)
        except BaseException as error:  # handed to the main thread
            failures.append(error)
        finally:
            loop.close()

    worker = threading.Thread(target=work, name="asyncdb-lab-notebook", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        _stop(client, task, worker)
        raise KeyboardInterrupt from None
    if failures and not isinstance(failures[0], asyncio.CancelledError):
        raise failures[0]


def _stop(client: NotebookClient, task: asyncio.Task[Any], worker: threading.Thread) -> None:
    """Kill the kernel's process group (its PostgreSQL goes with it) and wait for the run to end:
    nbclient finds the kernel dead and cleans up once. A second Ctrl-C is ignored meanwhile, so
    that nothing is left behind."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        kernel = _kernel_pid(client)
        if kernel is None:  # still starting: cancel the run, nbclient stops what it started
            task.get_loop().call_soon_threadsafe(task.cancel)
        else:
            with contextlib.suppress(OSError):
                os.killpg(kernel, signal.SIGKILL)  # jupyter_client starts it in a new session
        worker.join(STOP_SECONDS)
    except RuntimeError:
        pass  # the loop closed meanwhile: the run had just ended
    finally:
        # The kernel is gone; nbclient's clean-up at exit would only fail on the closed loop.
        atexit.unregister(client._cleanup_kernel)
        signal.signal(signal.SIGINT, previous)


def _kernel_pid(client: NotebookClient) -> int | None:
    process = getattr(getattr(client.km, "provisioner", None), "process", None)
    return getattr(process, "pid", None)


def _cell_run(index: int, cell: nbformat.NotebookNode, reply: dict[str, Any] | None) -> CellRun:
    if reply is None:
        return CellRun(index, "not_run")
    outputs = cell.get("outputs", [])
    stderr = stderr_text(outputs)
    if cell_verdict(outputs, reply) == FAILED:  # the rule grading applies too
        source: Any = reply
        if reply.get("status") != "error":  # an error output, though the cell went on
            source = next(o for o in outputs if o.get("output_type") == "error")
        ename, evalue = str(source.get("ename", "")), str(source.get("evalue", ""))
        return CellRun(index, "error", ename, evalue, stderr)
    return CellRun(index, "ok", stderr=stderr)
