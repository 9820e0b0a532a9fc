"""A Dask cluster on this machine for the grading tests: separate worker processes, with the
temporary and PostgreSQL runtime folders of a GradingCourse, so that GradingCourse.leftovers()
counts what its workers leave behind."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import dask
import psutil
import pytest
from distributed import Client, LocalCluster

from asyncdb_lab.grading.sandbox import KERNEL_UID_BASE, KERNEL_UIDS
from support.grading_run import GradingCourse


@contextlib.contextmanager
def local_dask_cluster(
    course: GradingCourse, monkeypatch: pytest.MonkeyPatch, workers: int = 2
) -> Iterator[LocalCluster]:
    """`workers` worker processes of one thread each (a killed one is restarted by its nanny,
    with the same environment)."""
    for name in [name for name in os.environ if name.startswith("ASYNCDB_LAB_")]:
        monkeypatch.delenv(name)
    for name, value in course.env().items():
        if name.startswith("ASYNCDB_LAB_") or name == "TMPDIR":
            monkeypatch.setenv(name, value)
    # The scheduler runs in this process and makes its scratch folder (lock files it never
    # removes) in dask's temporary-directory, /tmp unless set.
    with dask.config.set({"temporary-directory": str(course.root / "dask")}):
        cluster = LocalCluster(
            processes=True,
            n_workers=workers,
            threads_per_worker=1,
            memory_limit=0,  # kernels are limited by the sandbox, not by Dask
            dashboard_address=":0",  # any free port: another cluster may have 8787
            local_directory=str(course.root / "dask"),
            silence_logs=logging.ERROR,
        )
        try:
            yield cluster
        finally:
            cluster.close(timeout=60)


def worker_pids(client: Client) -> dict[str, int]:
    """Each Dask worker's process id, by its address."""
    return client.run(os.getpid)


def is_grading(pid: int) -> bool:
    """Does this Dask worker run a submission's kernel now (a descendant as a kernel's user id,
    or, without root, a kernel's command line)?"""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return False
    for child in children:
        with contextlib.suppress(psutil.Error):
            if KERNEL_UID_BASE <= child.uids().real < KERNEL_UID_BASE + KERNEL_UIDS:
                return True
            if "ipykernel" in " ".join(child.cmdline()):
                return True
    return False
