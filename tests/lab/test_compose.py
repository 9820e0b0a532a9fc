"""docker-compose.yml for real, with Debian's docker-compose (v1) on the tests' private engine.

The slow test builds the lab image from the repository, starts the project, and checks what a
learner relies on: JupyterLab answers with its token (and only with it), with the course's
kernelspec; notebook 00's solution passes `asyncdb-lab check` against `db` through the url
backend; the learner's notebook survives `down` and `up` unchanged; `down -v` leaves nothing.

The engine reaches no registry and runs with --iptables=false: the lab image is built on a
local Debian base (support/compose_project.py) and pip reaches PyPI through the host's network
(`build.network: host`, in an override file only this test uses); db runs the engine's
asyncdb-lab/postgres:15-local. JupyterLab is reached at the lab container's address on the
project's bridge, and through the port published on 127.0.0.1 (docker-proxy needs no iptables).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.compose_project import (
    ComposeProject,
    docker_compose,
    http_json,
    http_status,
    python_base_image,
    wait_until_answering,
)
from support.docker_engine import POSTGRES_IMAGE, DockerEngine

from asyncdb_lab.settings import DOCKER_IMAGE, REPO

NO_COMPOSE = "docker-compose is not installed (.ci/docker/setup installs it)"
# The private engine's set-up installs docker-compose: tests without the engine need it already.
needs_compose = pytest.mark.skipif(docker_compose() is None, reason=NO_COMPOSE)

SOLUTION = "/course/solutions/00_start_here/00_start_here.ipynb"
LEARNER_COPY = "/course/workspace/00_start_here/00_start_here.ipynb"


# The variables docker-compose.yml and deploy/compose/db-port.yml read.
COMPOSE_VARIABLES = {
    "ASYNCDB_LAB_DOCKER_IMAGE",
    "LAB_BASE_IMAGE",
    "LAB_IMAGE",
    "LAB_PORT",
    "LAB_TOKEN",
    "DB_PORT",
}


def _config(*extra: str) -> dict:
    """docker-compose.yml as docker-compose resolves it with its defaults, plus extra files."""
    files = [arg for name in ("docker-compose.yml", *extra) for arg in ("-f", name)]
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARIABLES}
    resolved = subprocess.run(
        ["docker-compose", *files, "config"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert resolved.returncode == 0, resolved.stderr
    return yaml.safe_load(resolved.stdout)


@needs_compose
def test_db_publishes_no_port_unless_the_port_file_is_added():
    assert "ports" not in _config()["services"]["db"]
    published = _config("deploy/compose/db-port.yml")["services"]["db"]["ports"]
    assert published == ["127.0.0.1:5432:5432/tcp"]


@needs_compose
def test_lab_is_built_from_the_repository_and_shares_no_folder_with_the_host():
    services = _config()["services"]
    assert services["db"]["image"] == DOCKER_IMAGE  # the embedded server's major version
    lab = services["lab"]
    assert lab["build"]["dockerfile"] == "deploy/compose/lab.Dockerfile"
    assert lab["build"]["args"]["BASE_IMAGE"] == "python:3.12-slim"
    assert lab["volumes"] == ["workspace:/course/workspace:rw"]  # a named volume, no bind mount


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def project(docker_engine: DockerEngine) -> Iterator[ComposeProject]:
    """A compose project on the private engine, removed (image included) however the test ends."""
    if docker_compose() is None:
        pytest.skip(NO_COMPOSE)
    suffix = secrets.token_hex(4)
    with tempfile.TemporaryDirectory(prefix="adl-compose-") as folder:
        build_network = Path(folder) / "build-network.yml"
        build_network.write_text("services:\n  lab:\n    build:\n      network: host\n")
        project = ComposeProject(
            docker_engine,
            name=f"adlcompose{suffix}",
            variables={
                "LAB_BASE_IMAGE": python_base_image(docker_engine),
                "LAB_IMAGE": f"adl-test-lab:{suffix}",
                "ASYNCDB_LAB_DOCKER_IMAGE": POSTGRES_IMAGE,
                "LAB_PORT": str(_free_port()),
                "LAB_TOKEN": secrets.token_hex(8),
            },
            extra_files=(build_network,),
        )
        try:
            yield project
        finally:
            project.compose("down", "-v", "--remove-orphans", timeout=120)
            docker_engine.docker("rmi", "-f", project.variables["LAB_IMAGE"])


def _exec_lab(project: ComposeProject, *command: str) -> subprocess.CompletedProcess[str]:
    return project.compose("exec", "-T", "lab", *command, timeout=180)


def _up_until_lab_answers(project: ComposeProject) -> float:
    """`up -d`, then seconds until JupyterLab's API answers with the token."""
    started = time.monotonic()
    up = project.compose("up", "-d", "--no-build")
    assert up.returncode == 0, up.stderr
    status = f"/api/status?token={project.variables['LAB_TOKEN']}"
    wait_until_answering(project.address("lab"), 8888, status)
    return time.monotonic() - started


@pytest.mark.slow
def test_compose_builds_the_lab_runs_a_notebook_against_db_and_keeps_the_work(
    project: ComposeProject,
):
    started = time.monotonic()
    built = project.compose("build", "--force-rm", "lab", timeout=1800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    build_s = time.monotonic() - started

    first_up_s = _up_until_lab_answers(project)
    lab, token = project.address("lab"), project.variables["LAB_TOKEN"]
    assert http_status(lab, 8888, "/api/status") == 403, "JupyterLab answers without its token"
    published = int(project.variables["LAB_PORT"])
    assert http_status("127.0.0.1", published, f"/api/status?token={token}") == 200
    specs = http_json(lab, 8888, f"/api/kernelspecs?token={token}")["kernelspecs"]
    assert (
        "--IPKernelApp.extensions=asyncdb_lab.learner.preload" in specs["python3"]["spec"]["argv"]
    )

    mounts = project.container("lab")["Mounts"]
    assert [(m["Type"], m["Destination"]) for m in mounts] == [("volume", "/course/workspace")]
    assert not project.container("db")["HostConfig"]["PortBindings"]

    backend = _exec_lab(project, "asyncdb-lab", "backend")
    assert backend.returncode == 0 and backend.stdout.startswith("url"), backend
    solved = _exec_lab(project, "cp", SOLUTION, LEARNER_COPY)
    assert solved.returncode == 0, solved.stderr
    checked = _exec_lab(project, "asyncdb-lab", "check", "00")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every cell run top to bottom" in checked.stdout
    assert "3 of 3 points" in checked.stdout

    down = project.compose("down")
    assert down.returncode == 0, down.stderr
    assert project.leftovers()["containers"] == []
    second_up_s = _up_until_lab_answers(project)
    kept = _exec_lab(project, "cmp", SOLUTION, LEARNER_COPY)
    assert kept.returncode == 0, f"the learner's notebook changed across down/up: {kept.stdout}"

    removed = project.compose("down", "-v")
    assert removed.returncode == 0, removed.stderr
    assert project.leftovers() == {"containers": [], "networks": [], "volumes": []}
    print(
        f"\ncompose: lab image built in {build_s:.0f} s; up to JupyterLab answering "
        f"{first_up_s:.1f} s (first), {second_up_s:.1f} s (after down); "
        f"whole test {time.monotonic() - started:.0f} s"
    )
