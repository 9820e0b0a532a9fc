"""Which backend is chosen, and what a person reads when the one they asked for cannot run."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncdb_lab.errors import BackendUnavailable
from asyncdb_lab.servers.base import choose_backend, start_server
from asyncdb_lab.servers.docker import docker_reachability


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    socket_path = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
    monkeypatch.delenv("ASYNCDB_LAB_BACKEND", raising=False)
    monkeypatch.delenv("ASYNCDB_LAB_DATABASE_URL", raising=False)
    return socket_path


@contextlib.contextmanager
def daemon_answering(socket_path: Path, reply: bytes) -> Iterator[list[bytes]]:
    """A daemon on `socket_path` that answers one request with `reply`, then stops.

    Yields a list that holds the request's first 100 bytes once the block is left.
    """
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(socket_path))
    server.listen(1)
    server.settimeout(10)  # a block that fails before it connects is not left waiting
    requests: list[bytes] = []

    def answer() -> None:
        conn, _ = server.accept()
        requests.append(conn.recv(100))
        conn.sendall(reply)
        conn.close()

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        yield requests
    finally:
        thread.join()
        server.close()


def test_without_docker_the_embedded_server_is_chosen_and_the_reason_given(no_docker: Path):
    choice = choose_backend()
    assert choice.name == "embedded"
    assert choice.reason == f"Docker not reachable: no daemon socket at {no_docker}"


def test_a_socket_that_does_not_answer_like_docker_is_not_docker(no_docker: Path):
    with daemon_answering(no_docker, b"HTTP/1.0 404 Not Found\r\n\r\n"):
        reachable, why = docker_reachability()
    assert not reachable
    assert "did not answer like a Docker daemon" in why


def test_a_daemon_that_answers_ping_is_docker(no_docker: Path):
    with daemon_answering(no_docker, b"HTTP/1.0 200 OK\r\n\r\nOK") as requests:
        choice = choose_backend()
    assert requests[0].startswith(b"GET /_ping")
    assert (choice.name, choice.reason) == ("docker", "a Docker daemon answered")


def test_asking_for_docker_without_docker_fails_in_one_line_with_the_fix(
    no_docker: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ASYNCDB_LAB_BACKEND", "docker")
    with pytest.raises(BackendUnavailable) as caught:
        choose_backend()
    message = str(caught.value)
    assert "\n" not in message
    assert "Docker is not reachable" in message
    assert "unset ASYNCDB_LAB_BACKEND to use the embedded server" in message


def test_an_unknown_backend_name_is_refused_with_the_valid_ones(
    no_docker: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ASYNCDB_LAB_BACKEND", "sqlite")
    with pytest.raises(BackendUnavailable, match="use one of embedded, docker, url"):
        choose_backend()


def test_url_backend_without_a_url_says_which_variable_to_set(
    no_docker: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ASYNCDB_LAB_BACKEND", "url")
    with pytest.raises(BackendUnavailable, match="needs ASYNCDB_LAB_DATABASE_URL"):
        choose_backend()


def test_a_database_url_alone_selects_the_url_backend(
    no_docker: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ASYNCDB_LAB_DATABASE_URL", "postgresql://u:p@localhost:5432/postgres")
    choice = choose_backend()
    assert (choice.name, choice.reason) == ("url", "ASYNCDB_LAB_DATABASE_URL is set")


def test_an_unreachable_url_server_fails_in_one_line_not_a_traceback(
    subprocess_env: dict[str, str], tmp_path: Path
):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess_env["ASYNCDB_LAB_DATABASE_URL"] = (
        f"postgresql://postgres:x@127.0.0.1:{port}/postgres"
    )
    subprocess_env["DOCKER_HOST"] = f"unix://{tmp_path}/none.sock"
    script = (
        "import asyncio\n"
        "from asyncdb_lab import disposable_database, BackendUnavailable\n"
        "async def main():\n"
        "    await disposable_database()\n"
        "try:\n"
        "    asyncio.run(main())\n"
        "except BackendUnavailable as e:\n"
        "    print('ERROR:', e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=subprocess_env, capture_output=True, text=True
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("ERROR:")]
    assert len(lines) == 1, result.stdout + result.stderr
    assert f"(127.0.0.1:{port}): connection refused" in lines[0]
    assert "unset ASYNCDB_LAB_DATABASE_URL to use the embedded server" in lines[0]


@pytest.mark.slow
def test_docker_that_answers_but_cannot_give_a_database_gives_way_to_the_embedded_server(
    no_docker: Path,
):
    """Automatic mode: Docker answered its ping, then could not start a container (here the
    "daemon" stops answering; elsewhere an image that cannot be pulled): the embedded server
    starts instead, and its reason says why."""
    with daemon_answering(no_docker, b"HTTP/1.0 200 OK\r\n\r\nOK"):
        choice = choose_backend()
    assert (choice.name, choice.automatic) == ("docker", True)
    server = start_server(choice)
    try:
        assert server.backend == "embedded"
        assert server.reason.startswith("Docker answered but the postgres:18-alpine container")
        assert server.reason.endswith("; the embedded server instead")
    finally:
        server.stop()


def test_docker_asked_for_by_name_fails_with_its_own_reason_and_the_fix(
    no_docker: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ASYNCDB_LAB_BACKEND", "docker")
    with daemon_answering(no_docker, b"HTTP/1.0 200 OK\r\n\r\nOK"):
        choice = choose_backend()
    assert not choice.automatic
    with pytest.raises(BackendUnavailable) as raised:
        start_server(choice)
    message = str(raised.value)
    assert message.startswith("Docker answered but the postgres:18-alpine container did not start")
    assert message.endswith(
        "Set ASYNCDB_LAB_DOCKER_IMAGE to an image this engine has, or ASYNCDB_LAB_BACKEND=embedded."
    )
    assert "\n" not in message
