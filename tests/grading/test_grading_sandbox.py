"""The sandbox a learner's kernel runs in, tried with a small Python program instead of a kernel."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from support.processes import wait_until

from asyncdb_lab.grading.sandbox import KERNEL_UID_BASE, Limits, check_sandbox, make_spec
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


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="asyncdb-lab-sandbox-"))
    (path / "view").mkdir()
    (path / "secret.txt").write_text("the answers")
    (path / "connection.json").write_text('{"key": "kernel-only"}')
    yield path
    shutil.rmtree(path, ignore_errors=True)


def sandboxed(folder: Path, code: str, *args: str, slot: int = 0) -> list[str]:
    spec = make_spec(folder / "view", slot, f"grade-{slot}", Limits(memory_bytes=1024**3))
    return spec.command([sys.executable, "-c", code, *args, "-f", str(folder / "connection.json")])


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
    report = json.loads(result.stdout)
    assert report["uid"] >= KERNEL_UID_BASE
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
        assert process.stdout.readline().strip() == "started"
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
        assert process.stdout.readline().strip() == "ready"
        os.killpg(process.pid, signal.SIGINT)  # jupyter_client's interrupt
        assert process.stdout.readline().strip() == "interrupted"
        assert process.wait(timeout=30) == 0


@needs_root
def test_the_kernel_dies_when_its_grading_worker_dies(folder: Path):
    token = _token()
    # A stand-in worker starts a sandboxed sleeper, as SandboxedKernelManager does, and dies.
    worker = (
        "import os, subprocess, sys, time\n"
        "from pathlib import Path\n"
        "from asyncdb_lab.grading.sandbox import Limits, make_spec\n"
        f"spec = make_spec(Path({str(folder / 'view')!r}), 0, 'grade-0', Limits())\n"
        f"code = 'import time; time.sleep({token})'\n"
        f"kernel = [sys.executable, '-c', code, '-f', {str(folder / 'connection.json')!r}]\n"
        "subprocess.Popen(spec.command(kernel, parent=os.getpid()))\n"
        "time.sleep(300)\n"
    )
    with subprocess.Popen([sys.executable, "-c", worker], start_new_session=True) as process:
        assert wait_until(lambda: bool(_kernel_user_processes(token)), timeout=30)
        process.kill()
    assert wait_until(lambda: not _kernel_user_processes(token)), _kernel_user_processes(token)


@needs_root
@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs a system Python")
def test_without_root_a_user_namespace_gives_the_same_view(folder: Path):
    # As `nobody`, with the system's Python (this virtual environment's may sit in a folder
    # `nobody` cannot enter): the launcher's unprivileged path.
    folder.chmod(0o755)
    (folder / "connection.json").chmod(0o644)
    base = make_spec(folder / "view", 0, "grade-0", Limits())
    readable = [path for path in base.read_only if _others_can_enter(Path(path))]
    spec = dataclasses.replace(base, drop_to_uid=False, uid=65534, gid=65534, read_only=readable)
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
    assert json.loads(result.stdout) == [65534, False, [1, 2]]


def test_this_machine_can_build_the_sandbox(folder: Path):
    check = check_sandbox(folder / "view")
    assert check.available, check.how
    assert "seeing only the Python installation" in check.how


def _others_can_enter(path: Path) -> bool:
    return all(folder.stat().st_mode & 0o001 for folder in [path, *path.parents])


def _token() -> str:
    """A sleep length no other process uses: it tells this test's processes apart."""
    return f"300.{secrets.randbelow(10**6):06d}"


def _kernel_user_processes(token: str) -> list[str]:
    found = []
    for process in psutil.process_iter(["uids", "cmdline", "status"]):
        uids = process.info["uids"]
        cmdline = " ".join(process.info["cmdline"] or [])
        alive = process.info["status"] != "zombie"
        if uids and uids.real >= KERNEL_UID_BASE and alive and token in cmdline:
            found.append(cmdline)
    return found


def test_messages_between_the_grader_and_a_kernel_are_encrypted():
    from asyncdb_lab.grading.kernel import SandboxedKernelManager

    # Another kernel on this machine could otherwise listen to this one's outputs.
    assert SandboxedKernelManager(kernel_name="python3").transport_encryption == "required"
