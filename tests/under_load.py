"""`make test-under-load`: the tests, several times in a row, on a machine kept busy on every core.

A test that passes on an idle machine and fails on a busy one blocks a correct change. This
starts one process per core that spins until it is stopped (a newcomer's laptop doing other
work, a CI machine shared with other jobs), runs pytest with the given arguments --passes times
(3 by default, each from scratch, no reruns), then stops the spinning processes, even after a
Ctrl-C. It prints each pass's duration and load average; the exit code is the first failing
pass's, or 0 when every pass passed.

    python tests/under_load.py [--passes 3] [--hogs N] [-- PYTEST ARGUMENTS...]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

# The tests that wait for processes, servers, kernels, signals and the browser: where a busy
# machine shows. `-- tests -m "not mutants"` runs every test but the wrong-answer suite.
TIMING_SENSITIVE = [
    "tests/learner/test_interrupt.py",
    "tests/learner/test_watch.py",
    "tests/learner/test_rough_edges.py",
    "tests/learner/test_db_command.py",
    "tests/learner/test_check.py",
    "tests/learner/test_browser.py",
    "tests/servers/test_cleanup.py",
    "tests/servers/test_shared_server.py",
    "tests/servers/test_private_folder.py",
    "tests/servers/test_drops.py",
    "tests/servers/test_disposable_database.py",
    "tests/grading/test_grading.py",
    "tests/grading/test_grading_sandbox.py",
    "tests/grading/test_grading_database.py",
]
DEFAULT_PYTEST_ARGS = [*TIMING_SENSITIVE, "-q", "-p", "no:cacheprovider"]


def spin() -> None:
    # At the priority of other work: at a lower one (nice 5 was tried), the tests' processes
    # took the cores whenever they wanted them, and ran as fast as on an idle machine.
    while True:
        pass


@contextmanager
def hogs(count: int) -> Iterator[None]:
    """`count` processes spinning on the CPU for as long as the block runs."""
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(count)]
    for spinner in spinners:
        spinner.start()
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.join()


def load() -> str:
    return " ".join(f"{figure:.1f}" for figure in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3, help="how many times to run the tests")
    parser.add_argument(
        "--hogs", type=int, default=os.cpu_count() or 2, help="spinning processes (one per core)"
    )
    parser.add_argument("pytest_args", nargs="*", help="pytest's arguments (after --)")
    args = parser.parse_args()
    pytest_args = args.pytest_args or DEFAULT_PYTEST_ARGS
    outcome = 0
    with hogs(args.hogs):
        for number in range(1, args.passes + 1):
            print(
                f"pass {number} of {args.passes}, {args.hogs} spinning processes, "
                f"load average {load()}: pytest {' '.join(pytest_args)}",
                flush=True,
            )
            started = time.monotonic()
            code = subprocess.call([sys.executable, "-m", "pytest", *pytest_args])
            minutes = (time.monotonic() - started) / 60
            verdict = "passed" if code == 0 else f"FAILED (pytest exit code {code})"
            print(
                f"pass {number}: {verdict} in {minutes:.1f} min, load average {load()}", flush=True
            )
            if code and not outcome:
                outcome = code
    return outcome


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("make test-under-load: stopped (Ctrl-C); the spinning processes are stopped too.")
        sys.exit(130)
