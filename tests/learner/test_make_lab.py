"""`make lab`: makes the learner's workspace, starts JupyterLab there (headless, until its HTTP API
answers) without nbgrader's instructor panels and Validate button (an instructor's own JupyterLab
keeps them), never overwrites the learner's work, stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from support.learner import learner_notebook, solution_sources
from support.processes import stop_process_group

from asyncdb_lab.learner.workspace import (
    LAB_CONFIG_DIR,
    LAB_DATA_DIR,
    content_hash,
    kernel_metadata,
)
from asyncdb_lab.settings import REPO

NOTEBOOK = "00_start_here/00_start_here.ipynb"
NBGRADER_LAB_EXTENSION = "@jupyter/nbgrader"
# A page of each of nbgrader's server extensions: formgrader, course_list, assignment_list and
# validate_assignment (whose handler answers POST; any other method says it exists).
NBGRADER_PAGES = [
    "/formgrader",
    "/formgraders",
    "/assignments",
    "/courses",
    "/assignments/validate",
]


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

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{self._with_token(path)}"

    def _with_token(self, path: str) -> str:
        return f"{path}{'&' if '?' in path else '?'}token={self.token}"

    def status(self, path: str) -> int:
        """The HTTP status of GET `path`, redirects not followed."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", self._with_token(path))
            # Closed here: the response holds the socket open after the connection is closed.
            with connection.getresponse() as response:
                return response.status
        finally:
            connection.close()

    def root_dirs(self) -> list[Path]:
        return [
            Path(json.loads(p.read_text())["root_dir"])
            for p in self.runtime.glob("jpserver-*.json")
        ]


@contextmanager
def make_lab(tmp_path: Path, workspace: Path, name: str) -> Iterator[Lab]:
    """`make lab WORKSPACE=…` on a free port; stopped (and its port closed) at the end."""
    lab = _new_lab(tmp_path, name)
    command = [
        "make",
        "lab",
        f"WORKSPACE={workspace}",
        f"LAB_ARGS={' '.join(_server_args(lab))}",
    ]
    with _serving(lab, command, REPO):
        yield lab


@contextmanager
def instructor_lab(tmp_path: Path) -> Iterator[Lab]:
    """`jupyter lab` started by hand in grader/, as an instructor starts it."""
    lab = _new_lab(tmp_path, "instructor")
    command = [str(REPO / ".venv" / "bin" / "jupyter"), "lab", *_server_args(lab)]
    command += ["--allow-root"] if os.geteuid() == 0 else []
    with _serving(lab, command, REPO / "grader"):
        yield lab


def _new_lab(tmp_path: Path, name: str) -> Lab:
    return Lab(
        _free_port(), secrets.token_hex(8), tmp_path / f"runtime-{name}", tmp_path / f"{name}.log"
    )


def _server_args(lab: Lab) -> list[str]:
    return [
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={lab.port}",
        f"--IdentityProvider.token={lab.token}",
        "--ServerApp.port_retries=0",
    ]


@contextmanager
def _serving(lab: Lab, command: list[str], cwd: Path) -> Iterator[None]:
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(lab.runtime), BROWSER="false")
    env.pop("JUPYTER_CONFIG_PATH", None)
    with lab.log.open("w") as log:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_for_api(lab, process, timeout=120)
            yield
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
        # The course's notebook, with the kernel metadata this JupyterLab will write.
        assert content_hash(mine) == content_hash(REPO / "notebooks" / NOTEBOOK)
        stamped = {key: _metadata(mine)[key] for key in ("kernelspec", "language_info")}
        assert stamped == kernel_metadata("python3")
        assert lab.root_dirs() == [workspace]
        specs = json.loads(lab.get("/api/kernelspecs"))
        # The notebooks' kernel is the course's: it imports the library as it starts.
        argv = specs["kernelspecs"]["python3"]["spec"]["argv"]
        assert f"--IPKernelApp.extensions={PRELOAD}" in argv, argv
        # nbgrader is installed, but none of it reaches the learner: its lab extension (the
        # Formgrader, Assignment List, Course List and Create Assignment panels, the Nbgrader
        # menu, the Validate button) is disabled, and its server extensions are not loaded.
        page = _page_config(lab.get("/lab").decode())
        assert NBGRADER_LAB_EXTENSION in [e["name"] for e in page["federated_extensions"]]
        assert NBGRADER_LAB_EXTENSION in page["disabledExtensions"], page["disabledExtensions"]
        assert {path: lab.status(path) for path in NBGRADER_PAGES} == dict.fromkeys(
            NBGRADER_PAGES, 404
        )

    # The learner solves the exercise; the next `make lab` leaves the notebook alone.
    nbformat.write(learner_notebook("00_start_here", solution_sources("00_start_here")), mine)
    solved = mine.read_bytes()

    with make_lab(tmp_path, workspace, "second") as lab:
        assert "nothing to copy" in lab.log.read_text()
        assert lab.root_dirs() == [workspace]
        assert mine.read_bytes() == solved
    assert mine.read_bytes() == solved


PRELOAD = "asyncdb_lab.learner.preload"


@pytest.mark.slow
def test_the_learners_kernel_has_the_course_imported_before_the_first_cell_and_no_name_bound(
    monkeypatch: pytest.MonkeyPatch,
):
    """The setup cell's imports (about 0.2 s) happen while the kernel starts, in the kernel the
    learner's JupyterLab starts (LAB_DATA_DIR first on JUPYTER_PATH, as `make lab` puts it)."""
    monkeypatch.setenv("JUPYTER_PATH", str(LAB_DATA_DIR))
    kernel = KernelManager(kernel_name="python3")
    kernel.start_kernel(stderr=subprocess.DEVNULL)
    client = kernel.client()
    client.start_channels()
    said: list[str] = []
    try:
        client.wait_for_ready(timeout=60)
        probe = (
            "import sys\n"
            "print(sorted(m for m in ('sqlalchemy', 'asyncpg', 'asyncdb_lab.databases',"
            " 'sqlalchemy.dialects.postgresql.asyncpg') if m in sys.modules))\n"
            "print(sorted(k for k in globals() if not k.startswith('_')"
            " and k not in ('In', 'Out', 'get_ipython', 'exit', 'quit', 'open', 'sys')))"
        )
        client.execute_interactive(
            probe, timeout=60, output_hook=lambda m: said.append(m["content"].get("text", ""))
        )
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
    loaded, names = "".join(said).splitlines()
    assert loaded == str(
        ["asyncdb_lab.databases", "asyncpg", "sqlalchemy", "sqlalchemy.dialects.postgresql.asyncpg"]
    )
    assert names == "[]", f"the preload bound names in the notebook: {names}"


def test_the_learners_configuration_disables_every_server_extension_nbgrader_installs():
    """nbgrader enables its server extensions in the virtual environment's configuration; the
    learner's configuration (which `make lab` puts first on JUPYTER_CONFIG_PATH) turns each off."""
    venv_config = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d"
    installed = json.loads((venv_config / "nbgrader.json").read_text())
    installed = installed["ServerApp"]["jpserver_extensions"]
    learner = json.loads((LAB_CONFIG_DIR / "jupyter_server_config.json").read_text())
    assert learner["ServerApp"]["jpserver_extensions"] == dict.fromkeys(installed, False)
    assert str(LAB_CONFIG_DIR.relative_to(REPO)) in (REPO / "Makefile").read_text()


@pytest.mark.slow
def test_an_instructors_own_jupyterlab_in_grader_keeps_nbgrader(tmp_path: Path):
    """What `make lab` disables is its own configuration, not the installation's."""
    with instructor_lab(tmp_path) as lab:
        page = _page_config(lab.get("/lab").decode())
        assert NBGRADER_LAB_EXTENSION in [e["name"] for e in page["federated_extensions"]]
        assert NBGRADER_LAB_EXTENSION not in page["disabledExtensions"]
        missing = [path for path in NBGRADER_PAGES if lab.status(path) == 404]
        assert missing == [], lab.log.read_text()


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
    # Closing only starts the handshake: wait for its end, or the loop ends with the socket open.
    with contextlib.suppress(TimeoutError):
        while await asyncio.wait_for(socket_.read_message(), 10) is not None:
            pass
    return said


def _page_config(page: str) -> dict:
    found = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, "JupyterLab's page has no config data"
    return json.loads(found.group(1))


def _metadata(notebook: Path) -> dict:
    return json.loads(notebook.read_text(encoding="utf-8"))["metadata"]


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
