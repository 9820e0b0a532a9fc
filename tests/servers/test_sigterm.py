"""SIGTERM and the library: a process's own handler is kept; without one, SIGTERM stops the
server (tests/servers/test_url_backend.py checks the drops) and the process still dies of it."""

from __future__ import annotations

import signal
import subprocess
import sys

CHILD = """
import os, signal, sys
if sys.argv[1] == "own":
    signal.signal(signal.SIGTERM, lambda *_: print("own handler", flush=True) or sys.exit(7))
import asyncdb_lab.databases
os.kill(os.getpid(), signal.SIGTERM)
print("still running", flush=True)
"""


def run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=60
    )


def test_a_program_with_its_own_sigterm_handler_keeps_it():
    child = run("own")
    assert (child.returncode, child.stdout) == (7, "own handler\n"), child.stderr


def test_without_a_server_sigterm_ends_the_process_as_it_always_did():
    child = run("default")
    assert (child.returncode, child.stdout) == (-signal.SIGTERM, ""), child.stderr
