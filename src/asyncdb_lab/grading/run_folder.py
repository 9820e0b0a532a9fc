"""A grade run's temporary folder (swept after a kill -9), and its signals: Ctrl-C and SIGTERM
wait for the clean-up to finish.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from asyncdb_lab.pid_folders import name_prefix, sweep

RUN_DIR_PREFIX = "asyncdb-lab-grade-"
# A kernel's socket folder, named after the grading worker that made it (grading/kernel.py).
IPC_FOLDER_PREFIX = "asyncdb-lab-kernel-ipc-"


@contextlib.contextmanager
def temporary_run_dir() -> Iterator[Path]:
    base = Path(tempfile.gettempdir())
    sweep_orphan_run_dirs(base)
    run_dir = base / f"{name_prefix(RUN_DIR_PREFIX)}{secrets.token_hex(3)}"
    run_dir.mkdir(mode=0o700)
    try:
        yield run_dir
    finally:
        with shielded():
            shutil.rmtree(run_dir, ignore_errors=True)


def sweep_orphan_run_dirs(base: Path) -> None:
    """Folders of grade runs that were killed (kill -9), and of their kernels' sockets (in /tmp
    when the run's folder has too long a path): their owner process is gone."""
    sweep(base, RUN_DIR_PREFIX)
    sweep(base, IPC_FOLDER_PREFIX)
    if Path("/tmp") != base:
        sweep(Path("/tmp"), IPC_FOLDER_PREFIX)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (then interrupt as usual)."""
    received: list[int] = []

    def remember(signum: int, frame: object) -> None:
        received.append(signum)

    try:
        previous = {s: signal.signal(s, remember) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM cleans up like Ctrl-C does."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
