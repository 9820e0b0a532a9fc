"""The stop button stops the statement: interrupting a cell cancels its query on the server.

Why it needs help: ipykernel turns SIGINT during an async cell into a cancellation of the cell's
task, but its signal handler only queues that cancellation on the event loop (tornado's
add_callback, which from inside the loop is a plain call_soon) without waking the loop. While a
statement runs, the loop sleeps in epoll with nothing else to do until the server answers, so the
interrupt lands only when the statement ends, at the 15 s statement_timeout for a pg_sleep(30).

What this module does for an engine given to watch_interrupts() (every DisposableDatabase.engine),
with no IPython hook and nothing patched:

- while one of its statements runs on the main thread's loop, the loop wakes every WAKE_EVERY
  seconds, so a queued interrupt is acted on at once;
- when such a statement is cancelled because the kernel was interrupted, the server is told to
  cancel it too (pg_cancel_backend from a new connection: SQLAlchemy closes the cancelled
  connection, which also throws away asyncpg's own cancel request), and the cell ends with
  StatementInterrupted, which Jupyter shows as one line instead of the driver's frames.

Any other cancellation (asyncio.timeout, wait_for, a TaskGroup) is left exactly as it was.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import ExceptionContext
    from sqlalchemy.ext.asyncio import AsyncEngine

# How often the loop wakes while a statement runs: the longest an interrupt waits to be seen.
WAKE_EVERY = 0.1
# Longest shown part of the interrupted statement.
STATEMENT_CHARS = 60

# Statements running on each loop (their execution contexts), and server-side cancels under way.
_running: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakSet[Any]] = (
    weakref.WeakKeyDictionary()
)
_cancels: set[asyncio.Task[None]] = set()


class StatementInterrupted(asyncio.CancelledError):
    """The cell was interrupted while this statement ran; it was cancelled on the server too.

    Still a CancelledError, so the interrupt goes through `except Exception` and gather() as any
    cancellation does; Jupyter shows it as its one-line message, without a traceback.
    """

    def __init__(self, statement: str) -> None:
        super().__init__(
            "Interrupted: the statement running on the database was cancelled "
            f"({shorten(statement)})."
        )

    def _render_traceback_(self) -> list[str]:
        # IPython's protocol for an exception that formats itself (ipyparallel's remote errors).
        return [str(self)]


def watch_interrupts(engine: AsyncEngine, dsn: str) -> None:
    """Make interrupting a cell cancel `engine`'s running statement on the server at `dsn`."""
    from sqlalchemy import event

    watch = _InterruptWatch(dsn)
    sync_engine = engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", watch.statement_started)
    event.listen(sync_engine, "after_cursor_execute", watch.statement_ended)
    event.listen(sync_engine, "handle_error", watch.statement_failed)


class _InterruptWatch:
    """The event listeners of one engine."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def statement_started(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        loop = _main_thread_loop()
        if loop is not None and context is not None:
            _keep_awake_while_running(loop, context)

    def statement_ended(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        _forget(context)

    def statement_failed(self, error: ExceptionContext) -> BaseException | None:
        _forget(error.execution_context)
        cancelled = error.original_exception
        if not isinstance(cancelled, asyncio.CancelledError) or not kernel_interrupted():
            return None
        pid = _backend_pid(error)
        if pid is not None:
            _cancel_on_server(self.dsn, pid)
        return StatementInterrupted(error.statement or "")


def kernel_interrupted() -> bool:
    """Whether the Jupyter kernel running the current cell was interrupted (the stop button).

    ipykernel's SIGINT handler for an async cell sets a future, `sigint_future`, that then
    cancels the cell; it is read here, never changed. Outside such a cell: False.
    """
    handler = signal.getsignal(signal.SIGINT)
    code = getattr(handler, "__code__", None)
    closure = getattr(handler, "__closure__", None)
    if code is None or not closure or "sigint_future" not in code.co_freevars:
        return False
    future = closure[code.co_freevars.index("sigint_future")].cell_contents
    return isinstance(future, asyncio.Future) and future.done() and not future.cancelled()


def shorten(statement: str) -> str:
    """A statement on one line, at most STATEMENT_CHARS characters."""
    text = " ".join(statement.split())
    return text if len(text) <= STATEMENT_CHARS else text[: STATEMENT_CHARS - 1] + "…"


def _main_thread_loop() -> asyncio.AbstractEventLoop | None:
    # Signal handlers run on the main thread only: another thread's loop never queues one.
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _keep_awake_while_running(loop: asyncio.AbstractEventLoop, context: Any) -> None:
    running = _running.get(loop)
    if running is None:
        running = _running[loop] = weakref.WeakSet()
        loop.call_later(WAKE_EVERY, _wake, loop)
    running.add(context)


def _wake(loop: asyncio.AbstractEventLoop) -> None:
    """Nothing but waking up (callbacks queued meanwhile then run); again while statements run."""
    if _running.get(loop):
        loop.call_later(WAKE_EVERY, _wake, loop)
    else:
        _running.pop(loop, None)


def _forget(context: Any) -> None:
    if context is None or threading.current_thread() is not threading.main_thread():
        return
    for running in list(_running.values()):
        running.discard(context)


def _backend_pid(error: ExceptionContext) -> int | None:
    """The server process of the connection whose statement was cancelled."""
    try:
        driver: Any = error.connection.connection.driver_connection  # type: ignore[union-attr]
        return int(driver.get_server_pid())
    except Exception:
        return None


def _cancel_on_server(dsn: str, pid: int) -> None:
    """Cancel backend `pid`'s statement from a connection of its own, on a task of its own.

    Not awaited where the cancellation is being handled: the cell's task is going away, the
    kernel's loop is not, and the cell's reply need not wait for it.
    """
    task = asyncio.get_running_loop().create_task(_cancel_backend(dsn, pid))
    _cancels.add(task)
    task.add_done_callback(_cancels.discard)


async def _cancel_backend(dsn: str, pid: int) -> None:
    import asyncpg

    try:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute("SELECT pg_cancel_backend($1)", pid)
        finally:
            await conn.close()
    except Exception:
        # The statement still ends: SQLAlchemy closed its connection, which the server notices
        # within client_connection_check_interval (1 s).
        pass
