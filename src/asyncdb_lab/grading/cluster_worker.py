"""The Dask worker's side of `asyncdb-lab grade --cluster`: grade one submission per task.

A Dask worker grades as a local run does, with the same machinery: a grading worker process
(worker.py, started through workers.py) per Dask thread, each submission in the sandbox with the
same limits, and a private PostgreSQL (GradingServer) with a fresh login role per submission. The
GradingPlugin holds them; it starts them when the first task needs them and stops them when the
Dask worker closes. nbgrader writes into a scratch course and gradebook of the plugin's own; the
task returns what the grade command needs to record the result in the course's gradebook.

    client.register_plugin(GradingPlugin())               # the grade command, once per run
    outcome = client.submit(grade_on_worker, job, key=…)  # a ClusterJob → a ClusterOutcome
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import signal
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin, get_worker

from asyncdb_lab.course import nbgrader_apps
from asyncdb_lab.course.notebook import last_line
from asyncdb_lab.grading.cluster_gradebook import GradebookRecord, read_record
from asyncdb_lab.grading.course_files import concurrent_gradebook_url
from asyncdb_lab.grading.database import GradingServer, Role
from asyncdb_lab.grading.messages import (
    Failed,
    Grade,
    Graded,
    KernelStarted,
    Prepare,
    Prepared,
    Ready,
    ToRunner,
)
from asyncdb_lab.grading.run_folder import sweep_orphan_run_dirs, temporary_run_dir
from asyncdb_lab.grading.sandbox import (
    Limits,
    check_sandbox,
    make_spec,
    sandboxed_database_url,
    sweep_orphan_cgroups,
)
from asyncdb_lab.grading.session import (
    GRADER_FORMAT,
    JOB_GRACE_SECONDS,
    WORKER_START_SECONDS,
    cleaned_up,
    kernel_env,
    with_size_stop,
)
from asyncdb_lab.grading.workers import WorkerPool, WorkerProcess
from asyncdb_lab.settings import QUIET_ENV

PLUGIN_NAME = "asyncdb-lab-grading"
# What the scratch course's configuration says after the course's own lines.
SCRATCH_CONFIG = """
# asyncdb-lab grade --cluster: this Dask worker's scratch copy of the course.
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = {db_url!r}
"""


@dataclass(frozen=True)
class ClusterJob:
    """One (student, notebook) to grade, with every file of the course it needs."""

    student: str
    notebook: str
    submission: bytes  # the learner's notebook
    source: bytes  # the course's source notebook (solutions/): hidden tests, checksums
    config: str  # the course's nbgrader_config.py
    time_limit: float
    memory_limit: int
    database_limit: int
    sandbox: bool
    handed_in_stamp: str = ""  # for nbgrader's timestamp.txt, "" for none
    due: str = ""  # the assignment's due date (naive UTC, ISO), "" for none


@dataclass(frozen=True)
class ClusterOutcome:
    """What grading one ClusterJob gave: the worker's reply and what the client records."""

    reply: Graded | Failed
    role: str  # the database role it had
    seconds: float
    cleanup: dict[str, int] = field(default_factory=dict)
    cleanup_problem: str = ""
    record: GradebookRecord | None = None  # None when nbgrader recorded nothing
    autograded: bytes | None = None  # nbgrader's autograded notebook
    log: str = ""  # nbgrader's log of it
    worker: str = ""  # the Dask worker's address


def grade_on_worker(job: ClusterJob) -> ClusterOutcome:
    """The Dask task: grade `job` on this worker with its GradingPlugin."""
    worker = get_worker()
    plugin = worker.plugins[PLUGIN_NAME]
    assert isinstance(plugin, GradingPlugin)
    outcome = plugin.grade(job)
    return ClusterOutcome(**{**outcome.__dict__, "worker": worker.address})


def worker_facts(dask_worker: Any) -> dict[str, Any]:
    """What the grade command checks of every Dask worker first (client.run passes the worker
    as `dask_worker`)."""

    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    view = plugin.view if isinstance(plugin, GradingPlugin) else None
    check = check_sandbox(view) if view is not None else None
    return {
        "grader_format": GRADER_FORMAT,
        "plugin": view is not None,
        "sandbox": check.available if check else False,
        "sandbox_how": check.how if check else "",
    }


class _Course:
    """The scratch course of one configuration: its folders, gradebook and what it recorded."""

    def __init__(self, folder: Path, config: str) -> None:
        self.root = folder
        folder.mkdir(parents=True)
        (folder / "grader").mkdir()
        self.logs = folder / "logs"
        self.logs.mkdir()
        self.gradebook = concurrent_gradebook_url(f"sqlite:///{folder / 'grader' / 'gradebook.db'}")
        self.config = folder / "grader" / "nbgrader_config.py"
        self.config.write_text(
            config + SCRATCH_CONFIG.format(root=str(folder), db_url=self.gradebook)
        )
        self.release = folder / "grader" / ".release"
        self.release.mkdir()
        self.lock = threading.Lock()
        self.prepared: set[tuple[str, str]] = set()  # (notebook, its source's digest)
        self.students: set[str] = set()

    def notebook(self, step: str, student: str, notebook: str) -> Path:
        if step == "source":
            return self.root / step / notebook / f"{notebook}.ipynb"
        return self.root / step / student / notebook / f"{notebook}.ipynb"


class GradingPlugin(WorkerPlugin):
    """A Dask worker's grading machinery; everything it started stops when the worker closes."""

    name = PLUGIN_NAME
    idempotent = True  # registered by every run: a worker keeps its warm grading workers

    def setup(self, worker: Any) -> None:

        self.worker_address = str(worker.address)
        self._closing = contextlib.ExitStack()
        sweep_orphan_cgroups()  # of Dask workers that were killed
        # Swept by any later grade run on this machine if this worker is killed.
        self.folder = self._closing.enter_context(temporary_run_dir())
        self.view = self.folder / "view"
        self.view.mkdir()
        # Grading workers die with the thread that started them (PR_SET_PDEATHSIG): they are
        # started from this one, which lives as long as the plugin, not from a task's thread.
        self.launcher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="asyncdb-lab")
        self.slots = max(1, int(worker.state.nthreads))
        self.free: queue.Queue[int] = queue.Queue()
        for slot in range(self.slots):
            self.free.put(slot)
        self.pools: dict[int, WorkerPool] = {}
        self.servers: dict[int, Future[GradingServer]] = {}  # by size limit
        self.courses: dict[str, _Course] = {}  # by the text of their configuration
        self.lock = threading.Lock()

    def teardown(self, worker: Any) -> None:

        with self.lock:
            self._stop_pools()
            for server in self.servers.values():
                with contextlib.suppress(Exception):
                    server.result().stop()
            self.servers.clear()
        self.launcher.shutdown(wait=True)
        self._closing.close()
        sweep_orphan_cgroups()
        sweep_orphan_run_dirs(self.folder.parent)  # of Dask workers killed on this machine

    # -- one task -----------------------------------------------------------------------------

    def grade(self, job: ClusterJob) -> ClusterOutcome:
        slot = self.free.get()
        try:
            course = self._course_for(job.config)
            self._server_starting(job.database_limit)  # while the grading worker starts
            pool = self._pool(slot, course)
            problem = self._prepare(pool, course, job)
            if problem:
                return ClusterOutcome(Failed(error=problem), role="", seconds=0.0)
            return self._grade(slot, pool, course, job)
        finally:
            self.free.put(slot)

    def _grade(
        self, slot: int, pool: WorkerPool, course: _Course, job: ClusterJob
    ) -> ClusterOutcome:

        server = self._server(job.database_limit)
        submitted = course.notebook("submitted", job.student, job.notebook)
        submitted.parent.mkdir(parents=True, exist_ok=True)
        submitted.write_bytes(job.submission)
        stamp = submitted.parent / "timestamp.txt"
        stamp.unlink(missing_ok=True)
        if job.handed_in_stamp:
            stamp.write_text(job.handed_in_stamp)
        started = time.monotonic()
        role = server.new_role()
        worker = pool.workers[0]
        sandbox = (
            make_spec(
                self.view,
                f"grade-{slot}",
                Limits(memory_bytes=job.memory_limit),
                database_socket=Path(server.unix_socket),
            )
            if job.sandbox
            else None
        )
        worker.sandbox = sandbox
        url = sandboxed_database_url(role.name, role.password) if sandbox else role.url
        worker.send(
            Grade(
                student=job.student,
                notebook=job.notebook,
                submitted=submitted,
                env=kernel_env(url, sandbox, self.folder),
                sandbox=sandbox,
                time_limit=job.time_limit,
                memory_limit=job.memory_limit,
                due=job.due,
            )
        )
        reply = self._reply(pool, worker, server, role, job.time_limit + JOB_GRACE_SECONDS)
        seconds = round(time.monotonic() - started, 2)
        reply = with_size_stop(reply, server, role)
        cleanup, problem = cleaned_up(lambda: server.drop_role(role))
        outcome = ClusterOutcome(reply, role.name, seconds, cleanup, problem)
        if not isinstance(reply, Graded) or reply.status != "graded":
            return outcome
        autograded = course.notebook("autograded", job.student, job.notebook)
        log = course.logs / job.student / f"{job.notebook}.log"
        return ClusterOutcome(
            **{
                **outcome.__dict__,
                "record": read_record(course.gradebook, job.student, job.notebook),
                "autograded": autograded.read_bytes() if autograded.is_file() else None,
                "log": log.read_text(errors="replace") if log.is_file() else "",
            }
        )

    def _reply(
        self,
        pool: WorkerPool,
        worker: WorkerProcess,
        server: GradingServer,
        role: Role,
        job_seconds: float,
    ) -> Graded | Failed:
        """Wait for the grading worker's answer, as the local run does (LocalSession._wait)."""
        deadline = time.monotonic() + job_seconds
        while True:
            if role.name in server.stopped_roles():  # too big: its kernel stops here
                _kill_kernels(worker)
            try:
                _, message = pool.messages.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() > deadline:
                    self._lose(pool, worker)
                    return Failed(error=f"not graded: took over {job_seconds:g} s")
                continue
            if message is None:
                self._lose(pool, worker)
                return Failed(error=f"not graded: its grading worker stopped (see {worker.log})")
            if isinstance(message, KernelStarted):
                worker.kernels.add(message.pid)
            elif isinstance(message, Graded | Failed):
                worker.kernels.clear()
                return message

    def _lose(self, pool: WorkerPool, worker: WorkerProcess) -> None:
        """Kill a grading worker that stopped answering; the slot's next task starts another."""
        worker.kill()
        with contextlib.suppress(ValueError):
            pool.workers.remove(worker)

    # -- what a task needs: the course, a grading worker, the server --------------------------

    def _course_for(self, config: str) -> _Course:
        with self.lock:
            course = self.courses.get(config)
            if course is None:
                course = _Course(self.folder / f"course-{len(self.courses) + 1}", config)
                self.courses[config] = course
            return course

    def _pool(self, slot: int, course: _Course) -> WorkerPool:

        pool = self.pools.get(slot)
        if pool is not None and pool.workers and pool.config == course.config:
            return pool
        if pool is not None:  # it stopped, or it read another course's configuration
            pool.stop()
        env = nbgrader_apps.nbgrader_env()
        runtime, scratch = self.folder / "runtime", self.folder / "tmp"
        runtime.mkdir(exist_ok=True)
        scratch.mkdir(exist_ok=True)
        env.update(JUPYTER_RUNTIME_DIR=str(runtime), TMPDIR=str(scratch), **{QUIET_ENV: "1"})
        pool = WorkerPool(
            config=course.config,
            gradebook=course.gradebook,
            release_dir=course.release,
            log_dir=course.logs,
            env=env,
        )
        self.pools[slot] = pool
        worker = self.launcher.submit(pool.start, slot).result()
        answer = _next(pool, WORKER_START_SECONDS)
        if not isinstance(answer, Ready):
            pool.stop()
            raise RuntimeError(
                f"a grading worker did not start on {self.worker_address}: see {worker.log}"
            )
        worker.ready = True
        return pool

    def _prepare(self, pool: WorkerPool, course: _Course, job: ClusterJob) -> str:
        """The notebook and the student in the scratch gradebook; '' or why it failed."""

        digest = hashlib.sha256(job.source).hexdigest()
        with course.lock:  # one generate_assignment at a time in the scratch course
            if (job.notebook, digest) in course.prepared and job.student in course.students:
                return ""
            source = course.notebook("source", job.student, job.notebook)
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(job.source)
            pool.workers[0].send(Prepare(assignments=(job.notebook,), students=(job.student,)))
            answer = _next(pool, WORKER_START_SECONDS)
            if isinstance(answer, Prepared) and not answer.errors:
                course.prepared.add((job.notebook, digest))
                course.students.add(job.student)
                return ""
            if isinstance(answer, Prepared):
                return f"not graded: {answer.errors[job.notebook]}"
            if isinstance(answer, Failed):
                return "not graded: preparing the gradebook failed: " + (
                    last_line(answer.error) or "unknown error"
                )
            return f"not graded: the grading worker on {self.worker_address} stopped"

    def _server_starting(self, size_limit: int) -> Future[GradingServer]:
        with self.lock:
            server = self.servers.get(size_limit)
            if server is None:
                server = self.launcher.submit(
                    GradingServer.start,
                    roles_at_once=self.slots,
                    size_limit=size_limit,
                )
                self.servers[size_limit] = server
            return server

    def _server(self, size_limit: int) -> GradingServer:
        starting = self._server_starting(size_limit)
        try:
            return starting.result()
        except BaseException:
            with self.lock:  # the next task tries again
                if self.servers.get(size_limit) is starting:
                    del self.servers[size_limit]
            raise

    def _stop_pools(self) -> None:
        for pool in self.pools.values():
            pool.stop()
        self.pools.clear()


def _next(pool: WorkerPool, seconds: float) -> ToRunner | None:
    """The grading worker's next answer other than a kernel's start (None: it stopped)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            _, message = pool.messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return Failed(error=f"no answer from the grading worker in {seconds:g} s")
        if not isinstance(message, KernelStarted):
            return message


def describe_error(error: BaseException) -> str:
    """An exception of a task, in one line."""
    return last_line("".join(traceback.format_exception_only(error))) or type(error).__name__


def _kill_kernels(worker: WorkerProcess) -> None:
    for group in list(worker.kernels):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
