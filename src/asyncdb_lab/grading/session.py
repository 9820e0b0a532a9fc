"""The part of a grade run that grades, on this machine: worker processes, a private PostgreSQL
server, one submission at a time per worker with a fresh database role, and the clean-up after
each. (cluster.py does the same on a Dask cluster's workers.)
"""

from __future__ import annotations

import contextlib
import datetime
import os
import queue
import re
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from asyncdb_lab.course import nbgrader_apps
from asyncdb_lab.course.notebook import last_line
from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.grading.collect import Candidate
from asyncdb_lab.grading.course_files import (
    CourseFiles,
)
from asyncdb_lab.grading.database import GradingServer, Role
from asyncdb_lab.grading.disk_watch import describe_bytes
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
from asyncdb_lab.grading.options import GradeOptions
from asyncdb_lab.grading.progress import Progress
from asyncdb_lab.grading.results import SubmissionResult
from asyncdb_lab.grading.run_folder import shielded
from asyncdb_lab.grading.sandbox import (
    Limits,
    SandboxSpec,
    check_sandbox,
    make_spec,
    sandboxed_database_url,
    sweep_orphan_cgroups,
)
from asyncdb_lab.grading.store import ResultStore
from asyncdb_lab.grading.workers import WorkerPool, WorkerProcess
from asyncdb_lab.settings import BACKEND_ENV, DATABASE_URL_ENV, QUIET_ENV, SEED_DIR_ENV

# Part of every result's digest: bump it when a change to grading can change a score, or what
# feedback may show (3: hidden tests' data redacted from messages).
GRADER_FORMAT = "3"
# On top of the notebook's time limit: kernel start-up and nbgrader's own work.
JOB_GRACE_SECONDS = 180
WORKER_START_SECONDS = 300


@dataclass
class Running:
    candidate: Candidate
    role: Role
    digest: str
    started: float
    finished: float = 0.0


@dataclass
class Finishing:
    running: Running
    reply: Graded | Failed
    cleanup: Future[dict[str, int]]


@dataclass
class Dispatch:
    """What handing out the submissions works with, from the first to the last."""

    pool: WorkerPool
    server: GradingServer
    pending: deque[Candidate]  # not handed out yet
    failed: dict[str, str]  # notebooks that cannot be graded, and why
    progress: Progress


def gradebook_due_date(deadline: datetime.datetime | None) -> str:
    """The deadline as nbgrader's gradebook keeps due dates: naive UTC (ISO), "" for none."""
    if deadline is None:
        return ""
    return deadline.astimezone(datetime.UTC).replace(tzinfo=None).isoformat()


def handed_in_stamp(candidate: Candidate, deadline: datetime.datetime | None) -> str:
    """The hand-in time for nbgrader's timestamp.txt (UTC), when there is a deadline to compare
    it with and the time is known; "" otherwise."""
    if deadline is None or not candidate.handed_in:
        return ""
    moment = datetime.datetime.fromtimestamp(candidate.handed_in, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def lateness(candidate: Candidate, deadline: datetime.datetime | None) -> str:
    """Why the submission counts as late, in words, or "" when it does not."""
    if deadline is not None and candidate.handed_in > deadline.timestamp():
        hours = (candidate.handed_in - deadline.timestamp()) / 3600
        return f"handed in {hours:.1f} h after the deadline ({deadline.isoformat(' ', 'minutes')})"
    if candidate.marked_late:
        return "marked late by the LMS (LATE in the file name)"
    return ""


class LocalSession:
    """The part of a run that grades: workers, the server, dispatch, and cleaning up after."""

    def __init__(
        self,
        options: GradeOptions,
        files: CourseFiles,
        gradebook: str,
        run_dir: Path,
        store: ResultStore,
        digests: dict[Candidate, str],
    ) -> None:
        self.options = options
        self.files = files
        self.gradebook = gradebook
        self.run_dir = run_dir
        self.store = store
        self.digests = digests
        self.view = run_dir / "view"
        self.view.mkdir()
        self.limits = Limits(memory_bytes=options.memory_limit)
        self.results: list[SubmissionResult] = []

    def check_isolation(self) -> str:
        if not self.options.sandbox:
            return (
                "UNSANDBOXED (--no-sandbox): learner code ran with your user's permissions and "
                "could read or change anything you can"
            )
        sweep_orphan_cgroups()  # of runs that were killed
        check = check_sandbox(self.view)
        if not check.available:
            raise AsyncDbLabError(
                f"learner code cannot be isolated on this machine ({check.how}). Grading would "
                f"run it with your permissions: fix that, or pass --no-sandbox for trusted "
                f"submissions only"
            )
        return check.how

    def worker_pool(self, log_dir: Path) -> WorkerPool:
        """Grading workers (none started yet) of this course and gradebook.

        Whatever the workers, nbgrader and jupyter_client write (connection files, say) goes
        into the run's folder, which goes at the end even after a kill.
        """
        runtime, scratch = self.run_dir / "runtime", self.run_dir / "tmp"
        runtime.mkdir(exist_ok=True)
        scratch.mkdir(exist_ok=True)
        env = nbgrader_apps.nbgrader_env()
        env.update(JUPYTER_RUNTIME_DIR=str(runtime), TMPDIR=str(scratch), **{QUIET_ENV: "1"})
        return WorkerPool(
            config=self.files.config_file,
            gradebook=self.gradebook,
            release_dir=self.files.grader_dir / ".release",
            log_dir=log_dir,
            env=env,
        )

    def run(self, todo: list[Candidate]) -> list[SubmissionResult]:
        log_dir = self.options.out / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        pool = self.worker_pool(log_dir)
        progress = Progress(len(todo), bar=self.options.progress_bar)
        server: GradingServer | None = None
        try:
            for slot in range(max(1, min(self.options.jobs, len(todo)))):
                pool.start(slot)
            # The first worker records the notebooks and students in the gradebook as soon as
            # it is up, while this process starts the server.
            pool.workers[0].send(
                Prepare(
                    assignments=tuple(sorted({c.notebook for c in todo})),
                    students=tuple(sorted({c.student for c in todo})),
                )
            )
            # The server watches the size of each role's databases from now until it stops.
            server = GradingServer.start(
                roles_at_once=len(pool.workers), size_limit=self.options.database_limit
            )
            failed = self._wait_until_prepared(pool)
            self._dispatch(Dispatch(pool, server, deque(todo), failed, progress))
        finally:
            with shielded():  # a second Ctrl-C must not cut the clean-up short
                progress.close()
                pool.stop()
                if server is not None:
                    server.stop()
        return self.results

    # -- starting -----------------------------------------------------------------------------

    def _wait_until_prepared(self, pool: WorkerPool) -> dict[str, str]:
        """Every worker ready, the gradebook prepared; per notebook, what went wrong with it."""
        deadline = time.monotonic() + WORKER_START_SECONDS
        waiting = {worker.pid for worker in pool.workers}
        failed: dict[str, str] | None = None
        while waiting or failed is None:
            worker, reply = self._next(pool, deadline - time.monotonic())
            if reply is None:
                raise AsyncDbLabError(f"a grading worker stopped while starting: see {worker.log}")
            if isinstance(reply, Ready):
                worker.ready = True
                waiting.discard(worker.pid)
            elif isinstance(reply, Prepared):
                failed = dict(reply.errors)
            elif isinstance(reply, Failed):
                raise AsyncDbLabError(
                    "preparing the gradebook failed: " + (last_line(reply.error) or "unknown error")
                )
        return failed

    def _next(self, pool: WorkerPool, timeout: float) -> tuple[WorkerProcess, ToRunner | None]:
        try:
            return pool.messages.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise AsyncDbLabError(
                "the grading workers did not answer in time: see the logs in "
                f"{self.options.out / 'logs'}"
            ) from None

    # -- grading ------------------------------------------------------------------------------

    def _dispatch(self, run: Dispatch) -> None:
        # A finished submission's role is dropped in the background while its worker already
        # grades the next one.
        cleaners = ThreadPoolExecutor(max_workers=2, thread_name_prefix="drop-role")
        finishing: list[Finishing] = []
        try:
            while run.pending or finishing or any(worker.job for worker in run.pool.workers):
                for entry in [entry for entry in finishing if entry.cleanup.done()]:
                    finishing.remove(entry)
                    dropped, problem = cleaned_up(entry.cleanup.result)
                    result = self._result(entry.running, entry.reply, dropped, problem)
                    self._finish(run, result)
                if not run.pool.workers and run.pending:
                    raise AsyncDbLabError(f"no grading worker is left: see {self.options.out}/logs")
                self._hand_out(run)
                stop_oversized_kernels(run)
                answer = self._wait(run)
                if answer is not None:
                    worker, reply = answer
                    running, worker.job = worker.job, None
                    running.finished = time.monotonic()
                    worker.kernels.clear()
                    reply = with_size_stop(reply, run.server, running.role)
                    cleanup = cleaners.submit(run.server.drop_role, running.role)
                    finishing.append(Finishing(running, reply, cleanup))
        finally:
            cleaners.shutdown(wait=False, cancel_futures=True)

    def _hand_out(self, run: Dispatch) -> None:
        for worker in list(run.pool.workers):
            while worker.job is None and worker.ready and run.pending:
                candidate = run.pending.popleft()
                if candidate.notebook in run.failed:
                    self._finish(run, self._error(candidate, run.failed[candidate.notebook]))
                    continue
                try:
                    self._start(worker, run.server, candidate)
                except Exception as error:  # the server refused (its lock table full, say)
                    why = last_line(str(error)) or type(error).__name__
                    reason = f"not graded: its database role could not be made: {why}"
                    self._finish(run, self._error(candidate, reason))
                    continue
                run.progress.started_one()

    def _wait(self, run: Dispatch) -> tuple[WorkerProcess, Graded | Failed] | None:
        """The next finished submission's worker and reply, if one finishes within a moment."""
        job_seconds = self.options.time_limit + JOB_GRACE_SECONDS
        try:
            worker, reply = run.pool.messages.get(timeout=0.2)
        except queue.Empty:
            for worker in list(run.pool.workers):
                if worker.job and time.monotonic() - worker.job.started > job_seconds:
                    self._lost(run, worker, f"took over {job_seconds:g} s")
            return None
        if reply is None:
            if worker in run.pool.workers:
                self._lost(run, worker, "its grading worker stopped")
        elif isinstance(reply, KernelStarted):
            worker.kernels.add(reply.pid)
        elif isinstance(reply, Ready):
            worker.ready = True
        elif isinstance(reply, Graded | Failed) and worker.job is not None:
            return worker, reply
        return None

    def _start(self, worker: WorkerProcess, server: GradingServer, candidate: Candidate) -> None:
        target = self.files.submitted_notebook(candidate.student, candidate.notebook)
        if target.parent.exists():
            shutil.rmtree(target.parent)
        target.parent.mkdir(parents=True)
        shutil.copyfile(candidate.path, target)
        stamp = handed_in_stamp(candidate, self.options.deadline)
        if stamp:
            # nbgrader's own record of the hand-in time, which its late-submission plugin reads.
            (target.parent / "timestamp.txt").write_text(stamp)
        role = server.new_role()
        sandbox = (
            make_spec(
                self.view,
                f"grade-{worker.slot}",
                self.limits,
                database_socket=Path(server.unix_socket),
            )
            if self.options.sandbox
            else None
        )
        worker.sandbox = sandbox
        url = sandboxed_database_url(role.name, role.password) if sandbox else role.url
        worker.send(
            Grade(
                student=candidate.student,
                notebook=candidate.notebook,
                submitted=target,
                env=self._kernel_env(url, sandbox),
                sandbox=sandbox,
                time_limit=self.options.time_limit,
                memory_limit=self.options.memory_limit,
                due=gradebook_due_date(self.options.deadline),
            )
        )
        worker.job = Running(candidate, role, self.digests[candidate], time.monotonic())

    def _lost(self, run: Dispatch, worker: WorkerProcess, why: str) -> None:
        running = worker.job
        worker.kill()
        run.pool.workers.remove(worker)
        if run.pending:
            run.pool.start(worker.slot)
        if running is not None:
            cleanup, problem = cleaned_up(lambda: run.server.drop_role(running.role))
            failed = Failed(error=f"not graded: {why} (see {worker.log})")
            self._finish(run, self._result(running, failed, cleanup, problem))

    def _kernel_env(self, database_url: str, sandbox: SandboxSpec | None) -> dict[str, str]:
        return kernel_env(database_url, sandbox, self.run_dir)

    def _result(
        self,
        running: Running,
        reply: Graded | Failed,
        cleanup: dict[str, int],
        cleanup_problem: str = "",
    ) -> SubmissionResult:
        candidate = running.candidate
        result = SubmissionResult(
            student=candidate.student,
            notebook=candidate.notebook,
            status="error",
            max_score=self.files.max_points(candidate.notebook),
            seconds=round((running.finished or time.monotonic()) - running.started, 2),
            source=candidate.source,
            digest=running.digest,
            cleanup=cleanup,
        )
        if isinstance(reply, Failed):
            result.reason = last_line(reply.error) or "unknown error"
            note_cleanup_problem(result, cleanup_problem)
            return result
        result.status = reply.status
        result.reason = reply.reason
        result.timing = dict(reply.timing)
        result.tests = list(reply.tests)
        if result.tests:
            result.score = sum(test.points for test in result.tests)
            result.max_score = sum(test.max_points for test in result.tests)
        if reply.stop_kind:
            result.flags.append(reply.stop_kind)
            result.reason = reply.stop
            if reply.stop_kind == "kernel-start":
                result.status = "error"
        if reply.integrity:
            result.flags.append("tests-restored")
            result.details.extend(reply.integrity)
        if reply.tampering:
            result.flags.append("tampering")
            result.details.extend(reply.tampering)
            result.reason = "grading tampered with: scored 0 and marked for review in formgrader"
        if reply.output_capped:
            result.flags.append("output-capped")
        late = lateness(candidate, self.options.deadline)
        if late:
            result.flags.append("late")
            result.details.append(late)
        if reply.late_penalty:
            result.score = max(0.0, result.score - reply.late_penalty)
            result.details.append(
                f"late penalty: {reply.late_penalty:g} points off (nbgrader's "
                "LateSubmissionPlugin, as the course's configuration sets it)"
            )
        result.details.extend(reply.notes)
        if not self.options.sandbox:
            result.flags.append("unsandboxed")
        note_cleanup_problem(result, cleanup_problem)
        return result

    def _error(self, candidate: Candidate, why: str) -> SubmissionResult:
        return SubmissionResult(
            student=candidate.student,
            notebook=candidate.notebook,
            status="error",
            max_score=self.files.max_points(candidate.notebook),
            reason=why,
            source=candidate.source,
            digest=self.digests[candidate],
        )

    def _finish(self, run: Dispatch, result: SubmissionResult) -> None:
        self.store.save(result)
        self.results.append(result)
        run.progress.finished(result)


def kernel_env(database_url: str, sandbox: SandboxSpec | None, run_dir: Path) -> dict[str, str]:
    """The whole environment of a submission's kernel (run_dir: where an unsandboxed one lives)."""
    home = "/tmp" if sandbox else str(run_dir / "home")
    if not sandbox:
        Path(home).mkdir(exist_ok=True)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "USER": "learner",
        "LOGNAME": "learner",
        "LANG": "C.UTF-8",
        "IPYTHONDIR": f"{home}/.ipython",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MALLOC_ARENA_MAX": "2",  # glibc's per-thread arenas would eat the address space limit
        BACKEND_ENV: "url",
        DATABASE_URL_ENV: database_url,
        QUIET_ENV: "1",
    }
    if os.environ.get(SEED_DIR_ENV):
        env[SEED_DIR_ENV] = os.environ[SEED_DIR_ENV]
    return env


# -- after a submission: its size, its clean-up -------------------------------------------------


def stop_oversized_kernels(run: Dispatch) -> None:
    """The server stopped these roles for their databases' size; their kernels stop here."""
    stopped = run.server.stopped_roles()
    if not stopped:
        return
    for worker in run.pool.workers:
        if worker.job is not None and worker.job.role.name in stopped:
            for group in list(worker.kernels):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, signal.SIGKILL)


def with_size_stop(reply: Graded | Failed, server: GradingServer, role: Role) -> Graded | Failed:
    """A notebook stopped for its databases' size says so, however its kernel's death looked."""
    size = server.stopped_for_size(role)
    if size is None or not isinstance(reply, Graded) or reply.status != "graded":
        return reply
    where = re.search(r"(?:in|after) cell \d+|between cells", reply.stop)
    reason = (
        f"its databases grew past the {describe_bytes(server.size_limit)} limit "
        f"({describe_bytes(size)} when seen): stopped" + (f" {where.group(0)}" if where else "")
    )
    return replace(reply, stop_kind="database-size", stop=reason)


def cleaned_up(drop: Callable[[], dict[str, int]]) -> tuple[dict[str, int], str]:
    """What dropping a role did, or why it failed (one line): a problem of its submission only."""
    try:
        return drop(), ""
    except Exception as error:
        return {}, last_line(str(error)) or type(error).__name__


def note_cleanup_problem(result: SubmissionResult, problem: str) -> None:
    if not problem:
        return
    result.flags.append("cleanup-failed")
    line = f"cleaning up its database role failed (the run went on): {problem}"
    if result.reason:
        result.details.append(line)
    else:
        result.reason = line
