"""How long does a learner wait? The three waits issue 13 sets targets for.

  second setup   the setup cell of a second notebook, while the first notebook's kernel is
                 still open (target ≤ 0.1 s: as fast as cloning a template database);
  check 00       `asyncdb-lab check 00` on a solved notebook 00, wall clock (target ≤ 2 s), alone
                 and while a notebook's kernel is open (as in JupyterLab: the shared server runs);
  stop button    interrupting a cell whose statement runs on the server: until the cell's reply
                 (target ≤ 2 s) and until the statement is gone from the server (≤ 1 s);
                 tests/learner/test_interrupt.py proves that it stops, this measures how soon;
  install        a fresh virtual environment and `pip install` of the course at the pinned
                 versions, the part of a first `make lab` that depends on the network and the
                 machine (target for the whole first `make lab`: ≤ 90 s). Only with --install.

Each figure is the median of --runs runs in one invocation; the load average is printed first,
because a busy machine makes every figure larger. This is a measurement, not a test: the exit
code is 0 whether or not a target is met.

Usage: python benchmarks/learner.py [--runs N] [--install]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager

from asyncdb_lab.learner.workspace import LAB_DATA_DIR

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SOLUTIONS = REPO / "solutions"
SETUP_CELL_ID = "setup-database"


def setup_source(topic: str) -> str:
    notebook = nbformat.read(NOTEBOOKS / topic / f"{topic}.ipynb", as_version=4)
    return next(cell.source for cell in notebook.cells if cell.get("id") == SETUP_CELL_ID)


def run_timed(kernel: KernelManager, source: str, timeout: float = 120) -> float:
    """Seconds the kernel took to run `source`, measured inside the kernel."""
    client = kernel.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        timed = (
            "import time as __t; __started = __t.perf_counter()\n"
            f"{source}\n"
            "print(f'SECONDS {__t.perf_counter() - __started:.4f}')"
        )
        seconds: float | None = None

        def on_output(message: dict) -> None:
            nonlocal seconds
            text = message["content"].get("text", "")
            for line in text.splitlines():
                if line.startswith("SECONDS "):
                    seconds = float(line.split()[1])

        reply = client.execute_interactive(timed, timeout=timeout, output_hook=on_output)
        if reply["content"]["status"] != "ok" or seconds is None:
            raise RuntimeError(f"the setup cell failed: {reply['content'].get('evalue', '')}")
        return seconds
    finally:
        client.stop_channels()


def second_setup_seconds(env: dict[str, str]) -> float:
    """The setup cell of notebook 01 in a kernel started while notebook 00's kernel is open."""
    first, second = (KernelManager(kernel_name="python3") for _ in range(2))
    with tempfile.TemporaryDirectory() as folder:
        for kernel in (first, second):
            kernel.start_kernel(cwd=folder, env=env, stderr=subprocess.DEVNULL)
        try:
            run_timed(first, setup_source("00_start_here"))
            return run_timed(second, setup_source("01_engines_and_sessions"))
        finally:
            for kernel in (first, second):
                kernel.shutdown_kernel(now=True)


def check_seconds_while_a_notebook_is_open(env: dict[str, str]) -> float:
    """`check 00` while a notebook's kernel (which started the shared server) is open."""
    kernel = KernelManager(kernel_name="python3")
    with tempfile.TemporaryDirectory() as folder:
        kernel.start_kernel(cwd=folder, env=env, stderr=subprocess.DEVNULL)
        try:
            run_timed(kernel, setup_source("00_start_here"))
            return check_seconds(env)
        finally:
            kernel.shutdown_kernel(now=True)


def check_seconds(env: dict[str, str]) -> float:
    """Wall clock of `asyncdb-lab check 00` on the solved notebook, in a workspace of its own."""
    with tempfile.TemporaryDirectory() as workspace:
        topic = "00_start_here"
        (Path(workspace) / topic).mkdir()
        shutil.copy(SOLUTIONS / topic / f"{topic}.ipynb", Path(workspace) / topic)
        started = time.perf_counter()
        checked = subprocess.run(
            [sys.executable, "-m", "asyncdb_lab.cli", "check", "00", "--workspace", workspace],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if checked.returncode != 0:
            raise RuntimeError(f"check 00 of the solved notebook failed:\n{checked.stdout}")
        return seconds


SLEEPING = (
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
    "AND query LIKE '%pg_sleep(300)%' AND pid <> pg_backend_pid()"
)


def stop_button_seconds(env: dict[str, str]) -> tuple[float, float]:
    """Seconds from the interrupt to the cell's reply, and to the statement's end on the server."""
    import psycopg

    def sleeping(dsn: str) -> int:
        with psycopg.connect(dsn) as connection:
            row = connection.execute(SLEEPING).fetchone()
        return int(row[0]) if row else 0

    kernel = KernelManager(kernel_name="python3")
    with tempfile.TemporaryDirectory() as folder:
        kernel.start_kernel(cwd=folder, env=env, stderr=subprocess.DEVNULL)
        client = kernel.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            lines: list[str] = []
            client.execute_interactive(
                setup_source("00_start_here") + "\nprint(db.dsn)",
                timeout=120,
                output_hook=lambda m: lines.append(m["content"].get("text", "")),
            )
            dsn = "".join(lines).strip().splitlines()[-1]
            msg_id = client.execute(
                "from sqlalchemy import text\n"
                "async with db.engine.connect() as conn:\n"
                "    await conn.execute(text('SET LOCAL statement_timeout = 0'))\n"
                "    await conn.execute(text('SELECT pg_sleep(300)'))"
            )
            while not sleeping(dsn):
                time.sleep(0.02)
            interrupted = time.perf_counter()
            kernel.interrupt_kernel()
            while True:
                reply = client.get_shell_msg(timeout=120)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            replied = time.perf_counter() - interrupted
            while sleeping(dsn):
                time.sleep(0.01)
            return replied, time.perf_counter() - interrupted
        finally:
            client.stop_channels()
            kernel.shutdown_kernel(now=True)


def install_seconds() -> float:
    """A fresh venv and the course installed into it at the pinned versions."""
    with tempfile.TemporaryDirectory() as folder:
        venv = Path(folder) / "venv"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run(
            [*pip, "--constraint", str(REPO / "requirements.lock"), f"{REPO}[dev]"], check=True
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--install", action="store_true", help="also time a fresh install")
    args = parser.parse_args()
    env = dict(os.environ, ASYNCDB_LAB_QUIET="1")
    # Notebook kernels as `make lab`'s JupyterLab starts them: its kernelspec first.
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        filter(None, [str(LAB_DATA_DIR), os.environ.get("JUPYTER_PATH")])
    )
    print(f"load average: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    rows = [
        (
            "setup cell of a second notebook",
            [second_setup_seconds(env) for _ in range(args.runs)],
            0.1,
        ),
        ("asyncdb-lab check 00 (solved)", [check_seconds(env) for _ in range(args.runs)], 2.0),
        (
            "  the same, a notebook open",
            [check_seconds_while_a_notebook_is_open(env) for _ in range(args.runs)],
            2.0,
        ),
    ]
    stops = [stop_button_seconds(env) for _ in range(args.runs)]
    rows.append(("stop button: the cell's reply", [reply for reply, _ in stops], 2.0))
    rows.append(("  statement gone on the server", [gone for _, gone in stops], 1.0))
    if args.install:
        rows.append(("fresh venv + pinned install", [install_seconds()], 90.0))
    print(f"Learner waits; medians of {args.runs} runs (install: one run)")
    for label, figures, target in rows:
        median = statistics.median(figures)
        verdict = "meets" if median <= target else "misses"
        print(f"  {label:<34} {median:7.3f} s   target ≤ {target} s: {verdict}")


if __name__ == "__main__":
    main()
