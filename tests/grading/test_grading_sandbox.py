"""The sandbox a learner's kernel runs in, tried with a small Python program instead of a kernel."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.observe import running_processes
from support.processes import wait_until

from asyncdb_lab.grading.sandbox import (
    KERNEL_UID_BASE,
    KERNEL_UIDS,
    Limits,
    SandboxSpec,
    check_sandbox,
    make_spec,
    memory_limit_hit,
    orphan_cgroups,
    remove_cgroups,
)
from asyncdb_lab.settings import REPO

pytestmark = pytest.mark.slow

PROBE = r"""
import json, os, resource, socket, sys
seen = {}
for path in sys.argv[1:]:
    try:
        seen[path] = sorted(os.listdir(path)) if os.path.isdir(path) else open(path).read()[:20]
    except OSError as error:
        seen[path] = type(error).__name__
print(json.dumps({
    "uid": os.getuid(), "pid": os.getpid(), "host": socket.gethostname(), "cwd": os.getcwd(),
    "proc": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "memory": resource.getrlimit(resource.RLIMIT_AS)[0], "seen": seen,
    "connection": open("/tmp/.kernel-connection.json").read(),
}))
"""


_specs: list[SandboxSpec] = []  # of the current test: their cgroups go after it


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="asyncdb-lab-sandbox-"))
    (path / "view").mkdir()
    (path / "secret.txt").write_text("the answers")
    (path / "connection.json").write_text('{"key": "kernel-only"}')
    yield path
    for spec in _specs:
        remove_cgroups(spec)
    _specs.clear()
    shutil.rmtree(path, ignore_errors=True)


def new_spec(
    folder: Path, slot: int = 0, limits: Limits | None = None, database_socket: Path | None = None
) -> SandboxSpec:
    limits = limits or Limits(memory_bytes=1024**3)
    spec = make_spec(folder / "view", f"grade-{slot}", limits, database_socket=database_socket)
    _specs.append(spec)
    return spec


def sandboxed(folder: Path, code: str, *args: str, slot: int = 0) -> list[str]:
    return command(new_spec(folder, slot), folder, code, *args)


def command(spec: SandboxSpec, folder: Path, code: str, *args: str) -> list[str]:
    return spec.command([sys.executable, "-c", code, *args, "-f", str(folder / "connection.json")])


def kernel_said(output: str) -> str:
    """The kernel's output, as the launcher forwards it: without the prefix of each line."""
    return "\n".join(line.split("] ", 1)[1] for line in output.splitlines() if "] " in line)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")


@needs_root
def test_the_kernel_sees_only_python_the_library_and_the_seed_data(folder: Path):
    looked_at = [
        str(REPO / "solutions"),
        str(REPO / "grader"),
        str(REPO),
        str(folder / "secret.txt"),
        "/root",
        "/home",
        "/etc/shadow",
    ]
    result = subprocess.run(
        sandboxed(folder, PROBE, *looked_at, slot=3), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(kernel_said(result.stdout))
    assert KERNEL_UID_BASE <= report["uid"] < KERNEL_UID_BASE + KERNEL_UIDS
    assert (report["pid"], report["proc"]) == (2, [1, 2])
    assert report["host"] == "grade-3"
    assert report["cwd"] == "/tmp"
    assert report["memory"] == 1024**3
    assert report["connection"] == '{"key": "kernel-only"}'
    seen = report["seen"]
    assert seen[str(REPO / "solutions")] == "FileNotFoundError"
    assert seen[str(REPO / "grader")] == "FileNotFoundError"
    assert seen[str(REPO)] == [".venv", "data", "src"]
    assert seen[str(folder / "secret.txt")] == "FileNotFoundError"
    assert seen["/root"] in ("FileNotFoundError", [".pyenv"])  # only an interpreter under it
    assert seen["/home"] == "FileNotFoundError"
    assert seen["/etc/shadow"] == "PermissionError"


@needs_root
def test_everything_the_kernel_started_dies_with_it(folder: Path):
    token = _token()
    code = (
        "import subprocess, time\n"
        f"subprocess.Popen(['sleep', '{token}'], start_new_session=True)\n"
        "print('started', flush=True)\n"
        f"time.sleep({token})\n"
    )
    with subprocess.Popen(
        sandboxed(folder, code), stdout=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        assert process.stdout is not None
        assert kernel_said(process.stdout.readline()) == "started"
        two_running = wait_until(lambda: len(_kernel_user_processes(token)) == 2)
        assert two_running, _kernel_user_processes(token)
        os.killpg(process.pid, signal.SIGKILL)  # what jupyter_client does to a kernel it kills
    assert wait_until(lambda: not _kernel_user_processes(token)), _kernel_user_processes(token)


@needs_root
def test_an_interrupt_reaches_the_kernel(folder: Path):
    code = (
        "import time\n"
        "try:\n"
        "    print('ready', flush=True)\n"  # inside the try, so an early SIGINT is caught too
        "    time.sleep(60)\n"
        "except KeyboardInterrupt:\n    print('interrupted', flush=True)\n"
    )
    with subprocess.Popen(
        sandboxed(folder, code), stdout=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        assert process.stdout is not None
        assert kernel_said(process.stdout.readline()) == "ready"
        os.killpg(process.pid, signal.SIGINT)  # jupyter_client's interrupt
        assert kernel_said(process.stdout.readline()) == "interrupted"
        assert process.wait(timeout=120) == 0


@needs_root
def test_the_kernel_dies_when_its_grading_worker_dies(folder: Path):
    token = _token()
    # A stand-in worker starts a sandboxed sleeper, as SandboxedKernelManager does, and dies.
    worker = (
        "import os, subprocess, sys, time\n"
        "from pathlib import Path\n"
        "from asyncdb_lab.grading.sandbox import Limits, make_spec\n"
        f"spec = make_spec(Path({str(folder / 'view')!r}), 'grade-0', Limits())\n"
        f"code = 'import time; time.sleep({token})'\n"
        f"kernel = [sys.executable, '-c', code, '-f', {str(folder / 'connection.json')!r}]\n"
        "subprocess.Popen(spec.command(kernel, parent=os.getpid()))\n"
        "time.sleep(300)\n"
    )
    with subprocess.Popen([sys.executable, "-c", worker], start_new_session=True) as process:
        assert wait_until(lambda: bool(_kernel_user_processes(token)))
        process.kill()
    assert wait_until(lambda: not _kernel_user_processes(token)), _kernel_user_processes(token)
    # Nobody else is left to remove its cgroups: the launcher did.
    assert wait_until(lambda: not orphan_cgroups()), orphan_cgroups()


@needs_root
@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs a system Python")
def test_without_root_a_user_namespace_gives_the_same_view(folder: Path):
    # As `nobody`, with the system's Python (this virtual environment's may sit in a folder
    # `nobody` cannot enter): the launcher's unprivileged path.
    folder.chmod(0o755)
    (folder / "connection.json").chmod(0o644)
    base = new_spec(folder)
    readable = [path for path in base.read_only if _others_can_enter(Path(path))]
    spec = dataclasses.replace(
        base, drop_to_uid=False, uid=65534, gid=65534, read_only=readable, cgroups={}
    )
    code = (
        "import json, os\n"
        f"print(json.dumps([os.getuid(), os.path.exists({str(REPO / 'solutions')!r}), "
        "sorted(int(p) for p in os.listdir('/proc') if p.isdigit())]))"
    )
    command = spec.command(["/usr/bin/python3", "-c", code, "-f", str(folder / "connection.json")])
    command[0] = "/usr/bin/python3"
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(kernel_said(result.stdout)) == [65534, False, [1, 2]]


def test_this_machine_can_build_the_sandbox(folder: Path):
    check = check_sandbox(folder / "view")
    assert check.available, check.how
    assert "seeing only the Python installation" in check.how
    assert "with no network" in check.how
    if os.geteuid() == 0:
        assert "a cgroup of its own" in check.how
    assert not orphan_cgroups()


def _others_can_enter(path: Path) -> bool:
    return all(folder.stat().st_mode & 0o001 for folder in [path, *path.parents])


def _token() -> str:
    """A sleep length no other process uses: it tells this test's processes apart."""
    return f"300.{secrets.randbelow(10**6):06d}"


def _kernel_user_processes(token: str) -> list[str]:
    found = []
    for info in running_processes("uids", "cmdline"):
        cmdline = " ".join(info["cmdline"] or [])
        if info["uids"] and info["uids"].real >= KERNEL_UID_BASE and token in cmdline:
            found.append(cmdline)
    return found


def test_messages_between_the_grader_and_a_kernel_are_encrypted():
    from asyncdb_lab.grading.kernel import SandboxedKernelManager

    # Another kernel on this machine could otherwise listen to this one's outputs.
    assert SandboxedKernelManager(kernel_name="python3").transport_encryption == "required"


# -- user ids, keyrings, memory, network, descriptors (issue 12) ------------------------------


@needs_root
def test_sandbox_each_kernel_gets_a_new_user_id(folder: Path):
    uids = {new_spec(folder).uid for _ in range(20)}
    assert len(uids) == 20
    assert all(KERNEL_UID_BASE <= uid < KERNEL_UID_BASE + KERNEL_UIDS for uid in uids)
    running = {info["uids"].real for info in running_processes("uids") if info["uids"]}
    assert not uids & running


KEYRINGS = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(*args):
    return libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
if sys.argv[1] == "plant":
    for ring in (-4, -3):  # @u, @s
        assert call(248, b"user", b"adl-planted", b"secret", 6, ring) > 0
found = [ring for ring in (-4, -3) if call(250, 10, ring, b"user", b"adl-planted", 0) >= 0]
# /proc/keys may still list the old keys until the kernel collects them: never their payload.
listed = [int(line.split()[0], 16) for line in open("/proc/keys") if "adl-planted" in line]
buffer = ctypes.create_string_buffer(64)
print(found, len([key for key in listed if call(250, 11, key, buffer, 64) >= 0]))
"""


@needs_root
def test_sandbox_a_kernel_finds_no_key_of_an_earlier_one_with_its_user_id(folder: Path):
    first = new_spec(folder)
    plant = subprocess.run(
        command(first, folder, KEYRINGS, "plant"), capture_output=True, text=True
    )
    assert kernel_said(plant.stdout) in ("[-4, -3] 1", "[-4, -3] 2"), plant.stderr
    # The same user id again (ids are random, so this is rare; the user keyring outlives kernels).
    again = dataclasses.replace(new_spec(folder), uid=first.uid, gid=first.gid)
    read = subprocess.run(command(again, folder, KEYRINGS, "read"), capture_output=True, text=True)
    assert kernel_said(read.stdout) == "[] 0", read.stderr


MEMFDS = r"""
import os
chunk = os.urandom(1024 * 1024)
memfds = []
for number in range(8):
    memfds.append(os.memfd_create(str(number)))
    for _ in range(128):
        os.write(memfds[-1], chunk)
    print("memfd", number, flush=True)
"""
FORKS = r"""
import os
children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        hog = bytearray(400 * 1024 * 1024)
        hog[::4096] = b"x" * (len(hog) // 4096)
        os._exit(0)
    children.append(pid)
print(sum(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 for pid in children))
"""


@needs_root
def test_sandbox_memory_is_limited_per_kernel_not_per_process(folder: Path):
    limits = Limits(memory_bytes=512 * 1024**2)
    memfds = new_spec(folder, limits=limits)
    assert memfds.cgroups, "no cgroup on this machine"
    result = subprocess.run(command(memfds, folder, MEMFDS), capture_output=True, text=True)
    assert result.returncode == 128 + signal.SIGKILL, result.stdout + result.stderr
    assert "memfd 2" in result.stdout and "memfd 4" not in result.stdout
    assert memory_limit_hit(memfds)
    assert _peak_memory(memfds) <= limits.memory_bytes

    forks = new_spec(folder, limits=limits)
    result = subprocess.run(command(forks, folder, FORKS), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(kernel_said(result.stdout)) <= 1
    assert memory_limit_hit(forks)
    assert _peak_memory(forks) <= limits.memory_bytes

    quiet = new_spec(folder, limits=limits)
    assert subprocess.run(command(quiet, folder, "pass")).returncode == 0
    assert not memory_limit_hit(quiet)
    for spec in (memfds, forks, quiet):
        assert remove_cgroups(spec) == []
        assert all(not Path(path).exists() for path in spec.cgroups)


@needs_root
def test_sandbox_processes_are_limited_per_kernel(folder: Path):
    spec = new_spec(folder, limits=Limits(processes=40))
    code = (
        "import threading, time\n"
        "started = 0\n"
        "try:\n"
        "    for _ in range(100):\n"
        "        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "        started += 1\n"
        "except RuntimeError:\n"
        "    pass\n"
        "print(started)\n"
    )
    result = subprocess.run(command(spec, folder, code), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(kernel_said(result.stdout)) < 40


NETWORK = r"""
import json, os, socket, sys
def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False
own = socket.create_server(("127.0.0.1", 0))
print(json.dumps({
    "tcp": open("/proc/net/tcp").read().splitlines()[1:],
    "unix": open("/proc/net/unix").read().splitlines()[1:],
    "own": reach("127.0.0.1", own.getsockname()[1]),
    "host": reach("127.0.0.1", int(sys.argv[1])),
    "outside": reach("1.1.1.1", 80),
    "database": socket.socket(socket.AF_UNIX).connect("/run/postgresql/.s.PGSQL.5432"),
}))
"""


@needs_root
def test_sandbox_has_only_its_loopback_and_its_database_socket(folder: Path):
    listener = socket.create_server(("127.0.0.1", 0))
    database = socket.socket(socket.AF_UNIX)
    database.bind(str(folder / ".s.PGSQL.6543"))
    (folder / ".s.PGSQL.6543").chmod(0o777)  # as PostgreSQL makes it
    database.listen()
    try:
        spec = new_spec(folder, database_socket=folder / ".s.PGSQL.6543")
        port = str(listener.getsockname()[1])
        result = subprocess.run(
            command(spec, folder, NETWORK, port), capture_output=True, text=True, timeout=60
        )
    finally:
        listener.close()
        database.close()
    assert result.returncode == 0, result.stderr
    seen = json.loads(kernel_said(result.stdout))
    assert len(seen["tcp"]) == 1  # its own listener
    assert (seen["own"], seen["host"], seen["outside"]) == (True, False, False)
    assert seen["database"] is None  # connected
    assert all(str(folder) in line for line in seen["unix"] if "/" in line)


DESCRIPTORS = r"""
import os
print(sorted((int(fd), os.readlink(f"/proc/self/fd/{fd}")) for fd in os.listdir("/proc/self/fd")
             if os.path.exists(f"/proc/self/fd/{fd}") and fd != "3"))
"""


@needs_root
def test_sandbox_the_kernel_inherits_no_descriptor_of_ours(folder: Path):
    log = folder / "worker.log"
    with log.open("ab") as handle:
        os.set_inheritable(handle.fileno(), True)
        result = subprocess.run(
            command(new_spec(folder), folder, DESCRIPTORS),
            stdout=handle,
            stderr=handle,
            pass_fds=(handle.fileno(),),
        )
    assert result.returncode == 0
    said = kernel_said(log.read_text())
    assert said.startswith("[(0, '/dev/null'), (1, 'pipe:["), said
    assert str(log) not in said


IPC = r"""
import json, os, socket
info = json.load(open("/tmp/.kernel-connection.json"))
server = socket.socket(socket.AF_UNIX)
server.bind(info["ip"] + "-1")
print(info["ip"], oct(os.stat(os.path.dirname(info["ip"])).st_mode & 0o777))
"""


@needs_root
def test_sandbox_zmq_ipc_sockets_go_in_a_folder_only_the_kernel_enters(folder: Path):
    sockets = folder / "ipc"
    sockets.mkdir()
    (folder / "connection.json").write_text(
        json.dumps({"transport": "ipc", "ip": str(sockets / "kernel"), "shell_port": 1})
    )
    spec = new_spec(folder)
    result = subprocess.run(command(spec, folder, IPC), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert kernel_said(result.stdout) == "/run/jupyter/kernel 0o700"
    assert (sockets / "kernel-1").is_socket()
    assert (sockets.stat().st_uid, sockets.stat().st_mode & 0o777) == (spec.uid, 0o700)


def _peak_memory(spec: SandboxSpec) -> int:
    for path in spec.cgroups:
        for name in ("memory.max_usage_in_bytes", "memory.peak"):
            if (Path(path) / name).exists():
                return int((Path(path) / name).read_text())
    raise AssertionError("no memory cgroup")
