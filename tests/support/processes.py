"""Helpers the tests share: child processes that use the library, and process counting."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import psutil

from support.observe import descendants, process_group_members, running_processes

# A child that makes a seeded database, reports its server, then waits or exits.
CHILD_SCRIPT = """
import asyncio, json, sys, time
from asyncdb_lab.databases import disposable_database

async def main():
    db = await disposable_database(seed=True)
    server = db.server
    report = {"backend": server.backend, "database": db.name, "dsn": db.dsn}
    if server.backend == "embedded":
        report.update(dir=str(server.server_dir), postmaster=server.postmaster_pid,
                      watchdog=server.watchdog_pid)
    return report

print(json.dumps(asyncio.run(main())), flush=True)
if sys.argv[1] == "wait":
    time.sleep(600)
"""


class Child:
    """A child Python running CHILD_SCRIPT; its pipes are closed when it is waited for."""

    def __init__(self, env: dict[str, str], mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD_SCRIPT, mode],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            _, stderr = self.process.communicate()
            raise AssertionError(f"the child printed nothing; its stderr:\n{stderr}")
        self.report: dict = json.loads(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait(self, timeout: float = 120) -> int:
        self.process.communicate(timeout=timeout)
        return self.process.returncode

    def kill9(self) -> None:
        os.kill(self.process.pid, 9)
        self.wait()


def server_processes(server_dir: str) -> set[int]:
    """The postmaster serving `server_dir` and its backends, counted by pid.

    Only this server's processes: other tests or sessions on the machine may run servers of
    their own at the same time.
    """
    postmasters = {
        info["pid"]
        for info in running_processes("name", "cmdline")
        if info["name"] == "postgres" and any(server_dir in part for part in info["cmdline"] or [])
    }
    found = set(postmasters)
    for pid in postmasters:
        found |= descendants(pid)
    return found


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; its last answer.

    The default is generous on purpose: on a machine kept busy by other work, what takes a
    second when idle can take twenty. A condition that holds returns at once, however long the
    deadline.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the group `process` leads, as Ctrl-C in its terminal would; SIGKILL after 30 s.

    Returns once every process of the group has ended, not only its leader: `make` exits on
    SIGTERM while the server it started is still shutting down (and still holds its port).
    """
    members = process_group_members(process.pid)
    os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    _, still_running = psutil.wait_procs(members, timeout=30)
    if still_running or process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        psutil.wait_procs(still_running, timeout=10)


def kill9(pid: int) -> None:
    os.kill(pid, 9)
