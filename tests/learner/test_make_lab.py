"""`make lab`: makes the learner's workspace, starts JupyterLab there (headless, until its HTTP API
answers) with nbgrader's Validate working, never overwrites the learner's work, stops cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from support.learner import learner_notebook, solution_sources
from support.processes import stop_process_group

from asyncdb_lab.settings import REPO

NOTEBOOK = "00_start_here/00_start_here.ipynb"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    port: int
    token: str
    runtime: Path
    log: Path

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url(path), timeout=30) as response:
            return response.read()

    def post(self, path: str, form: dict[str, str], timeout: float) -> dict:
        data = urllib.parse.urlencode(form).encode()
        with urllib.request.urlopen(self.url(path), data=data, timeout=timeout) as response:
            return json.load(response)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}{'&' if '?' in path else '?'}token={self.token}"

    def root_dirs(self) -> list[Path]:
        return [
            Path(json.loads(p.read_text())["root_dir"])
            for p in self.runtime.glob("jpserver-*.json")
        ]


@contextmanager
def make_lab(tmp_path: Path, workspace: Path, name: str) -> Iterator[Lab]:
    """`make lab WORKSPACE=…` on a free port; stopped (and its port closed) at the end."""
    lab = Lab(
        _free_port(), secrets.token_hex(8), tmp_path / f"runtime-{name}", tmp_path / f"{name}.log"
    )
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(lab.runtime), BROWSER="false")
    with lab.log.open("w") as log:
        process = subprocess.Popen(
            [
                "make",
                "lab",
                f"WORKSPACE={workspace}",
                f"LAB_ARGS=--no-browser --ip=127.0.0.1 --port={lab.port} "
                f"--IdentityProvider.token={lab.token} --ServerApp.port_retries=0",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for_api(lab, process, timeout=120)
            yield lab
        finally:
            stop_process_group(process)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", lab.port), timeout=1).close()


@pytest.mark.slow
def test_make_lab_makes_the_workspace_opens_jupyterlab_there_and_keeps_the_learners_work(
    tmp_path: Path,
):
    workspace = tmp_path / "workspace"
    mine = workspace / NOTEBOOK

    with make_lab(tmp_path, workspace, "first") as lab:
        assert "added 00_start_here/00_start_here.ipynb" in lab.log.read_text()
        assert mine.read_bytes() == (REPO / "notebooks" / NOTEBOOK).read_bytes()
        assert lab.root_dirs() == [workspace]
        specs = json.loads(lab.get("/api/kernelspecs"))
        assert "python3" in specs["kernelspecs"]
        # nbgrader's lab extension (the Validate button) is loaded, and its server side validates
        # a workspace notebook: the untouched one fails on its visible tests.
        assert "@jupyter/nbgrader" in _federated_extensions(lab.get("/lab").decode())
        validated = lab.post("/assignments/validate", {"path": NOTEBOOK}, timeout=180)
        assert validated["success"] is True, validated
        failed = validated["value"]["failed"]
        assert len(failed) == 2, validated["value"]
        assert all("NotImplementedError" in cell["raw_error"] for cell in failed)

    # The learner solves the exercise; the next `make lab` leaves the notebook alone.
    nbformat.write(learner_notebook("00_start_here", solution_sources("00_start_here")), mine)
    solved = mine.read_bytes()

    with make_lab(tmp_path, workspace, "second") as lab:
        assert "nothing to copy" in lab.log.read_text()
        assert lab.root_dirs() == [workspace]
        assert mine.read_bytes() == solved
        validated = lab.post("/assignments/validate", {"path": NOTEBOOK}, timeout=180)
        assert validated == {"success": True, "value": {}}, validated
    assert mine.read_bytes() == solved


@pytest.mark.slow
@pytest.mark.parametrize("shell", ["/bin/bash", "/bin/sh"])
def test_the_course_commands_work_in_a_jupyterlab_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shell: str
):
    """File → New → Terminal runs the learner's $SHELL. JupyterLab makes it a login shell when
    its own output is not a terminal (as here), and a login shell reads /etc/profile, which on
    Debian resets PATH: `asyncdb-lab` was then "command not found"."""
    monkeypatch.setenv("SHELL", shell)
    workspace = tmp_path / "workspace"
    with make_lab(tmp_path, workspace, "terminal") as lab:
        said = asyncio.run(_in_terminal(lab, "asyncdb-lab --help; asyncdb-lab progress", "Next: "))
    assert "not found" not in said, said
    assert "usage: asyncdb-lab" in said, said
    assert "00_start_here" in said and "Total" in said, said  # progress's table, of the workspace


async def _in_terminal(lab: Lab, command: str, until: str, timeout: float = 60) -> str:
    """Open a terminal through jupyter_server's API, type `command`, and return what the terminal
    printed once `until` appears after the command (or the timeout passes)."""
    from tornado.websocket import websocket_connect

    request = urllib.request.Request(lab.url("/api/terminals"), data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        name = json.load(response)["name"]
    url = f"ws://127.0.0.1:{lab.port}/terminals/websocket/{name}?token={lab.token}"
    socket_ = await websocket_connect(url)
    socket_.write_message(json.dumps(["stdin", command + "\r"]))
    said = ""
    deadline = time.monotonic() + timeout
    while until not in said.split(command, 1)[-1] and time.monotonic() < deadline:
        try:
            message = await asyncio.wait_for(socket_.read_message(), deadline - time.monotonic())
        except TimeoutError:
            break
        if message is None:
            break
        kind, *content = json.loads(message)
        if kind == "stdout":
            said += content[0]
    socket_.close()
    return said


def _federated_extensions(page: str) -> list[str]:
    found = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, "JupyterLab's page has no config data"
    return [extension["name"] for extension in json.loads(found.group(1))["federated_extensions"]]


def _wait_for_api(lab: Lab, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make lab exited ({process.returncode}):\n{lab.log.read_text()}")
        try:
            status = json.loads(lab.get("/api/status"))
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
            continue
        assert "started" in status
        return
    raise AssertionError(f"JupyterLab did not answer on port {lab.port} within {timeout:.0f} s")
