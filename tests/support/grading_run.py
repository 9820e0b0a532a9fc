"""A throwaway course and `asyncdb-lab grade` runs on it, for the grading tests.

The course is notebook 00 from solutions/ with the repository's nbgrader configuration, only
its root and gradebook moved to a temporary folder. Each run gets its own temporary folder
(TMPDIR) and PostgreSQL runtime folder, so that what it leaves behind can be counted.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from asyncdb_lab.grading.run_folder import IPC_FOLDER_PREFIX
from asyncdb_lab.grading.sandbox import (
    CGROUP_PREFIX,
    KERNEL_UID_BASE,
    KERNEL_UIDS,
    orphan_cgroups,
)
from asyncdb_lab.settings import REPO
from support.nbgrader_course import write_course_config
from support.observe import alive, paths_under, running_processes

SUBMISSIONS = REPO / "tests" / "submissions"
NOTEBOOK = "00_start_here"


class GradingCourse:
    """A course in a new temporary folder (world-searchable: PostgreSQL runs as another user)."""

    def __init__(self) -> None:
        self.root = root = Path(tempfile.mkdtemp(prefix="asyncdb-lab-grading-"))
        root.chmod(0o755)
        shutil.copytree(REPO / "solutions" / NOTEBOOK, root / "solutions" / NOTEBOOK)
        self.grader = root / "grader"
        self.config = write_course_config(root)
        self.gradebook = self.grader / "gradebook.db"
        self.scratch = root / "scratch"  # TMPDIR and the PostgreSQL runtime folder of the runs
        self.scratch.mkdir()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCDB_LAB_")}
        env.update(
            ASYNCDB_LAB_QUIET="1",
            TMPDIR=str(self.scratch / "tmp"),
            ASYNCDB_LAB_RUNTIME_DIR=str(self.scratch / "runtime"),
            PYTHONUNBUFFERED="1",
        )
        (self.scratch / "tmp").mkdir(exist_ok=True)
        (self.scratch / "runtime").mkdir(exist_ok=True)
        return env

    def command(self, submissions: Path, out: Path, *args: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "asyncdb_lab.cli",
            "grade",
            str(submissions),
            "--config",
            str(self.config),
            "--out",
            str(out),
            *args,
        ]

    def grade(self, submissions: Path, out: Path, *args: str, timeout: float = 900) -> Run:
        started = time.monotonic()
        result = subprocess.run(
            self.command(submissions, out, *args),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Run(out, result.returncode, result.stdout, result.stderr, time.monotonic() - started)

    def start(self, submissions: Path, out: Path, *args: str) -> subprocess.Popen[str]:
        """Start a run in its own process group, as a terminal would (for Ctrl-C)."""
        return subprocess.Popen(
            self.command(submissions, out, *args),
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """Everything of this course's runs still there: processes, folders, servers."""
        found = []
        for folder in (self.scratch / "tmp", self.scratch / "runtime"):
            found.extend(f"file {path}" for path in paths_under(folder))
        for info in running_processes("uids", "cmdline"):
            if info["uids"] is None:
                continue
            cmdline = " ".join(info["cmdline"] or [])
            if KERNEL_UID_BASE <= info["uids"].real < KERNEL_UID_BASE + KERNEL_UIDS:
                if self._owns_kernel(info["pid"]):
                    found.append(f"kernel-user process {info['pid']}: {cmdline[:120]}")
            elif str(self.root) in cmdline:  # workers, sandboxes, the PostgreSQL server
                found.append(f"process {info['pid']}: {cmdline[:120]}")
        found.extend(f"cgroup {folder}" for folder in orphan_cgroups())
        return found

    def _owns_kernel(self, pid: int) -> bool:
        """Is this kernel-user process one of this course's runs (not a concurrent run's)?

        A kernel's cgroup is named after the grade command that made it: a kernel whose grade
        command is alive and grades another course is that course's; one whose command is gone
        is a leftover wherever it came from.
        """
        cgroup = _memory_cgroup(str(pid))
        if cgroup is None:
            return False  # gone already
        name = cgroup.rstrip("/").rsplit("/", 1)[-1]
        if not name.startswith(CGROUP_PREFIX):
            return True  # no cgroup of its own here: count every kernel
        try:
            owner = psutil.Process(int(name.removeprefix(CGROUP_PREFIX).split("-")[0]))
            return str(self.root) in " ".join(owner.cmdline())
        except (ValueError, psutil.Error):
            return True


def class_submissions(course: GradingCourse, sources: dict[str, str]) -> Path:
    """A submissions folder with, for each student, a copy of one committed class submission."""
    submissions = course.root / "submissions"
    for student, source in sources.items():
        (submissions / student).mkdir(parents=True)
        found = next((SUBMISSIONS / "class" / source).rglob("*.ipynb"))
        shutil.copyfile(found, submissions / student / f"{NOTEBOOK}.ipynb")
    return submissions


def sleep_in_the_answer(path: Path, seconds: int) -> None:
    """Make the submission's count_users answer sleep `seconds` first (a slow student)."""
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "count_users":
            cell["source"] = f"import time\n\ntime.sleep({seconds})\n\n" + "".join(cell["source"])
    path.write_text(json.dumps(notebook))


def orphan_kernel_socket_folders(*parents: Path) -> list[Path]:
    """Kernels' socket folders (grading/kernel.py) whose grading worker is gone."""
    found = []
    for parent in (Path("/tmp"), *parents):
        for folder in parent.glob(f"{IPC_FOLDER_PREFIX}*"):
            pid = folder.name.removeprefix(IPC_FOLDER_PREFIX).split("-")[0]
            if pid.isdigit() and not alive(int(pid)) and folder.exists():
                found.append(folder)
    return found


def _memory_cgroup(pid: str) -> str | None:
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return path
    return None


@dataclass
class Run:
    out: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def summary(self) -> dict:
        return json.loads((self.out / "summary.json").read_text())

    @property
    def submissions(self) -> dict[tuple[str, str], dict]:
        return {(s["student"], s["notebook"]): s for s in self.summary["submissions"]}

    def by_student(self) -> dict[str, dict]:
        return {s["student"]: s for s in self.summary["submissions"]}

    def grades_csv(self) -> list[dict[str, str]]:
        with (self.out / "grades.csv").open() as handle:
            return list(csv.DictReader(handle))

    def explain(self) -> str:
        return (
            f"exit {self.returncode}\nstdout:\n{self.stdout[-3000:]}\n"
            f"stderr:\n{self.stderr[-3000:]}"
        )


def interrupt(process: subprocess.Popen[str]) -> None:
    """Ctrl-C in a terminal: SIGINT to the foreground process group."""
    os.killpg(process.pid, signal.SIGINT)
