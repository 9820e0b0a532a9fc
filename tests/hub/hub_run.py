"""A JupyterHub run of deploy/jupyterhub/jupyterhub_config.py for the tests, and what it leaves.

The test's config file loads the deployment's, then overrides only ports and paths, and adds a
service token for the test itself (it stands for the admin, and for each learner's browser it
asks the hub for the learner's own token). Settings go in as the deployment documents them:
environment variables.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from asyncdb_lab.settings import REPO

DEPLOY_CONFIG = REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"
PROXY = REPO / ".venv" / "node_modules" / ".bin" / "configurable-http-proxy"
JUPYTERHUB = Path(sys.executable).parent / "jupyterhub"

TEST_CONFIG = """
c = get_config()
load_subconfig({deploy!r})
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.JupyterHub.services.append({{"name": "hub-test", "api_token": {token!r}}})
c.JupyterHub.load_roles.append({{
    "name": "hub-test",
    "scopes": ["admin:users", "admin:servers", "tokens", "list:users"],
    "services": ["hub-test"],
}})
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Hub:
    def __init__(self, admin_url: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="asyncdb-lab-hub-"))
        self.tmp = self.folder / "tmp"
        self.tmp.mkdir()
        self.port, self.hub_port, self.proxy_api_port = free_port(), free_port(), free_port()
        self.token = secrets.token_hex(16)
        self.config = self.folder / "test_config.py"
        self.config.write_text(
            TEST_CONFIG.format(
                deploy=str(DEPLOY_CONFIG),
                hub_port=self.hub_port,
                proxy_api_port=self.proxy_api_port,
                token=self.token,
            )
        )
        self.log = self.folder / "hub.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCDB_LAB_")}
        env.update(
            ASYNCDB_LAB_ADMIN_URL=admin_url,
            ASYNCDB_LAB_HUB_STATE=str(self.folder / "state"),
            ASYNCDB_LAB_HUB_SPAWNER="simple",
            ASYNCDB_LAB_HUB_AUTHENTICATOR="dummy",
            ASYNCDB_LAB_HUB_PORT=str(self.port),
            ASYNCDB_LAB_LEARNER_TMPDIR=str(self.tmp),
            TMPDIR=str(self.tmp),
        )
        self.env = env
        self.process = self.launch()
        self.url = f"http://127.0.0.1:{self.port}"

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the hub (again: after a kill -9, on the same folder and ports)."""
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [str(JUPYTERHUB), "-f", str(self.config)],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill9(self) -> None:
        """Only the hub: its proxy and servers run on (its services die with it)."""
        self.process.kill()
        self.process.wait()

    def server_process(self, user: str) -> psutil.Process:
        """The learner's jupyterhub-singleuser (it runs in the learner's home)."""
        home = str(self.folder / "state" / "homes" / user)
        for process in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            if "jupyterhub-singleuser" in cmdline and home in cmdline:
                return process
        raise AssertionError(f"no server of {user} runs")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        request = HTTPRequest(
            f"{self.url}/hub/api{path}",
            method=method,
            headers={"Authorization": f"token {token or self.token}"},
            body=None if body is None else json.dumps(body),
            allow_nonstandard_methods=True,
            request_timeout=60,
        )
        response = await AsyncHTTPClient().fetch(request)
        return json.loads(response.body) if response.body else None

    async def wait_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the hub exited early:\n{self.log_tail()}")
            try:
                await self.api("GET", "/")
                return
            except (OSError, HTTPClientError):
                await asyncio.sleep(0.2)
        raise AssertionError(f"the hub did not answer within {timeout} s:\n{self.log_tail()}")

    async def start_server(self, user: str, timeout: float = 120) -> str:
        """Start the learner's server through the REST API; its URL prefix once it is ready."""
        await self.api("POST", f"/users/{quote(user, safe='')}/server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = await self.api("GET", f"/users/{quote(user, safe='')}")
            server = model["servers"].get("")
            if server and server["ready"]:
                return str(server["url"])
            await asyncio.sleep(0.25)
        raise AssertionError(f"{user}'s server was not ready in {timeout} s:\n{self.log_tail()}")

    async def stop_server(self, user: str, timeout: float = 120) -> None:
        await self.api("DELETE", f"/users/{quote(user, safe='')}/server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = await self.api("GET", f"/users/{quote(user, safe='')}")
            if not model["servers"] and not model.get("pending"):
                return
            await asyncio.sleep(0.25)
        raise AssertionError(f"{user}'s server did not stop in {timeout} s:\n{self.log_tail()}")

    async def user_token(self, user: str) -> str:
        answer = await self.api(
            "POST", f"/users/{quote(user, safe='')}/tokens", {"note": "hub test browser"}
        )
        return str(answer["token"])

    def stop(self) -> None:
        """SIGTERM, as systemd would: the hub stops the servers (post_stop_hook) and the proxy."""
        from support.processes import stop_process_group

        if self.process.poll() is None:
            stop_process_group(self.process)

    def leftovers(self) -> list[str]:
        """Processes of this hub (hub, proxy, services, servers, kernels), files in its temp folder.

        A process is this hub's when its command line names the hub's folder or ports, or its
        environment does (the services' and servers' JUPYTERHUB_API_URL, everyone's TMPDIR).
        """
        found = [f"file {path}" for path in self.tmp.rglob("*")]
        markers = (str(self.folder), f"--api-port {self.proxy_api_port}", f":{self.port}")
        api = f"127.0.0.1:{self.hub_port}/"
        for process in psutil.process_iter(["pid", "cmdline", "status"]):
            if process.info["status"] == psutil.STATUS_ZOMBIE or process.pid == os.getpid():
                continue
            cmdline = " ".join(process.info["cmdline"] or [])
            try:
                environ = process.environ()
            except psutil.Error:
                environ = {}
            if (
                any(marker in cmdline for marker in markers)
                or api in environ.get("JUPYTERHUB_API_URL", "")
                or environ.get("TMPDIR") == str(self.tmp)
            ):
                found.append(f"process {process.info['pid']}: {cmdline[:150]}")
        return found

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class Learner:
    """A learner's JupyterLab, as the browser drives it: contents, sessions, kernel websocket."""

    def __init__(self, hub: Hub, name: str, prefix: str, token: str) -> None:
        self.hub, self.name, self.prefix, self.token = hub, name, prefix, token
        self.base = f"{hub.url}{prefix}"

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        response = await AsyncHTTPClient().fetch(
            HTTPRequest(
                f"{self.base}{path}",
                method=method,
                headers={"Authorization": f"token {self.token}"},
                body=None if body is None else json.dumps(body),
                request_timeout=60,
            )
        )
        return json.loads(response.body) if response.body else None

    async def save(self, path: str, notebook: dict) -> None:
        await self.request("PUT", f"api/contents/{path}", {"type": "notebook", "content": notebook})

    async def open_kernel(self, path: str) -> Kernel:
        session = await self.request(
            "POST",
            "api/sessions",
            {"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}},
        )
        kernel_id = session["kernel"]["id"]
        client_session = uuid.uuid4().hex
        ws_url = self.base.replace("http://", "ws://")
        connection = await websocket_connect(
            HTTPRequest(
                f"{ws_url}api/kernels/{kernel_id}/channels?session_id={client_session}",
                headers={"Authorization": f"token {self.token}"},
            )
        )
        return Kernel(self, session["id"], connection, client_session)


class Kernel:
    def __init__(self, learner: Learner, session_id: str, connection: Any, client: str) -> None:
        self.learner, self.session_id = learner, session_id
        self.connection = connection
        self.session = client

    async def run(self, code: str, timeout: float = 180) -> tuple[str, list[str]]:
        """Execute `code`; its text output and its errors ("Name: value")."""
        msg_id = uuid.uuid4().hex
        await self.connection.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": "learner",
                        "session": self.session,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": False,
                    },
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        text: list[str] = []
        errors: list[str] = []
        idle = replied = False
        deadline = time.monotonic() + timeout
        while not (idle and replied):
            raw = await asyncio.wait_for(
                self.connection.read_message(), max(deadline - time.monotonic(), 0.1)
            )
            if raw is None:
                raise AssertionError("the kernel's websocket closed")
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                text.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                replied = True
        return "".join(text), errors

    async def shut_down(self) -> None:
        """Close the notebook, as JupyterLab's "Shut Down Kernel" does."""
        self.connection.close()
        await self.learner.request("DELETE", f"api/sessions/{self.session_id}")
