"""The last cell of every notebook: `asyncdb-lab check` of the saved notebook, inside JupyterLab.

    from asyncdb_lab.learner.in_lab import check_this_notebook

    check_this_notebook()

It runs `asyncdb-lab check <this notebook's file>` in a child process (the kernel's own Python)
and copies its report into the cell's output as it comes: the same report, the same saved result
for `asyncdb-lab progress`. Which file: the one JupyterLab names in the kernel's environment
(JPY_SESSION_NAME), else the notebook named after the kernel's folder (workspace/<topic>/).

When `asyncdb-lab check` or the grader runs the notebook, its kernel has RUN_BY_ENV set and the
cell only says it is skipped: a check inside a check would run the notebook again, and a graded
kernel has no course commands to run. Nothing here touches IPython; the cell binds one name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from asyncdb_lab.settings import RUN_BY_ENV

JUPYTER_SESSION_ENV = "JPY_SESSION_NAME"
# A save older than this is worth a reminder: the check reads the file, not the open notebook.
STALE_SAVE_SECONDS = 60
STOP_SECONDS = 20


def check_this_notebook() -> None:
    """Check the saved copy of this notebook and print the report (nothing to await)."""
    runner = os.environ.get(RUN_BY_ENV, "")
    if runner:
        print(
            f"Skipped: `asyncdb-lab {runner}` is running this notebook, so it does not check "
            "itself."
        )
        return
    path = this_notebook(Path.cwd(), os.environ)
    if path is None:
        print(
            f"Cannot tell which notebook this is (no {Path.cwd().name}.ipynb in "
            f"{Path.cwd()}): run `asyncdb-lab check NOTEBOOK` in a terminal instead."
        )
        return
    reminder = save_reminder(path, time.time())
    if reminder:
        print(reminder)
    _run_check(path)


def this_notebook(cwd: Path, environ: Mapping[str, str]) -> Path | None:
    """The notebook file this kernel runs for: JupyterLab's session name, else <folder>.ipynb,
    else the folder's only notebook."""
    candidates = []
    session = environ.get(JUPYTER_SESSION_ENV, "")
    if session.endswith(".ipynb"):
        named = Path(session)
        # An absolute path, or one relative to JupyterLab's root: the kernel runs in its folder.
        candidates += [named, cwd / named.name] if named.is_absolute() else [cwd / named.name]
    candidates.append(cwd / f"{cwd.name}.ipynb")
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    notebooks = sorted(cwd.glob("*.ipynb"))
    return notebooks[0].resolve() if len(notebooks) == 1 else None


def save_reminder(path: Path, now: float) -> str:
    """One line when the file was saved a while ago (the check reads the file), else ""."""
    age = now - path.stat().st_mtime
    if age < STALE_SAVE_SECONDS:
        return ""
    return (
        f"{path.name} was last saved {_duration(age)} ago: if you changed it since, save "
        f"(Ctrl+S) and run this cell again, since the check reads the saved file."
    )


def check_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "asyncdb_lab.cli", "check", str(path)]


def _run_check(path: Path) -> None:
    """Run the check, copying its output line by line; an interrupt stops it with one line."""
    process = subprocess.Popen(
        check_command(path),
        cwd=path.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            print(line, end="", flush=True)
        process.wait()
    except KeyboardInterrupt:
        # JupyterLab's interrupt reaches the check too when it signals the kernel's process group.
        _stop(process)
        print("\nStopped the check: nothing was saved.")


def _stop(process: subprocess.Popen[str]) -> None:
    """Let the check stop its kernel and database: it had the interrupt, or is sent one now."""
    for signal_to_send, wait in (
        (None, 1.0),
        (signal.SIGINT, STOP_SECONDS),
        (signal.SIGKILL, None),
    ):
        if signal_to_send is not None:
            process.send_signal(signal_to_send)
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = round(minutes / 60)
    return f"{hours} h" if hours < 48 else f"{round(hours / 24)} days"
