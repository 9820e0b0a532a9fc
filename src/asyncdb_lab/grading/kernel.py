"""The kernel manager nbgrader uses while grading: the submission's environment, in its sandbox.

jupyter_client builds the kernel command and its connection file as usual; this manager swaps
the environment for the submission's own (its database URL, nothing of the grader's) and wraps
the command in the sandbox launcher. Messages to and from the kernel are encrypted (CurveZMQ),
so another kernel on this machine cannot listen to them.
"""

from __future__ import annotations

import os
import typing as t

from jupyter_client.manager import AsyncKernelManager

from asyncdb_lab.grading import context


class SandboxedKernelManager(AsyncKernelManager):
    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        if self._kernel_supports_curve_encryption():
            self.transport_encryption = "required"

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: t.Any) -> None:
        job = context.current()
        kw["env"] = dict(job.kernel_env)
        if job.sandbox is not None:
            kernel_cmd = job.sandbox.command(kernel_cmd, parent=os.getpid())
            kw["cwd"] = "/"
        await super()._async_launch_kernel(kernel_cmd, **kw)
        pid = getattr(self.provisioner, "pid", None)
        if pid is not None:
            job.execution.kernel_pids.append(pid)
            if callable(job.on_kernel_start):
                job.on_kernel_start(pid)
