"""Start a learner's kernel inside a sandbox. Standard library only: it runs as `python -I -S`.

    python -I -S _sandbox_launch.py SPEC_JSON -- KERNEL_COMMAND... -f CONNECTION_FILE ...

Three processes, all in the process group jupyter_client made for the kernel, so its SIGINT
(interrupt) reaches the kernel and its SIGKILL reaches all three:

- the supervisor (this process) forks the init, waits for it and exits with the kernel's
  status; it kills the init when its own parent (the grading worker) goes away;
- the init is pid 1 of new PID, mount, UTS and IPC namespaces: it builds the kernel's private
  view of the filesystem, starts the kernel and reaps orphans. When it exits, Linux kills every
  process left in the namespace, so nothing the learner started outlives the notebook;
- the kernel runs chrooted into that view (the Python installation, the course library and
  the seed data, read-only; an empty /tmp of limited size), under resource limits, with no way
  to gain privileges, and as an unprivileged user id when the grader runs as root.

Without root, a user namespace gives the same view: the kernel keeps the grader's user id
(all the kernel's capabilities are dropped when it starts), and the resource limits apply.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import time

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
ST_RELATIME = 0x1000
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
DEVICES = ("null", "zero", "full", "random", "urandom")
CONNECTION_FILE = "/tmp/.kernel-connection.json"
EXIT_SANDBOX_FAILED = 126
EXIT_KERNEL_FAILED = 127

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _kept_flags(path: str) -> int:
    """Flags of the mount `path` is on: a read-only remount must keep them (user namespaces)."""
    found = os.statvfs(path).f_flag
    flags = found & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    return flags | (MS_RELATIME if found & ST_RELATIME else 0)


def _bind(root: str, path: str, *, writable: bool = False) -> None:
    target = root + path
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(path, target, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | _kept_flags(path)
    if not writable:
        flags |= MS_RDONLY
    if not path.startswith("/dev/"):
        flags |= MS_NODEV
    _mount(None, target, None, flags)


def _build_view(spec: dict, connection: bytes) -> None:
    """The kernel's whole filesystem: read-only system and course folders, a private /tmp."""
    root = spec["root"]
    uid, gid = spec["uid"], spec["gid"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    for link, target in spec["symlinks"].items():
        os.symlink(target, root + link)
    owner = f"uid={uid},gid={gid}" if spec["drop_to_uid"] else ""
    # The private /tmp first: a course that lives under /tmp (a CI clone, say) is bound into it
    # below, instead of being hidden by it.
    os.makedirs(root + "/tmp", exist_ok=True)
    size = spec["tmp_bytes"]
    _mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=0700,{owner}")
    for path in spec["read_only"]:
        _bind(root, path)
    os.makedirs(root + "/dev", exist_ok=True)
    _mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for device in DEVICES:
        _bind(root, f"/dev/{device}", writable=True)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"{root}/dev/{name}")
    os.makedirs(root + "/dev/shm")
    _mount("tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size=64m,mode=0700,{owner}")
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    fd = os.open(root + CONNECTION_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, connection)
    os.close(fd)
    if spec["drop_to_uid"]:
        os.chown(root + CONNECTION_FILE, uid, gid)
    _mount(None, root, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chroot(root)
    os.chdir("/tmp")


def _become_learner(spec: dict) -> None:
    import resource

    if spec["drop_to_uid"]:
        os.setgroups([])
        os.setgid(spec["gid"])
        os.setuid(spec["uid"])
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    for limit, value in (
        (resource.RLIMIT_AS, spec["memory_bytes"]),
        (resource.RLIMIT_NPROC, spec["processes"]),
        (resource.RLIMIT_FSIZE, spec["file_bytes"]),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))


def _exit_code(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _run_init(spec: dict, connection: bytes, command: list[str]) -> None:
    """pid 1 of the namespace: build the view, start the kernel, reap orphans, pass its status."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    name = spec["hostname"].encode()
    _check(_libc.sethostname(name, len(name)), "sethostname")
    _build_view(spec, connection)
    kernel = os.fork()
    if kernel == 0:
        try:
            for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(number, signal.SIG_DFL)
            _become_learner(spec)
            # The kernel's parent is this init, pid 1: ipykernel must not wait for the grading
            # worker's pid to be its parent (it cannot see it) or it shuts itself down at once.
            environment = {**os.environ, "JPY_PARENT_PID": "1"}
            os.execve(command[0], command, environment)
        except BaseException as error:
            os.write(2, f"asyncdb-lab sandbox: the kernel could not start: {error}\n".encode())
        finally:
            os._exit(EXIT_KERNEL_FAILED)
    # Interrupts reach the kernel directly (same process group); termination ends everything.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
    signal.signal(signal.SIGHUP, lambda *_: os._exit(129))
    while True:
        pid, status = os.wait()
        if pid == kernel:
            os._exit(_exit_code(status))


def _map_user(uid: int, gid: int) -> None:
    """In a new user namespace, keep our own ids (no root inside: capabilities end at exec)."""
    with open("/proc/self/setgroups", "w") as handle:
        handle.write("deny")
    with open("/proc/self/uid_map", "w") as handle:
        handle.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as handle:
        handle.write(f"{gid} {gid} 1")


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    command = argv[argv.index("--") + 1 :]
    where = command.index("-f") + 1
    with open(command[where], "rb") as handle:
        connection = handle.read()
    command[where] = CONNECTION_FILE
    # The worker that started us, named by the worker itself: if it died before we got here,
    # os.getppid() would already be 1 and we would never notice.
    parent = spec.get("parent") or os.getppid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC
    uid, gid = os.getuid(), os.getgid()
    if not spec["drop_to_uid"]:
        flags |= CLONE_NEWUSER
    try:
        _check(_libc.unshare(flags), "unshare")
        if not spec["drop_to_uid"]:
            _map_user(uid, gid)
    except OSError as error:
        os.write(2, f"asyncdb-lab sandbox: no private namespaces here: {error}\n".encode())
        return EXIT_SANDBOX_FAILED
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    init = os.fork()
    if init == 0:
        try:
            _run_init(spec, connection, command)
        except BaseException as error:
            os.write(2, f"asyncdb-lab sandbox: the sandbox could not be built: {error}\n".encode())
        os._exit(EXIT_SANDBOX_FAILED)

    def end(*_: object) -> None:
        os.kill(init, signal.SIGKILL)
        os._exit(143)

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGHUP, end)
    while True:
        pid, status = os.waitpid(init, os.WNOHANG)
        if pid == init:
            return _exit_code(status)
        if os.getppid() != parent:
            end()
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
