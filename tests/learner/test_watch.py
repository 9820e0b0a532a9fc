"""`asyncdb-lab check --watch`: a save with new code starts a check; a save without does not."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from support.learner import REPO, cli_env, learner_notebook, put, release, solution_sources

from asyncdb_lab.learner.watch import watch


def test_only_saves_that_change_code_start_a_check(tmp_path: Path):
    path = put(tmp_path, "00_start_here", release("00_start_here"))
    calls: list[str] = []
    stop = threading.Event()
    watcher = threading.Thread(
        target=watch,
        args=(lambda: {"00_start_here": path}, lambda name, _: calls.append(name)),
        kwargs={"say": lambda _: None, "poll_seconds": 0.02, "until": stop.is_set},
    )
    watcher.start()
    try:
        time.sleep(0.2)
        notebook = nbformat.read(path, as_version=4)
        notebook.cells[2].outputs = [nbformat.v4.new_output("stream", text="ran")]
        notebook.cells[0].source += "\nNotes of mine."
        nbformat.write(notebook, path)  # JupyterLab saving outputs and Markdown
        time.sleep(0.3)
        assert calls == []
        notebook.cells[2].source += "\nprint('mine')"
        nbformat.write(notebook, path)
        deadline = time.monotonic() + 60
        while not calls and time.monotonic() < deadline:
            time.sleep(0.02)
        assert calls == ["00_start_here"]
    finally:
        stop.set()
        watcher.join(timeout=60)
    assert not watcher.is_alive()


@pytest.mark.slow
def test_check_watch_checks_again_after_a_save_and_stops_on_ctrl_c(tmp_path: Path):
    path = put(tmp_path, "00_start_here", release("00_start_here"))
    watcher = subprocess.Popen(
        [sys.executable, "-m", "asyncdb_lab.cli", "check", "--watch", "00"],
        cwd=REPO,
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert watcher.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(x) for x in watcher.stdout], daemon=True)
    reader.start()
    seen: list[str] = []

    def wait_for(text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                continue
            if text in seen[-1]:
                return
        raise AssertionError(f"{text!r} did not appear; the watcher said:\n{''.join(seen)}")

    try:
        wait_for("Done: 0 of 1 exercise")
        wait_for("Watching 00_start_here")
        solved = learner_notebook("00_start_here", solution_sources("00_start_here"))
        nbformat.write(solved, path)
        wait_for("00_start_here was saved: checking it again")
        wait_for("Done: 1 of 1 exercise")
        wait_for("Watching 00_start_here")
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=120) == 130  # stopped by Ctrl-C, as a shell reports it
        wait_for("asyncdb-lab check: stopped watching (Ctrl-C).", timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
        reader.join(timeout=60)
        watcher.stdout.close()
    assert sum("on a fresh database…" in line for line in seen) == 2
