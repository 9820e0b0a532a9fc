"""The kernel manager nbgrader uses while grading: the submission's environment, in its sandbox.

jupyter_client builds the kernel command and its connection file as usual; this manager swaps
the environment for the submission's own (its database URL, nothing of the grader's) and wraps
the command in the sandbox launcher. A sandboxed kernel has a network of its own (loopback
only), so it talks to us over ZMQ's ipc transport: Unix sockets in a folder of the run that the
launcher shows the kernel, and only the kernel's user may enter. Messages are encrypted
(CurveZMQ) too. When the kernel is gone, its cgroups and socket folder go.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import typing as t

from jupyter_client.manager import AsyncKernelManager

from asyncdb_lab.grading import context
from asyncdb_lab.grading.run_folder import IPC_FOLDER_PREFIX
from asyncdb_lab.grading.sandbox import SandboxSpec, remove_cgroups
from asyncdb_lab.pid_folders import socket_folder
from asyncdb_lab.settings import RUN_BY_ENV


class SandboxedKernelManager(AsyncKernelManager):
    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        if self._kernel_supports_curve_encryption():
            self.transport_encryption = "required"
        self._sandbox: SandboxSpec | None = None
        self._ipc_folder: str | None = None

    async def _async_pre_start_kernel(
        self, *, transport_encryption: str | None = None, **kw: t.Any
    ) -> tuple[list[str], dict[str, t.Any]]:
        self._sandbox = context.current().sandbox
        if self._sandbox is not None and self._ipc_folder is None:
            self._ipc_folder = _ipc_folder()
            self.transport = "ipc"
            self.ip = os.path.join(self._ipc_folder, "kernel")
        return await super()._async_pre_start_kernel(
            transport_encryption=transport_encryption, **kw
        )

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: t.Any) -> None:
        job = context.current()
        # RUN_BY_ENV: the notebook's last cell (learner/in_lab.py) skips itself when graded.
        kw["env"] = {**job.kernel_env, RUN_BY_ENV: "grade"}
        if job.sandbox is not None:
            kernel_cmd = job.sandbox.command(kernel_cmd, parent=os.getpid())
            kw["cwd"] = "/"
        await super()._async_launch_kernel(kernel_cmd, **kw)
        pid = getattr(self.provisioner, "pid", None)
        if pid is not None:
            job.execution.kernel_pids.append(pid)
            if callable(job.on_kernel_start):
                job.on_kernel_start(pid)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if restart:
            return
        if self._ipc_folder is not None:
            shutil.rmtree(self._ipc_folder, ignore_errors=True)
            self._ipc_folder = None
        if self._sandbox is not None:
            await asyncio.to_thread(remove_cgroups, self._sandbox)

    cleanup_resources = _async_cleanup_resources


def _ipc_folder() -> str:
    """A new folder for the kernel's ZMQ sockets, named after this process: after a kill -9, the
    next run removes it (run_folder.py)."""
    return str(socket_folder(IPC_FOLDER_PREFIX))
