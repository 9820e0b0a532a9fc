"""JupyterHub for Async DB Lab on one host: every learner's server, one shared PostgreSQL.

Run it from the course's virtual environment (`.venv/bin/jupyterhub -f THIS_FILE`), as root
for the default spawner (servers run as the learners' system users). Each learner's server gets
a login role of its own on the shared PostgreSQL 17+ server (`asyncdb-lab provision`): the
notebooks' url backend clones the course templates there, and a login trigger keeps every
learner out of every other learner's databases. When a server stops (by the learner, the idle
culler or the hub's shutdown), the role, its sessions and its databases go. A hub service
sweeps the roles of learners whose servers are gone (after a kill -9), at start and every
five minutes.

Settings (environment variables of the hub):

  ASYNCDB_LAB_ADMIN_URL         required: a superuser's URL of the shared PostgreSQL 17+, e.g.
                                postgresql://postgres:SECRET@db.internal:5432/postgres
  ASYNCDB_LAB_LEARNER_HOST      that server's host name as the learners' servers reach it
                                (default: the admin URL's host)
  ASYNCDB_LAB_CONNECTION_LIMIT  connections each learner's role may open (default 50)
  ASYNCDB_LAB_SIZE_LIMIT_MB     temp_file_limit of each learner's role, MB (default 512)
  ASYNCDB_LAB_HUB_STATE         the hub's folder: database, cookie secret, proxy pid file, and
                                the learners' homes for the simple spawner
                                (default /srv/asyncdb-lab-hub)
  ASYNCDB_LAB_HUB_SPAWNER       localprocess (default: system users, PAM) or simple (one OS
                                user for all: for tests only, it isolates nobody's files)
  ASYNCDB_LAB_HUB_AUTHENTICATOR pam (default) or dummy (any password: for tests only)
  ASYNCDB_LAB_HUB_PORT          the public port (default 8000)
  ASYNCDB_LAB_IDLE_TIMEOUT      seconds without activity before a server is culled (default 3600)
  ASYNCDB_LAB_LEARNER_TMPDIR    TMPDIR of the learners' servers (default: not set, i.e. /tmp)

Every other JupyterHub setting can be given after this file on the command line
(`--JupyterHub.hub_port=8081`, say), which wins over what is set here.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sys
from pathlib import Path

import asyncdb_lab.learner
from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.servers.shared_class import SharedClass
from asyncdb_lab.settings import (
    BACKEND_ENV,
    DATABASE_URL_ENV,
    QUIET_ENV,
    REPO,
    WORKSPACE_ENV,
)

c = get_config()  # type: ignore[name-defined]  # noqa: F821 (given by JupyterHub)

ADMIN_URL = os.environ.get("ASYNCDB_LAB_ADMIN_URL", "")
STATE = Path(os.environ.get("ASYNCDB_LAB_HUB_STATE", "/srv/asyncdb-lab-hub"))
BIN = Path(sys.executable).parent  # the course's .venv/bin: jupyterhub-singleuser, asyncdb-lab
LEARNER_DIR = Path(asyncdb_lab.learner.__file__).parent
LAB_CONFIG = LEARNER_DIR / "lab_config"  # as `make lab`: no nbgrader instructor panels
LAB_DATA = LEARNER_DIR / "lab_data"  # the python3 kernelspec that preloads the course library
PROXY = REPO / ".venv" / "node_modules" / ".bin" / "configurable-http-proxy"  # `make install`
IDLE_TIMEOUT = int(os.environ.get("ASYNCDB_LAB_IDLE_TIMEOUT", "3600"))
SWEEP_EVERY = 300

if not ADMIN_URL:
    sys.exit(
        "jupyterhub_config.py: set ASYNCDB_LAB_ADMIN_URL to a superuser's URL of the class's "
        "PostgreSQL 17+ server (postgresql://postgres:SECRET@HOST:5432/postgres)."
    )
try:
    SHARED_CLASS = SharedClass(
        ADMIN_URL,
        connection_limit=int(os.environ.get("ASYNCDB_LAB_CONNECTION_LIMIT", "50")),
        size_limit=int(os.environ.get("ASYNCDB_LAB_SIZE_LIMIT_MB", "512")) * 1024**2,
        learner_host=os.environ.get("ASYNCDB_LAB_LEARNER_HOST") or None,
    )
    # Guard, templates, lock-down: quick when done already (each step checks first).
    SHARED_CLASS.setup()
except (AsyncDbLabError, OSError) as error:
    sys.exit(f"jupyterhub_config.py: the class's PostgreSQL is not ready: {error}")

STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.port = int(os.environ.get("ASYNCDB_LAB_HUB_PORT", "8000"))
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
if PROXY.exists():
    c.ConfigurableHTTPProxy.command = [str(PROXY)]
# One server per learner: its role is the learner's, and stopping any server drops it.
c.JupyterHub.allow_named_servers = False
c.JupyterHub.cleanup_servers = True  # a hub that stops stops the servers: their roles go too

c.JupyterHub.spawner_class = os.environ.get("ASYNCDB_LAB_HUB_SPAWNER", "localprocess")
c.JupyterHub.authenticator_class = os.environ.get("ASYNCDB_LAB_HUB_AUTHENTICATOR", "pam")
c.Authenticator.allow_all = True
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "homes" / "{username}")


def _home(spawner) -> Path:  # type: ignore[no-untyped-def]
    home = getattr(spawner, "home_dir", None)  # the simple spawner's
    if home:
        return Path(home)
    import pwd

    return Path(pwd.getpwnam(spawner.user.name).pw_dir)


def _learner_environment(spawner, database_url: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What `make lab` sets, plus the learner's database."""
    environment = {
        DATABASE_URL_ENV: database_url,
        BACKEND_ENV: "url",
        WORKSPACE_ENV: str(_home(spawner) / "workspace"),
        "JUPYTER_CONFIG_PATH": str(LAB_CONFIG),
        "JUPYTER_PATH": str(LAB_DATA),
        "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
        QUIET_ENV: os.environ.get(QUIET_ENV, "0"),
    }
    if os.environ.get("ASYNCDB_LAB_LEARNER_TMPDIR"):
        environment["TMPDIR"] = os.environ["ASYNCDB_LAB_LEARNER_TMPDIR"]
    return environment


async def provision_learner(spawner) -> None:  # type: ignore[no-untyped-def]
    """pre_spawn_hook: a fresh login role (any earlier one, its sessions and databases go)."""
    learner = await asyncio.to_thread(SHARED_CLASS.learner, spawner.user.name)
    # A new dict: the configured one is shared by every spawner.
    spawner.environment = {
        **spawner.environment,
        **_learner_environment(spawner, learner.url),
    }


async def drop_learner(spawner) -> None:  # type: ignore[no-untyped-def]
    """post_stop_hook: end the role's sessions, drop its databases and the role."""
    try:
        dropped = await asyncio.to_thread(SHARED_CLASS.drop, spawner.user.name)
    except Exception as error:  # the sweep service tries again within five minutes
        spawner.log.error("asyncdb-lab: could not drop %s's role: %s", spawner.user.name, error)
    else:
        spawner.log.info("asyncdb-lab: dropped %s's role (%s)", spawner.user.name, dropped)


c.Spawner.pre_spawn_hook = provision_learner
c.Spawner.post_stop_hook = drop_learner
# The server first copies in the notebooks the course has gained (never overwriting, as
# `make lab` does), then opens JupyterLab on the workspace; terminals run the learner's shell,
# interactive but not a login shell, which would set PATH afresh (the Makefile's LAB_TERMINAL).
c.Spawner.cmd = [
    "/bin/sh",
    "-c",
    f'{shlex.quote(str(BIN / "asyncdb-lab"))} workspace --workspace "${WORKSPACE_ENV}" && '
    f'cd "${WORKSPACE_ENV}" && exec {shlex.quote(str(BIN / "jupyterhub-singleuser"))} '
    f'--ServerApp.root_dir="${WORKSPACE_ENV}" '
    '--ServerApp.terminado_settings="shell_command=[\\"${SHELL:-/bin/sh}\\",\\"-i\\"]" "$@"',
    "jupyterhub-singleuser",
]
c.Spawner.args = []
if os.geteuid() == 0:  # the simple spawner runs the servers as the hub's user
    c.Spawner.args.append("--ServerApp.allow_root=True")
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# The services end with the hub, even when it is killed (kill -9): the next hub starts its own.
DIE_WITH_HUB = (
    [setpriv, "--pdeathsig", "TERM", "--"] if (setpriv := shutil.which("setpriv")) else []
)
hub_environment = {
    "ASYNCDB_LAB_ADMIN_URL": ADMIN_URL,
    "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
}
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            *DIE_WITH_HUB,
            str(BIN / "python"),
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={IDLE_TIMEOUT}",
            f"--cull-every={max(IDLE_TIMEOUT // 10, 10)}",
        ],
    },
    {
        # After a kill -9 of the hub, the roles of servers that did not survive it.
        "name": "asyncdb-lab-sweeper",
        "command": [
            *DIE_WITH_HUB,
            str(BIN / "asyncdb-lab"),
            "provision",
            "sweep",
            "--hub",
            "--every",
            str(SWEEP_EVERY),
        ],
        "environment": hub_environment,
    },
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
    {
        "name": "asyncdb-lab-sweeper",
        "scopes": ["list:users", "read:users:name", "read:servers"],
        "services": ["asyncdb-lab-sweeper"],
    },
]
