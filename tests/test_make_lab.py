"""`make lab` starts JupyterLab: headless, until its HTTP API answers; then a clean stop."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_make_lab_serves_the_jupyter_api_and_stops_cleanly(tmp_path: Path):
    port, token = _free_port(), secrets.token_hex(8)
    log = (tmp_path / "lab.log").open("w")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), BROWSER="false")
    lab = subprocess.Popen(
        [
            "make",
            "lab",
            f"LAB_ARGS=--no-browser --ip=127.0.0.1 --port={port} "
            f"--IdentityProvider.token={token} --ServerApp.port_retries=0",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        status = _wait_for_api(port, token, timeout=120)
        assert "started" in status
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernelspecs?token={token}") as r:
            specs = json.load(r)
        assert "python3" in specs["kernelspecs"]
        # The lab opens on the learner notebooks.
        servers = [
            json.loads(p.read_text()) for p in (tmp_path / "runtime").glob("jpserver-*.json")
        ]
        assert [Path(s["root_dir"]) for s in servers] == [REPO / "notebooks"]
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
        log.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def _wait_for_api(port: int, token: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2
            ) as response:
                return json.load(response)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise AssertionError(f"JupyterLab did not answer on port {port} within {timeout:.0f} s")
