"""How long does the whole course take to run? Executes every solution notebook and times it.

Runs each `solutions/NN_topic/NN_topic.ipynb` top to bottom, one after another, the way a
grader would: nbclient, the python3 kernel, a 60 s cell timeout, `ASYNCDB_LAB_QUIET=1` in the
kernel's environment, a fresh kernel (and so a fresh PostgreSQL server) per notebook. A
notebook's time runs from starting its kernel to shutting it down. Notebooks are discovered, so
the script measures whatever exists.

Prints one row per notebook as it finishes (seconds, ok or the first line of the first error,
whether it meets the 15 s per-notebook target), then the total against the 3-minute target for
the whole course. The timings are wall-clock on this machine: the load average is printed first,
because a busy machine makes every figure larger.

Exit code: 1 when a notebook fails (an error, a cell timeout or a dead kernel); 0 otherwise,
even when a target is missed, since this is a measurement, not a test.

Usage:
    python benchmarks/course.py                                   # every solution notebook
    python benchmarks/course.py --notebooks 00_start_here 03      # a subset, by name or number
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
NOTEBOOK_TARGET_SECONDS = 15.0
COURSE_TARGET_SECONDS = 180.0
CELL_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Result:
    notebook: str
    seconds: float
    error: str | None  # the first line of the first error; None when every cell ran

    @property
    def meets_target(self) -> bool:
        return self.seconds <= NOTEBOOK_TARGET_SECONDS


def discover() -> dict[str, Path]:
    """Every solutions/NN_topic/NN_topic.ipynb, by name, in course order."""
    found = {}
    for folder in sorted(SOLUTIONS.iterdir()):
        path = folder / f"{folder.name}.ipynb"
        if folder.name[:2].isdigit() and path.is_file():
            found[folder.name] = path
    return found


def select(available: dict[str, Path], wanted: list[str] | None) -> dict[str, Path]:
    """The notebooks named in `wanted` (full names, or their number: "03"); all when None."""
    if not wanted:
        return available
    chosen = {}
    for name in wanted:
        matches = [n for n in available if n == name or n.split("_", 1)[0] == name]
        if not matches:
            raise ValueError(f"no solution notebook {name!r}; there are: {', '.join(available)}")
        chosen.update({n: available[n] for n in matches})
    return dict(sorted(chosen.items()))


def run_notebook(name: str, path: Path, cell_timeout: int) -> Result:
    """Execute one notebook top to bottom in a fresh kernel; stop at the first error."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=cell_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    env = {**os.environ, "ASYNCDB_LAB_QUIET": "1"}
    started = time.perf_counter()
    error: str | None = None
    try:
        # The kernel process's own stderr carries only its start-up log; errors in cells reach us
        # as CellExecutionError, so keep the table readable.
        client.execute(env=env, stderr=subprocess.DEVNULL)
    except CellExecutionError as failure:
        error = f"{failure.ename}: {_first_line(failure.evalue)}"
    except CellTimeoutError:
        error = f"a cell ran longer than {cell_timeout} s"
    except DeadKernelError as failure:
        error = f"the kernel died: {_first_line(str(failure))}"
    return Result(name, time.perf_counter() - started, error)


def _first_line(text: str, limit: int = 100) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = lines[0] if lines else "(no message)"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _yes_no(ok: bool) -> str:
    return "yes" if ok else "NO"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--notebooks",
        nargs="+",
        metavar="NAME",
        help="run only these notebooks (e.g. 00_start_here, or just its number: 00)",
    )
    parser.add_argument(
        "--cell-timeout",
        type=int,
        default=CELL_TIMEOUT_SECONDS,
        help=f"seconds a cell may run before it counts as failed (default {CELL_TIMEOUT_SECONDS})",
    )
    args = parser.parse_args(argv)

    try:
        notebooks = select(discover(), args.notebooks)
    except ValueError as unknown:
        parser.error(str(unknown))  # exits with status 2, as for any other bad argument
    if not notebooks:
        print("course.py: no solution notebooks found in", SOLUTIONS)
        return 1
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"Running {len(notebooks)} solution notebook(s) with nbclient "
        f"(python3 kernel, {args.cell_timeout} s cell timeout); "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    width = max(len(name) for name in notebooks)
    print(f"{'notebook':<{width}}  {'seconds':>7}  {'≤ 15 s':<6}  status")
    results = []
    for name, path in notebooks.items():
        result = run_notebook(name, path, args.cell_timeout)
        results.append(result)
        status = "ok" if result.error is None else f"error: {result.error}"
        print(
            f"{name:<{width}}  {result.seconds:7.1f}  {_yes_no(result.meets_target):<6}  {status}",
            flush=True,
        )

    total = sum(r.seconds for r in results)
    slow = [r.notebook for r in results if not r.meets_target]
    failed = [r.notebook for r in results if r.error is not None]
    scope = "the whole course" if not args.notebooks else "the whole course (this was a subset)"
    print(
        f"{'total':<{width}}  {total:7.1f}  {_yes_no(total <= COURSE_TARGET_SECONDS):<6}  "
        f"target: {scope} in {COURSE_TARGET_SECONDS:.0f} s"
    )
    limit = f"{NOTEBOOK_TARGET_SECONDS:.0f} s"
    within = f"{len(results) - len(slow)} of {len(results)} notebooks within {limit}"
    over = f" (over: {', '.join(slow)})" if slow else ""
    errors = f"; {len(failed)} failed" + (f": {', '.join(failed)}" if failed else "")
    print(within + over + errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
