"""The course's docker-compose.yml run by Debian's docker-compose (v1) on the tests' private engine.

Each ComposeProject has a unique project name, so its containers, network and volume are told
apart from anything else on the engine by compose's project label, and `down -v` removes them.
The engine reaches no registry: `python_base_image()` builds the lab image's base offline
(.ci/docker/setup DIR python-base) and db runs the engine's asyncdb-lab/postgres:15-local.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from asyncdb_lab.settings import REPO
from support.docker_engine import DockerEngine

PYTHON_BASE_IMAGE = "asyncdb-lab/python:3.13-local"
PROJECT_LABEL = "com.docker.compose.project"


def docker_compose() -> str | None:
    return shutil.which("docker-compose")


def python_base_image(engine: DockerEngine) -> str:
    """Build (once per engine) a Debian image with python3, python3-venv and make."""
    setup = subprocess.run(
        ["bash", str(REPO / ".ci" / "docker" / "setup"), str(engine.folder), "python-base"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert setup.returncode == 0, f"building {PYTHON_BASE_IMAGE} failed: {setup.stderr[-2000:]}"
    return PYTHON_BASE_IMAGE


@dataclass(frozen=True)
class ComposeProject:
    engine: DockerEngine
    name: str
    variables: dict[str, str]  # what a user would set in the shell or an .env file
    extra_files: tuple[Path, ...] = ()

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        files = [REPO / "docker-compose.yml", *self.extra_files]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCDB_LAB_")}
        env |= {"DOCKER_HOST": self.engine.host, "COMPOSE_PROJECT_NAME": self.name}
        return subprocess.run(
            ["docker-compose", *(arg for f in files for arg in ("-f", str(f))), *args],
            cwd=REPO,
            env=env | self.variables,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def container(self, service: str) -> dict:
        """`docker inspect` of the service's one container."""
        ids = self.compose("ps", "-q", service).stdout.split()
        assert len(ids) == 1, f"expected one {service} container, found {ids}"
        inspected = self.engine.docker("inspect", ids[0])
        assert inspected.returncode == 0, inspected.stderr
        return json.loads(inspected.stdout)[0]

    def address(self, service: str) -> str:
        """The service's IP address on the project's bridge network (reachable from this host)."""
        networks = self.container(service)["NetworkSettings"]["Networks"]
        return next(iter(networks.values()))["IPAddress"]

    def leftovers(self) -> dict[str, list[str]]:
        """The project's containers, networks and volumes still on the engine."""
        label = f"label={PROJECT_LABEL}={self.name}"
        found = {
            "containers": self.engine.docker("ps", "-aq", "--filter", label),
            "networks": self.engine.docker("network", "ls", "-q", "--filter", label),
            "volumes": self.engine.docker("volume", "ls", "-q", "--filter", label),
        }
        for listed in found.values():
            assert listed.returncode == 0, listed.stderr
        return {kind: listed.stdout.split() for kind, listed in found.items()}


def http_status(host: str, port: int, path: str) -> int | None:
    """The status of GET path, or None while nothing answers."""
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def http_json(host: str, port: int, path: str) -> dict:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, f"GET {path}: {response.status} {body[:300]!r}"
        return json.loads(body)
    finally:
        connection.close()


def wait_until_answering(host: str, port: int, path: str, deadline_s: float = 180) -> float:
    """Seconds until GET path answers 200; fails with the last status after the deadline."""
    started = time.monotonic()
    status = None
    while time.monotonic() - started < deadline_s:
        status = http_status(host, port, path)
        if status == 200:
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"http://{host}:{port}{path} gave {status} for {deadline_s:.0f} s")
