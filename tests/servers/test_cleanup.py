"""No leftovers: a server goes with the process that started it, even after kill -9.

Processes are counted per server (its postmaster and backends, by pid), not machine-wide, so
that other servers running at the same time do not disturb the count.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from support.observe import alive
from support.processes import Child, kill9, server_processes, wait_until


def all_gone(pids: set[int], server_dir: str) -> bool:
    return not any(alive(pid) for pid in pids) and not server_processes(server_dir)


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_of_the_owner_stops_the_server_and_removes_its_folder(
    subprocess_env, stop: str
):
    child = Child(subprocess_env, "wait")
    report = child.report
    running = server_processes(report["dir"])
    assert report["postmaster"] in running and len(running) >= 3  # postmaster and backends
    child.process.send_signal(getattr(signal, stop))
    child.wait()
    assert all_gone(running, report["dir"])
    assert not Path(report["dir"]).exists()
    assert wait_until(lambda: not alive(report["watchdog"]))


def test_a_process_that_finishes_takes_its_server_with_it(subprocess_env):
    child = Child(subprocess_env, "exit")
    report = child.report
    assert child.wait() == 0
    assert not alive(report["postmaster"])
    assert not server_processes(report["dir"])
    assert not Path(report["dir"]).exists()
    assert wait_until(lambda: not alive(report["watchdog"]))


def test_kill_9_of_the_owner_is_cleaned_up_by_its_watchdog(subprocess_env):
    child = Child(subprocess_env, "wait")
    report = child.report
    running = server_processes(report["dir"])
    assert report["postmaster"] in running
    child.kill9()
    assert wait_until(lambda: not Path(report["dir"]).exists())
    assert wait_until(lambda: all_gone(running, report["dir"]))


def test_an_orphan_left_by_kill_9_of_owner_and_watchdog_is_removed_by_the_next_start(
    subprocess_env,
):
    child = Child(subprocess_env, "wait")
    report = child.report
    running = server_processes(report["dir"])
    kill9(report["watchdog"])
    child.kill9()
    # Nobody is left to clean up: the server really is orphaned.
    assert alive(report["postmaster"])
    assert server_processes(report["dir"])
    assert Path(report["dir"]).exists()

    next_child = Child(subprocess_env, "exit")
    next_report = next_child.report
    assert next_child.wait() == 0
    assert wait_until(lambda: all_gone(running, report["dir"]))
    assert not Path(report["dir"]).exists()
    assert not Path(next_report["dir"]).exists()


def test_a_folder_abandoned_before_its_owner_record_was_written_is_swept(subprocess_env):
    # Short, because a Unix socket path must fit in 107 bytes.
    runtime_dir = Path(tempfile.mkdtemp(prefix="adl-", dir="/tmp"))
    runtime_dir.chmod(0o755)
    subprocess_env["ASYNCDB_LAB_RUNTIME_DIR"] = str(runtime_dir)
    base = runtime_dir / f"asyncdb-lab-{os.getuid()}"
    base.mkdir()
    abandoned = base / "srv-999999-abcdef"
    (abandoned / "data").mkdir(parents=True)
    old = 1_000_000_000
    os.utime(abandoned, (old, old))
    fresh = base / "srv-999998-abcdef"
    fresh.mkdir()  # being created right now by someone: left alone

    assert Child(subprocess_env, "exit").wait() == 0
    assert not abandoned.exists()
    assert fresh.exists()
    shutil.rmtree(runtime_dir)


def test_the_per_user_folder_goes_with_its_last_server(subprocess_env):
    runtime_dir = Path(tempfile.mkdtemp(prefix="adl-", dir="/tmp"))
    runtime_dir.chmod(0o755)
    subprocess_env["ASYNCDB_LAB_RUNTIME_DIR"] = str(runtime_dir)
    try:
        child = Child(subprocess_env, "wait")
        base = Path(child.report["dir"]).parent
        assert base == runtime_dir / f"asyncdb-lab-{os.getuid()}"
        assert base.is_dir()
        child.process.send_signal(signal.SIGINT)
        child.wait()
        assert not base.exists()
        assert list(runtime_dir.iterdir()) == []
    finally:
        shutil.rmtree(runtime_dir)
