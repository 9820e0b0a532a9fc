"""The Docker Engine's HTTP API over its socket, with the standard library only.

A shared container's watchdog (embedded/shared_watchdog.py, run with `python -I`) inspects and
removes its container through this, and the orphan sweep (docker.py) lists and removes the
course's containers with it. Neither needs the docker SDK, nor a `docker` program on PATH: pip
installs no CLI, and a kernel's PATH may not have Docker Desktop's. Like docker_reachability(),
it speaks to unix:// and plain tcp:// engines (no TLS).
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote, urlencode, urlparse

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


class EngineError(Exception):
    """The engine could not be reached, or refused a request."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Engine:
    """One Docker engine, named as DOCKER_HOST names it; every call is one short connection."""

    def __init__(self, docker_host: str, *, timeout: float = 30.0) -> None:
        self.docker_host = docker_host or DEFAULT_DOCKER_HOST
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        parsed = urlparse(self.docker_host)
        if parsed.scheme == "unix":
            return _UnixConnection(parsed.path, self.timeout)
        if parsed.scheme in ("tcp", "http"):
            return http.client.HTTPConnection(
                parsed.hostname or "localhost", parsed.port or 2375, timeout=self.timeout
            )
        raise EngineError(f"DOCKER_HOST={self.docker_host} is not a unix:// or tcp:// address")

    def request(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        """(status, body) of one request; EngineError when the engine cannot be reached."""
        connection = self._connection()
        try:
            if body is None:
                connection.request(method, path)
            else:
                data = json.dumps(body).encode()
                connection.request(
                    method, path, body=data, headers={"Content-Type": "application/json"}
                )
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            raise EngineError(f"{self.docker_host}: {error}") from None
        finally:
            connection.close()

    def _json(self, method: str, path: str, body: object = None, *, ok: int = 200) -> Any:
        status, data = self.request(method, path, body)
        if status != ok:
            raise EngineError(f"{method} {path}: {status} {_message(data)}")
        return json.loads(data) if data else None

    def version(self) -> str:
        """The engine's version; EngineError when it does not answer its API."""
        return str(self._json("GET", "/version").get("Version", "?"))

    def has_image(self, name: str) -> bool:
        status, data = self.request("GET", f"/images/{quote(name, safe='')}/json")
        if status not in (200, 404):
            raise EngineError(f"GET /images/{name}/json: {status} {_message(data)}")
        return status == 200

    def inspect(self, container_id: str) -> dict[str, Any] | None:
        """The container's description, None when the engine has no such container."""
        status, data = self.request("GET", f"/containers/{quote(container_id)}/json")
        if status == 404:
            return None
        if status != 200:
            raise EngineError(f"inspecting {container_id[:12]}: {status} {_message(data)}")
        description: dict[str, Any] = json.loads(data)
        return description

    def is_running(self, container_id: str) -> bool:
        description = self.inspect(container_id)
        return bool(description and description.get("State", {}).get("Running"))

    def remove(self, container_id: str) -> bool:
        """Remove the container (killing it) and its anonymous volumes; False if it was gone."""
        status, data = self.request("DELETE", f"/containers/{quote(container_id)}?force=1&v=1")
        if status == 404:
            return False
        if status not in (200, 204):
            raise EngineError(f"removing {container_id[:12]}: {status} {_message(data)}")
        return True

    def containers(self, label: str) -> list[dict[str, Any]]:
        """Every container, running or not, that carries `label` (its summary: Id, Labels, …)."""
        query = urlencode({"all": "1", "filters": json.dumps({"label": [label]})})
        listed: list[dict[str, Any]] = self._json("GET", f"/containers/json?{query}")
        return listed

    def exec_output(
        self, container_id: str, command: list[str], *, env: tuple[str, ...] = ()
    ) -> str:
        """Run `command` in the container; return what it printed (stdout, then stderr)."""
        config = {"Cmd": command, "Env": list(env), "AttachStdout": True, "AttachStderr": True}
        created = self._json("POST", f"/containers/{quote(container_id)}/exec", config, ok=201)
        # Not upgraded, the engine answers 200 and streams the output until the command ends.
        status, data = self.request("POST", f"/exec/{created['Id']}/start", {"Detach": False})
        if status != 200:
            raise EngineError(f"exec in {container_id[:12]}: {status} {_message(data)}")
        return _demultiplex(data)


def _demultiplex(stream: bytes) -> str:
    """stdout then stderr of an exec without a terminal: frames of an 8-byte header (stream
    number, three zero bytes, big-endian length) and that many bytes."""
    outputs: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
    at = 0
    while at + 8 <= len(stream):
        kind, length = stream[at], int.from_bytes(stream[at + 4 : at + 8], "big")
        outputs.setdefault(kind, bytearray()).extend(stream[at + 8 : at + 8 + length])
        at += 8 + length
    return (bytes(outputs[1]) + bytes(outputs[2])).decode(errors="replace")


def _message(data: bytes) -> str:
    try:
        return str(json.loads(data).get("message", "")).strip()
    except (ValueError, AttributeError):
        return data.decode(errors="replace").strip()[:200]
