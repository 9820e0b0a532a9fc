"""Three learners on the deployment's JupyterHub and one shared PostgreSQL 18, for real.

JupyterHub with configurable-http-proxy (`make install` puts it in .venv), the simple local
spawner and the dummy authenticator; deploy/jupyterhub/jupyterhub_config.py with only ports and
paths changed. Each learner's server is started through the REST API; each runs notebooks 00
and 04 (the solutions, saved into their workspace, every cell through the kernel's websocket
behind the proxy, as JupyterLab does), all three at once. Their checks (the notebooks' last
cell) must score what `asyncdb-lab check` scores on a laptop; no learner may reach another's
database or see its queries; and once the servers and the hub stop, nothing may be left.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from hub_run import PROXY, Hub, Learner

from asyncdb_lab.servers.embedded.server import EmbeddedServer, new_password
from asyncdb_lab.servers.shared_class import LEARNER_ROLE_PREFIX, SharedClass, learner_role_name
from asyncdb_lab.settings import REPO

pytestmark = pytest.mark.slow

NOTEBOOKS = ["00_start_here", "04_transactions_and_locking"]
LEARNERS = ["alice", "bob.smith", "zoë-o'neil"]
PROBE_HOLD = "SELECT 'the secret query of {name}'"


@pytest.fixture
def database_server() -> Iterator[EmbeddedServer]:
    server = EmbeddedServer.start(tcp=True, password=new_password(), max_connections=200)
    try:
        yield server
    finally:
        server.stop()


class LaptopChecks:
    """`asyncdb-lab check` of both solutions on a laptop (the embedded backend), run alongside."""

    def __init__(self) -> None:
        self.workspace = Path(tempfile.mkdtemp(prefix="asyncdb-lab-hub-laptop-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCDB_LAB_")}
        env.update(ASYNCDB_LAB_QUIET="1", ASYNCDB_LAB_SHARED_SERVER="0")
        command = [sys.executable, "-m", "asyncdb_lab.cli"]
        lines = [[*command, "workspace", "--workspace", str(self.workspace)]]
        for topic in NOTEBOOKS:
            copy = self.workspace / topic / f"{topic}.ipynb"
            lines.append(["cp", str(_solution(topic)), str(copy)])
            lines.append([*command, "check", str(copy), "--workspace", str(self.workspace)])
        script = " ; ".join(" ".join(shlex.quote(part) for part in line) for line in lines)
        self.process = subprocess.Popen(
            ["nice", "-n", "19", "sh", "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def results(self) -> dict[str, dict]:
        output, _ = self.process.communicate(timeout=600)
        results = {}
        for topic in NOTEBOOKS:
            path = self.workspace / ".asyncdb-lab" / "results" / f"{topic}.json"
            results[topic] = json.loads(path.read_text()) if path.exists() else {"out": output}
        return results

    def remove(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
        shutil.rmtree(self.workspace, ignore_errors=True)


def _solution(topic: str) -> Path:
    return REPO / "solutions" / topic / f"{topic}.ipynb"


def _scores(result: dict) -> dict:
    """What a check decided, without its times, paths and hashes."""
    return {
        "exercises": {
            exercise["name"]: (
                exercise["status"],
                sorted((t["grade_id"], t["points"], t["status"]) for t in exercise["tests"]),
            )
            for exercise in result.get("exercises", [])
        },
        "problems": result.get("problems", ["no result: " + result.get("out", "")[-2000:]]),
    }


@pytest.mark.skipif(
    not PROXY.exists(), reason="configurable-http-proxy is not installed (make install needs npm)"
)
def test_three_learners_on_the_hub_are_isolated_score_as_on_a_laptop_and_leave_nothing(
    database_server: EmbeddedServer,
):
    laptop = LaptopChecks()
    hub = Hub(database_server.admin_dsn)
    try:
        hub_results = asyncio.run(_class_session(hub, database_server))
        hub.stop()
        laptop_results = laptop.results()
    finally:
        hub.stop()
        leftovers = hub.leftovers()
        log = hub.log_tail()
        hub.remove()
        laptop.remove()
    assert leftovers == [], log
    assert _learner_roles(database_server) == []
    assert _learner_databases(database_server) == []
    for topic in NOTEBOOKS:
        expected = _scores(laptop_results[topic])
        assert expected["exercises"], expected  # the laptop's check found the exercises
        for learner in LEARNERS:
            assert _scores(hub_results[learner][topic]) == expected, (learner, topic)


async def _class_session(hub: Hub, database_server: EmbeddedServer) -> dict[str, dict]:
    await hub.wait_up()
    await hub.api("POST", "/users", {"usernames": LEARNERS})
    prefixes = await asyncio.gather(*(hub.start_server(name) for name in LEARNERS))
    learners = [
        Learner(hub, name, prefix, await hub.user_token(name))
        for name, prefix in zip(LEARNERS, prefixes, strict=True)
    ]
    runs = await asyncio.gather(*(_run_notebooks(learner) for learner in learners))
    for learner, errors in zip(learners, runs, strict=True):
        assert errors == {topic: [] for topic in NOTEBOOKS}, learner.name
    kernels = [await learner.open_kernel("scratch.ipynb") for learner in learners]
    await _check_isolation(learners, kernels, database_server)
    await asyncio.to_thread(_sweep_as_a_hub_service, hub, database_server)
    results = {
        learner.name: {topic: _hub_result(hub, learner.name, topic) for topic in NOTEBOOKS}
        for learner in learners
    }
    for kernel in kernels:
        kernel.connection.close()  # stopping the server ends them
    await asyncio.gather(*(hub.stop_server(name) for name in LEARNERS))
    # post_stop_hook: each role goes with its server, before the hub stops.
    assert await _learner_roles_now(database_server) == []
    return results


async def _run_notebooks(learner: Learner) -> dict[str, list[str]]:
    """Save each solution into the workspace and run all its cells (the check last); errors."""
    errors = {}
    for topic in NOTEBOOKS:
        path = f"{topic}/{topic}.ipynb"
        notebook = json.loads(_solution(topic).read_text())
        await learner.save(path, notebook)
        kernel = await learner.open_kernel(path)
        errors[topic] = []
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                _, cell_errors = await kernel.run("".join(cell["source"]))
                errors[topic].extend(cell_errors)
        await kernel.shut_down()
    return errors


def _hub_result(hub: Hub, user: str, topic: str) -> dict:
    home = hub.folder / "state" / "homes" / user
    return json.loads(
        (home / "workspace" / ".asyncdb-lab" / "results" / f"{topic}.json").read_text()
    )


async def _check_isolation(learners, kernels, database_server: EmbeddedServer) -> None:  # type: ignore[no-untyped-def]
    names = {}
    for learner, kernel in zip(learners, kernels, strict=True):
        # A session that stays, its last query known.
        hold = PROBE_HOLD.format(name=learner.name.replace("'", ""))
        output, errors = await kernel.run(
            "import asyncpg, os\n"
            "from asyncdb_lab import disposable_database\n"
            "db = await disposable_database()\n"
            "held = await asyncpg.connect(os.environ['ASYNCDB_LAB_DATABASE_URL'])\n"
            f"await held.execute({hold!r})\n"
            "print(db.name)"
        )
        assert errors == []
        names[learner.name] = output.strip().splitlines()[-1]  # after the setup line
    for index, kernel in enumerate(kernels):
        other = learners[(index + 1) % len(learners)]
        output, errors = await kernel.run(
            "import json\n"
            "base = os.environ['ASYNCDB_LAB_DATABASE_URL'].rsplit('/', 1)[0]\n"
            "try:\n"
            f"    conn = await asyncpg.connect(base + '/' + {names[other.name]!r})\n"
            "except asyncpg.PostgresError as error:\n"
            "    print('REFUSED', type(error).__name__)\n"
            "else:\n"
            "    await conn.close()\n"
            "    print('CONNECTED')\n"
            "probe = await asyncpg.connect(os.environ['ASYNCDB_LAB_DATABASE_URL'])\n"
            'rows = await probe.fetch("SELECT usename, query FROM pg_stat_activity "\n'
            "    \"WHERE usename <> current_user AND starts_with(usename, 'adl_learner_')\")\n"
            "await probe.close()\n"
            "print(json.dumps([list(row) for row in rows]))"
        )
        assert errors == []
        verdict, seen = output.strip().splitlines()
        assert verdict == "REFUSED InsufficientPrivilegeError", output
        others = {role for role, _ in json.loads(seen)}
        assert learner_role_name(other.name) in others
        assert {query for _, query in json.loads(seen)} == {"<insufficient privilege>"}
    # The admin does see those queries: the probe above could have seen them too.
    rows = await _admin_fetch(database_server, "SELECT query FROM pg_stat_activity")
    assert sum("the secret query of" in (row[0] or "") for row in rows) == len(learners)


def _sweep_as_a_hub_service(hub: Hub, database_server: EmbeddedServer) -> None:
    """The sweeper service's command keeps the running learners, drops a role left behind."""
    SharedClass(database_server.admin_dsn).learner("ghost")  # a server gone in a crash
    env = {
        **hub.env,
        "JUPYTERHUB_API_URL": f"{hub.url}/hub/api",
        "JUPYTERHUB_API_TOKEN": hub.token,
    }
    command = [sys.executable, "-m", "asyncdb_lab.cli", "provision", "sweep", "--hub"]
    swept = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert (swept.returncode, swept.stderr) == (0, "")
    assert swept.stdout.splitlines() == [
        "Dropped the role and databases of 'ghost': no server of theirs runs."
    ]
    roles = asyncio.run(_learner_roles_now(database_server))
    assert sorted(roles) == sorted(learner_role_name(name) for name in LEARNERS)


async def _admin_fetch(server: EmbeddedServer, query: str) -> list:
    conn = await asyncpg.connect(server.admin_dsn)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def _learner_roles_now(server: EmbeddedServer) -> list[str]:
    query = f"SELECT rolname FROM pg_roles WHERE starts_with(rolname, '{LEARNER_ROLE_PREFIX}')"
    return [row[0] for row in await _admin_fetch(server, query)]


def _learner_roles(server: EmbeddedServer) -> list[str]:
    return asyncio.run(_learner_roles_now(server))


def _learner_databases(server: EmbeddedServer) -> list[str]:
    rows = asyncio.run(
        _admin_fetch(
            server,
            "SELECT datname FROM pg_database WHERE datname <> 'postgres' AND NOT datistemplate",
        )
    )
    return [row[0] for row in rows]


@pytest.mark.skipif(
    not PROXY.exists(), reason="configurable-http-proxy is not installed (make install needs npm)"
)
def test_after_a_kill_9_of_the_hub_and_a_server_the_next_start_cleans_up(
    database_server: EmbeddedServer,
):
    """The dead server is stopped (its role dropped), a role no server has is swept, the old
    proxy is ended; the old hub's services died with it."""
    hub = Hub(database_server.admin_dsn)
    try:
        asyncio.run(_crash(hub, database_server))
        hub.kill9()
        hub.server_process("dora").kill()  # a server that did not survive the crash
        hub.process = hub.launch()
        asyncio.run(_recovered(hub, database_server))
        hub.stop()
        leftovers = hub.leftovers()
    finally:
        hub.stop()
        log = hub.log.read_text(errors="replace")
        hub.remove()
    assert leftovers == [], log[-5000:]
    # Each by the way it should have gone: the dead server stopped by the new hub (so its
    # post_stop_hook ran), the role without a server by the sweeper service, the proxy by the hub.
    assert "appears to have stopped while the Hub was down" in log
    assert "Dropped the role and databases of 'ghost'" in log
    assert "Proxy still running" in log
    assert _learner_roles(database_server) == []
    assert _learner_databases(database_server) == []


async def _crash(hub: Hub, database_server: EmbeddedServer) -> None:
    await hub.wait_up()
    await hub.api("POST", "/users", {"usernames": ["dora"]})
    learner = Learner(hub, "dora", await hub.start_server("dora"), await hub.user_token("dora"))
    kernel = await learner.open_kernel("scratch.ipynb")
    _, errors = await kernel.run(
        "from asyncdb_lab import disposable_database\ndb = await disposable_database(seed=True)"
    )
    assert errors == []
    kernel.connection.close()
    await asyncio.to_thread(SharedClass(database_server.admin_dsn).learner, "ghost")
    assert len(await _learner_roles_now(database_server)) == 2
    assert await asyncio.to_thread(_learner_databases, database_server) != []


async def _recovered(hub: Hub, database_server: EmbeddedServer) -> None:
    await hub.wait_up()
    deadline = asyncio.get_running_loop().time() + 60
    while asyncio.get_running_loop().time() < deadline:
        model = await hub.api("GET", "/users/dora")
        if not model["servers"] and not await _learner_roles_now(database_server):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(
        f"left after the restart: {await _learner_roles_now(database_server)}:\n{hub.log_tail()}"
    )
