"""The grade command's side of its worker processes: start, talk, kill.

Each worker runs in its own session, so a Ctrl-C in the terminal reaches only the grade command,
which then stops the workers and their kernels itself, in order.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from asyncdb_lab.grading.messages import TO_RUNNER, MessageError, ToRunner, ToWorker, decode, encode
from asyncdb_lab.grading.sandbox import SandboxSpec, remove_cgroups


@dataclass
class WorkerProcess:
    """One worker process (asyncdb_lab.grading.worker), seen from the grade command."""

    slot: int
    process: subprocess.Popen[bytes]
    replies: TextIO  # the read end of its reply pipe
    log: Path
    kernels: set[int] = field(default_factory=set)  # process groups of kernels it started
    sandbox: SandboxSpec | None = None  # of its current (or last) submission's kernel
    job: Any = None  # what it is doing now
    ready: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: ToWorker) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(encode(message).encode())
        self.process.stdin.flush()

    def kill(self) -> None:
        """Kill the worker and every kernel it started (a kernel's group holds its sandbox)."""
        for group in [self.pid, *self.kernels]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()
        self.kernels.clear()
        # A kernel killed here cannot remove its cgroups itself.
        remove_cgroups(self.sandbox)
        for stream in (self.process.stdin, self.replies):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class WorkerPool:
    """Workers that answer on one queue: (worker, message); message None means it died."""

    def __init__(
        self, *, config: Path, gradebook: str, release_dir: Path, log_dir: Path, env: dict[str, str]
    ) -> None:
        self.config = config
        self.gradebook = gradebook
        self.release_dir = release_dir
        self.log_dir = log_dir
        self.env = env
        self.messages: queue.Queue[tuple[WorkerProcess, ToRunner | None]] = queue.Queue()
        self.workers: list[WorkerProcess] = []

    def start(self, slot: int) -> WorkerProcess:
        read_end, write_end = os.pipe()
        log = self.log_dir / f"worker-{slot}.log"
        with log.open("ab") as log_file:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "asyncdb_lab.grading.worker",
                    "--config",
                    str(self.config),
                    "--gradebook",
                    self.gradebook,
                    "--release-dir",
                    str(self.release_dir),
                    "--log-dir",
                    str(self.log_dir),
                    "--reply-fd",
                    str(write_end),
                ],
                stdin=subprocess.PIPE,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                pass_fds=(write_end,),
                cwd=self.config.parent,
                env=self.env,
                start_new_session=True,
            )
        os.close(write_end)
        worker = WorkerProcess(slot, process, os.fdopen(read_end, "r"), log)
        self.workers.append(worker)
        threading.Thread(target=self._listen, args=(worker,), daemon=True).start()
        return worker

    def _listen(self, worker: WorkerProcess) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in worker.replies:
                try:
                    self.messages.put((worker, decode(line, TO_RUNNER)))
                except MessageError as error:  # then it counts as stopped: say why in its log
                    with worker.log.open("a") as log:
                        log.write(f"[the grade command] {error}\n")
                    raise
        self.messages.put((worker, None))

    def stop(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.workers.clear()
