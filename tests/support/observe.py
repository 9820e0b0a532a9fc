"""Looking at folders and processes that may go away while the test looks.

A server's watchdog deletes its folder, a kernel exits, a backend ends: between listing a thing
and reading it, it can be gone. For a test that counts what is left, gone is an answer ("not
left"), never an error. Every test that walks a folder or lists processes to count leftovers
uses these.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil


def paths_under(folder: Path) -> list[Path]:
    """Every file and folder under `folder` that exists while it is walked; [] if it is gone."""
    found: list[Path] = []
    # os.walk skips a folder that vanishes before it is listed (onerror is called, and ignored).
    for parent, folders, files in os.walk(folder, onerror=lambda error: None):
        found.extend(Path(parent, name) for name in (*folders, *files))
    return found


def remove_tree(folder: Path) -> None:
    """shutil.rmtree, for a folder whose contents the code under test may be removing too."""

    def gone_is_fine(function: object, path: str, error: tuple) -> None:
        if not isinstance(error[1], FileNotFoundError):
            raise error[1]

    shutil.rmtree(folder, onerror=gone_is_fine)


def running_processes(*attributes: str) -> Iterator[dict[str, Any]]:
    """The info dict (with "pid") of each process that is running, not a zombie, while listed.

    An attribute the process would not show (it ended, or belongs to another user and is
    hidden) is None, as psutil.process_iter gives it.
    """
    wanted = sorted({"pid", "status", *attributes})
    for process in psutil.process_iter(wanted):
        if process.info["status"] not in (None, psutil.STATUS_ZOMBIE):
            yield process.info


def alive(pid: int) -> bool:
    """Is the process running (a zombie has ended: only its exit status is left)?"""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def descendants(pid: int) -> set[int]:
    """The pids of its children, their children, and so on; empty once it has ended."""
    with contextlib.suppress(psutil.NoSuchProcess):
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    return set()


def process_group_members(pgid: int) -> list[psutil.Process]:
    """The processes of the group `pgid` leads, its leader left out."""
    members = []
    for candidate in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if candidate.pid != pgid and os.getpgid(candidate.pid) == pgid:
                members.append(candidate)
    return members
