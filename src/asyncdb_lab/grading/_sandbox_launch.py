"""Start a learner's kernel inside a sandbox. Standard library only: it runs as `python -I -S`.

    python -I -S _sandbox_launch.py SPEC_JSON -- KERNEL_COMMAND... -f CONNECTION_FILE ...

Three processes, all in the process group jupyter_client made for the kernel, so its SIGINT
(interrupt) reaches the kernel and its SIGKILL reaches all three:

- the supervisor (this process) makes the kernel's cgroups, forks the init, waits for it and
  exits with the kernel's status; when its own parent (the grading worker) goes away it kills
  the init and removes the cgroups;
- the init is pid 1 of new PID, mount, UTS, IPC and network namespaces: it joins the cgroups,
  brings up the loopback interface, builds the kernel's private view of the filesystem, starts
  the kernel, forwards the kernel's output to the log (each line prefixed, in all at most
  OUTPUT_BYTES) and reaps orphans.
  When it exits, Linux kills every process left in the namespace, so nothing the learner
  started outlives the notebook;
- the kernel runs chrooted into that view (the Python installation, the course library and
  the seed data, read-only; an empty /tmp of limited size; its database's Unix socket; the
  folder of its ZMQ sockets), under resource limits, with no way to gain privileges, with new
  keyrings, no descriptor of ours but /dev/null and its output pipe, and as an unprivileged
  user id when the grader runs as root.

Without root, a user namespace gives the same view: the kernel keeps the grader's user id
(all the kernel's capabilities are dropped when it starts), and the resource limits apply per
process (no cgroup).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys
import time

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
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
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_CLEAR = 7
KEY_SPEC_USER_KEYRING = -4
DEVICES = ("null", "zero", "full", "random", "urandom")
CONNECTION_FILE = "/tmp/.kernel-connection.json"
ZMQ_SOCKET_DIR = "/run/jupyter"
EXIT_SANDBOX_FAILED = 126
EXIT_KERNEL_FAILED = 127
OUTPUT_BYTES = 64 * 1024  # of the kernel's stdout and stderr, forwarded to the worker's log

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


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


def _bind(root: str, path: str, *, writable: bool = False, target: str | None = None) -> None:
    """Make host `path` visible at `target` (default: the same path) in the view under `root`."""
    target = root + (target or path)
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


# -- cgroups: made by the supervisor, joined by the init ------------------------------------------


def _make_cgroups(cgroups: dict[str, dict[str, str]]) -> None:
    for folder, settings in cgroups.items():
        os.makedirs(folder, exist_ok=True)
        for name, value in settings.items():  # in order: memory before memory+swap (v1)
            with open(os.path.join(folder, name), "w") as handle:
                handle.write(value)


def _join_cgroups(cgroups: dict[str, dict[str, str]]) -> None:
    for folder in cgroups:
        with open(os.path.join(folder, "cgroup.procs"), "w") as handle:
            handle.write("0")  # this process


def _remove_cgroups(cgroups: dict[str, dict[str, str]]) -> None:
    deadline = time.monotonic() + 5
    left = list(cgroups)
    while left and time.monotonic() < deadline:
        for folder in list(left):
            try:
                os.rmdir(folder)
                left.remove(folder)
            except FileNotFoundError:
                left.remove(folder)
            except OSError:
                time.sleep(0.02)


# -- the init's work: network, view, kernel -------------------------------------------------------


def _loopback_up() -> None:
    """The new network namespace has only `lo`, and it is down: bring it up (127.0.0.1, ::1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def _build_view(spec: dict, connection: bytes, zmq_dir: str | None) -> None:
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
    for host, seen_at in spec.get("sockets", {}).items():
        _bind(root, host, target=seen_at)  # connect() works through a read-only mount
    if zmq_dir is not None:
        _bind(root, zmq_dir, writable=True, target=ZMQ_SOCKET_DIR)
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


def _zmq_socket_dir(connection: bytes, spec: dict) -> tuple[bytes, str | None]:
    """With transport ipc, the kernel's sockets go in a host folder it sees at ZMQ_SOCKET_DIR."""
    try:
        info = json.loads(connection)
    except ValueError:
        return connection, None
    if not isinstance(info, dict) or info.get("transport") != "ipc":
        return connection, None
    folder, name = os.path.split(info["ip"])
    if spec["drop_to_uid"]:  # only the kernel's user (and root) may enter it
        os.chown(folder, spec["uid"], spec["gid"])
    os.chmod(folder, 0o700)
    info["ip"] = f"{ZMQ_SOCKET_DIR}/{name}"
    return json.dumps(info).encode(), folder


def _new_keyrings() -> None:
    """A new, empty session keyring, and an empty user keyring (@u outlives a kernel)."""
    number = SYS_KEYCTL.get(os.uname().machine)
    if number is None:
        raise OSError(f"no keyctl system call number known for {os.uname().machine}")
    keyctl = _libc.syscall
    keyctl.restype = ctypes.c_long
    joined = keyctl(ctypes.c_long(number), ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), None)
    if joined < 0 and ctypes.get_errno() in (errno.ENOSYS, errno.EPERM):
        return  # keyrings are switched off here (a seccomp filter, say): nothing to share
    if joined < 0:
        _check(-1, "keyctl(JOIN_SESSION_KEYRING)")
    cleared = keyctl(
        ctypes.c_long(number), ctypes.c_long(KEYCTL_CLEAR), ctypes.c_long(KEY_SPEC_USER_KEYRING)
    )
    _check(0 if cleared == 0 else -1, "keyctl(CLEAR @u)")


def _become_learner(spec: dict) -> None:
    import resource

    if spec["drop_to_uid"]:
        os.setgroups([])
        os.setgid(spec["gid"])
        os.setuid(spec["uid"])
    _new_keyrings()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    for limit, value in (
        (resource.RLIMIT_AS, spec["memory_bytes"]),
        (resource.RLIMIT_NPROC, spec["processes"]),
        (resource.RLIMIT_FSIZE, spec["file_bytes"]),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))


def _only_own_descriptors(output: int) -> int:
    """stdin /dev/null, stdout and stderr `output`, nothing else; a copy of our stderr back.

    The copy is close-on-exec: it says why the kernel could not start, and is gone once it runs.
    """
    report = os.dup(2)  # non-inheritable
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.closerange(3, report)
    os.closerange(report + 1, os.sysconf("SC_OPEN_MAX"))
    return report


def _start_kernel(spec: dict, command: list[str], output: int) -> int:
    kernel = os.fork()
    if kernel:
        return kernel
    report = 2
    try:
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_DFL)
        report = _only_own_descriptors(output)
        if spec.get("cgroups"):  # its OOM killer takes the kernel (or its children), not the init
            with open("/proc/self/oom_score_adj", "w") as handle:
                handle.write("1000")
        _become_learner(spec)
        # The kernel's parent is this init, pid 1: ipykernel must not wait for the grading
        # worker's pid to be its parent (it cannot see it) or it shuts itself down at once.
        environment = {**os.environ, "JPY_PARENT_PID": "1"}
        os.execve(command[0], command, environment)
    except BaseException as error:
        os.write(report, f"asyncdb-lab sandbox: the kernel could not start: {error}\n".encode())
    finally:
        os._exit(EXIT_KERNEL_FAILED)


class _Forwarder:
    """The kernel's output, to our stdout (the worker's log): each line prefixed, a total cap."""

    def __init__(self, read_end: int, hostname: str) -> None:
        self.read_end: int | None = read_end
        self.prefix = f"[kernel {hostname}] ".encode()
        self.left = OUTPUT_BYTES
        self.line_start = True

    def pump(self, seconds: float) -> None:
        if self.read_end is None:
            time.sleep(seconds)
            return
        readable, _, _ = select.select([self.read_end], [], [], seconds)
        if not readable:
            return
        data = os.read(self.read_end, 65536)
        if not data:
            os.close(self.read_end)
            self.read_end = None
            if not self.line_start:
                self._write(b"\n")
            return
        self._forward(data)

    def drain(self) -> None:
        """What is left to read now (a child of the kernel may keep the pipe open)."""
        while self.read_end is not None and select.select([self.read_end], [], [], 0)[0]:
            self.pump(0)

    def _forward(self, data: bytes) -> None:
        if self.left <= 0:
            return
        data = data[: self.left]
        self.left -= len(data)
        text = b""
        for line in data.splitlines(keepends=True):
            text += (self.prefix if self.line_start else b"") + line
            self.line_start = line.endswith(b"\n")
        if self.left <= 0:
            text += b"\n" + self.prefix + b"[the rest of the kernel's output was dropped]\n"
        self._write(text)

    def _write(self, text: bytes) -> None:
        try:
            os.write(1, text)
        except OSError:
            self.left = 0


def _exit_code(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _run_init(spec: dict, connection: bytes, command: list[str]) -> None:
    """pid 1 of the namespace: build the view, start the kernel, reap orphans, pass its status."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    _join_cgroups(spec.get("cgroups", {}))
    # Without root the kernel has our user id: it must not reach our descriptors via /proc/1.
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(DUMPABLE)")
    name = spec["hostname"].encode()
    _check(_libc.sethostname(name, len(name)), "sethostname")
    _loopback_up()
    connection, zmq_dir = _zmq_socket_dir(connection, spec)
    _build_view(spec, connection, zmq_dir)
    read_end, write_end = os.pipe()
    kernel = _start_kernel(spec, command, write_end)
    os.close(write_end)
    output = _Forwarder(read_end, spec["hostname"])
    # Interrupts reach the kernel directly (same process group); termination ends everything.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
    signal.signal(signal.SIGHUP, lambda *_: os._exit(129))
    while True:
        output.pump(0.1)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == kernel:
                output.drain()
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
    cgroups = spec.get("cgroups", {})
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET
    uid, gid = os.getuid(), os.getgid()
    if not spec["drop_to_uid"]:
        flags |= CLONE_NEWUSER
    try:
        _make_cgroups(cgroups)
    except OSError as error:
        os.write(2, f"asyncdb-lab sandbox: cannot make the kernel's cgroup: {error}\n".encode())
        _remove_cgroups(cgroups)
        return EXIT_SANDBOX_FAILED
    try:
        _check(_libc.unshare(flags), "unshare")
        if not spec["drop_to_uid"]:
            _map_user(uid, gid)
    except OSError as error:
        os.write(2, f"asyncdb-lab sandbox: no private namespaces here: {error}\n".encode())
        _remove_cgroups(cgroups)
        return EXIT_SANDBOX_FAILED
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    init = os.fork()
    if init == 0:
        try:
            _run_init(spec, connection, command)
        except BaseException as error:
            import traceback

            traceback.print_exc()
            os.write(2, f"asyncdb-lab sandbox: the sandbox could not be built: {error}\n".encode())
        os._exit(EXIT_SANDBOX_FAILED)

    def end(*_: object) -> None:
        # Whoever started us is gone or wants us gone: nobody else will remove the cgroups.
        os.kill(init, signal.SIGKILL)
        os.waitpid(init, 0)
        _remove_cgroups(cgroups)
        os._exit(143)

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGHUP, end)
    while True:
        pid, status = os.waitpid(init, os.WNOHANG)
        if pid == init:
            # The cgroups stay: the worker reads whether they ran out of memory, then removes them.
            return _exit_code(status)
        if os.getppid() != parent:
            end()
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
