"""`asyncdb-lab grade`: collect, grade in parallel, keep every result, write the reports.

One run: find the submissions; reuse the results of those already graded and unchanged; start
the workers (nbgrader, once each), a private PostgreSQL server with the course's templates, and
hand out one submission at a time with a fresh database role; after each, stop what it left
running on the server and drop what it made. Whatever happens (a bad submission, a crash,
Ctrl-C), the workers, kernels, server and temporary folders go.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import queue
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from asyncdb_lab.course import nbgrader_apps
from asyncdb_lab.course.notebook import last_line
from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.grading.collect import Candidate, Collector, Problem
from asyncdb_lab.grading.course_files import (
    CourseFiles,
    check_gradebook,
    concurrent_gradebook_url,
    graded_in_gradebook,
)
from asyncdb_lab.grading.database import DEFAULT_SIZE_LIMIT, GradingServer, Role
from asyncdb_lab.grading.disk_watch import describe_bytes
from asyncdb_lab.grading.manual_grades import apply_manual_grades
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
from asyncdb_lab.grading.progress import Progress
from asyncdb_lab.grading.results import SubmissionResult
from asyncdb_lab.grading.sandbox import (
    Limits,
    SandboxSpec,
    check_sandbox,
    make_spec,
    sandboxed_database_url,
    sweep_orphan_cgroups,
)
from asyncdb_lab.grading.similar_submissions import SimilarSubmissions, similar_submissions
from asyncdb_lab.grading.store import ResultStore
from asyncdb_lab.grading.workers import WorkerPool, WorkerProcess
from asyncdb_lab.servers.embedded.reaper import is_alive
from asyncdb_lab.settings import BACKEND_ENV, DATABASE_URL_ENV, QUIET_ENV, SEED_DIR_ENV

# Part of every result's digest: bump it when a change to grading can change a score, or what
# feedback may show (3: hidden tests' data redacted from messages).
GRADER_FORMAT = "3"
# On top of the notebook's time limit: kernel start-up and nbgrader's own work.
JOB_GRACE_SECONDS = 180
WORKER_START_SECONDS = 300
RUN_DIR_PREFIX = "asyncdb-lab-grade-"


@dataclass
class GradeOptions:
    submissions: Path
    out: Path
    jobs: int
    time_limit: float
    memory_limit: int
    config: Path
    gradebook: str | None = None
    notebooks: list[str] = field(default_factory=list)
    student_pattern: str | None = None
    sandbox: bool = True
    progress_bar: bool | None = None
    database_limit: int = DEFAULT_SIZE_LIMIT  # bytes one submission's databases may take
    students: list[str] = field(default_factory=list)  # grade only these; keep the others' results
    force: bool = False  # grade again even what is unchanged since it was graded
    roster: Path | None = None  # the LMS's class list: who handed in nothing is missing too
    deadline: datetime.datetime | None = None  # timezone-aware; files handed in after it are late


@dataclass
class RunOutcome:
    results: list[SubmissionResult]
    graded: int  # graded in this run
    reused: int  # kept from an earlier run
    seconds: float
    isolation: str  # one sentence: how learner code was kept from the grader
    left_out: int = 0  # submissions of students not asked for (--student) with no earlier result
    similar: list[SimilarSubmissions] = field(default_factory=list)  # to look at, not a penalty


@dataclass
class _Running:
    candidate: Candidate
    role: Role
    digest: str
    started: float
    finished: float = 0.0


@dataclass
class _Finishing:
    running: _Running
    reply: Graded | Failed
    cleanup: Future[dict[str, int]]


@dataclass
class _Dispatch:
    """What handing out the submissions works with, from the first to the last."""

    pool: WorkerPool
    server: GradingServer
    pending: deque[Candidate]  # not handed out yet
    failed: dict[str, str]  # notebooks that cannot be graded, and why
    progress: Progress


def grade(options: GradeOptions) -> RunOutcome:
    started = time.monotonic()
    files = CourseFiles.read(options.config)
    notebooks = nbgrader_apps.assignments(files.source)
    unknown = sorted(set(options.notebooks) - set(notebooks))
    if unknown:
        raise AsyncDbLabError(
            f"no such notebook in {files.source}: {', '.join(unknown)} "
            f"(the course has {', '.join(notebooks)})"
        )
    options.out.mkdir(parents=True, exist_ok=True)
    with _terminate_as_interrupt(), _run_dir() as run_dir:
        collector = Collector(
            notebooks,
            only=options.notebooks,
            student_pattern=options.student_pattern,
            roster=_roster_ids(options.roster) if options.roster else None,
        )
        try:
            candidates, problems = collector.collect(options.submissions, run_dir)
        except (OSError, ValueError) as error:
            raise AsyncDbLabError(f"cannot read the submissions: {error}") from None
        _check_students(options.students, candidates, problems)
        store = ResultStore(options.out / "results")
        check_gradebook(options.gradebook or files.db_url, files.course_id)
        gradebook = concurrent_gradebook_url(options.gradebook or files.db_url)
        digests = {c: _digest(c, files, options) for c in candidates}
        in_gradebook = graded_in_gradebook(gradebook) if candidates else set()
        reused: list[SubmissionResult] = []
        todo: list[Candidate] = []
        left_out = 0
        for candidate in candidates:
            previous = store.load(candidate.student, candidate.notebook)
            asked_for = not options.students or candidate.student in options.students
            if previous is not None and (
                not asked_for
                or (not options.force and _still_valid(previous, digests[candidate], in_gradebook))
            ):
                previous.reused = True
                reused.append(previous)
            elif asked_for:
                todo.append(candidate)
            else:
                left_out += 1
        isolation = "no learner code ran in this run: every submission was already graded"
        graded: list[SubmissionResult] = []
        if todo:
            session = _Session(options, files, gradebook, run_dir, store, digests)
            isolation = session.check_isolation()
            graded = session.run(todo)
        results = reused + graded + [_rejected(p, files) for p in problems]
        results.sort(key=lambda r: (r.student, r.notebook))
        if graded_in_gradebook(gradebook):
            apply_manual_grades(results, gradebook, files.course_id)
        similar = similar_submissions(
            candidates, {c.notebook: files.release_notebook(c.notebook) for c in candidates}
        )
        return RunOutcome(
            results,
            len(graded),
            len(reused),
            time.monotonic() - started,
            isolation,
            left_out,
            similar,
        )


def _roster_ids(path: Path) -> Callable[[set[str]], list[str]]:
    """Read the roster now (a bad one stops the run, in one line, before any grading); match
    it to the students found later."""
    from asyncdb_lab.grading.export.matching import roster_ids
    from asyncdb_lab.grading.export.roster import read_roster

    roster = read_roster(path)
    return lambda found: roster_ids(roster, found)


def _gradebook_due_date(deadline: datetime.datetime | None) -> str:
    """The deadline as nbgrader's gradebook keeps due dates: naive UTC (ISO), "" for none."""
    if deadline is None:
        return ""
    return deadline.astimezone(datetime.UTC).replace(tzinfo=None).isoformat()


def _handed_in_stamp(candidate: Candidate, deadline: datetime.datetime | None) -> str:
    """The hand-in time for nbgrader's timestamp.txt (UTC), when there is a deadline to compare
    it with and the time is known; "" otherwise."""
    if deadline is None or not candidate.handed_in:
        return ""
    moment = datetime.datetime.fromtimestamp(candidate.handed_in, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _lateness(candidate: Candidate, deadline: datetime.datetime | None) -> str:
    """Why the submission counts as late, in words, or "" when it does not."""
    if deadline is not None and candidate.handed_in > deadline.timestamp():
        hours = (candidate.handed_in - deadline.timestamp()) / 3600
        return f"handed in {hours:.1f} h after the deadline ({deadline.isoformat(' ', 'minutes')})"
    if candidate.marked_late:
        return "marked late by the LMS (LATE in the file name)"
    return ""


def _check_students(
    students: list[str], candidates: list[Candidate], problems: list[Problem]
) -> None:
    known = {c.student for c in candidates} | {p.student for p in problems}
    unknown = sorted(set(students) - known)
    if unknown:
        shown = ", ".join(sorted(known)[:8]) + (", …" if len(known) > 8 else "")
        raise AsyncDbLabError(
            f"no submission from {', '.join(unknown)} in the submissions (students there: "
            f"{shown or 'none'}): check the id, as grades.csv spells it"
        )


def _still_valid(
    previous: SubmissionResult, digest: str, in_gradebook: set[tuple[str, str]]
) -> bool:
    if previous.digest != digest or previous.status == "error":
        return False
    return previous.status == "rejected" or previous.key in in_gradebook


def _digest(candidate: Candidate, files: CourseFiles, options: GradeOptions) -> str:
    parts = [
        GRADER_FORMAT,
        candidate.digest(),
        files.source_digest(candidate.notebook),
        f"{options.time_limit:g}",
        _handed_in_stamp(candidate, options.deadline),
        str(options.memory_limit),
        "sandbox" if options.sandbox else "no-sandbox",
        str(options.database_limit),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _rejected(problem: Problem, files: CourseFiles) -> SubmissionResult:
    known = problem.notebook in nbgrader_apps.assignments(files.source)
    return SubmissionResult(
        student=problem.student,
        notebook=problem.notebook,
        status=problem.status,
        max_score=files.max_points(problem.notebook) if known else 0.0,
        reason=problem.reason,
        source=problem.source,
    )


class _Session:
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

    def run(self, todo: list[Candidate]) -> list[SubmissionResult]:
        log_dir = self.options.out / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        # Whatever the workers, nbgrader and jupyter_client write (connection files, say) goes
        # into the run's folder, which goes at the end even after a kill.
        runtime, scratch = self.run_dir / "runtime", self.run_dir / "tmp"
        runtime.mkdir()
        scratch.mkdir()
        env = nbgrader_apps.nbgrader_env()
        env.update(JUPYTER_RUNTIME_DIR=str(runtime), TMPDIR=str(scratch), **{QUIET_ENV: "1"})
        pool = WorkerPool(
            config=self.files.config_file,
            gradebook=self.gradebook,
            release_dir=self.files.grader_dir / ".release",
            log_dir=log_dir,
            env=env,
        )
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
            connections = max(10, 90 // len(pool.workers))
            # The server watches the size of each role's databases from now until it stops.
            server = GradingServer.start(
                connection_limit=connections, size_limit=self.options.database_limit
            )
            failed = self._wait_until_prepared(pool)
            self._dispatch(_Dispatch(pool, server, deque(todo), failed, progress))
        finally:
            with _shielded():  # a second Ctrl-C must not cut the clean-up short
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

    def _dispatch(self, run: _Dispatch) -> None:
        # A finished submission's role is dropped in the background while its worker already
        # grades the next one.
        cleaners = ThreadPoolExecutor(max_workers=2, thread_name_prefix="drop-role")
        finishing: list[_Finishing] = []
        try:
            while run.pending or finishing or any(worker.job for worker in run.pool.workers):
                for entry in [entry for entry in finishing if entry.cleanup.done()]:
                    finishing.remove(entry)
                    dropped, problem = _cleaned_up(entry.cleanup.result)
                    result = self._result(entry.running, entry.reply, dropped, problem)
                    self._finish(run, result)
                if not run.pool.workers and run.pending:
                    raise AsyncDbLabError(f"no grading worker is left: see {self.options.out}/logs")
                self._hand_out(run)
                _stop_oversized_kernels(run)
                answer = self._wait(run)
                if answer is not None:
                    worker, reply = answer
                    running, worker.job = worker.job, None
                    running.finished = time.monotonic()
                    worker.kernels.clear()
                    reply = _with_size_stop(reply, run.server, running.role)
                    cleanup = cleaners.submit(run.server.drop_role, running.role)
                    finishing.append(_Finishing(running, reply, cleanup))
        finally:
            cleaners.shutdown(wait=False, cancel_futures=True)

    def _hand_out(self, run: _Dispatch) -> None:
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

    def _wait(self, run: _Dispatch) -> tuple[WorkerProcess, Graded | Failed] | None:
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
        stamp = _handed_in_stamp(candidate, self.options.deadline)
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
                due=_gradebook_due_date(self.options.deadline),
            )
        )
        worker.job = _Running(candidate, role, self.digests[candidate], time.monotonic())

    def _lost(self, run: _Dispatch, worker: WorkerProcess, why: str) -> None:
        running = worker.job
        worker.kill()
        run.pool.workers.remove(worker)
        if run.pending:
            run.pool.start(worker.slot)
        if running is not None:
            cleanup, problem = _cleaned_up(lambda: run.server.drop_role(running.role))
            failed = Failed(error=f"not graded: {why} (see {worker.log})")
            self._finish(run, self._result(running, failed, cleanup, problem))

    def _kernel_env(self, database_url: str, sandbox: SandboxSpec | None) -> dict[str, str]:
        home = "/tmp" if sandbox else str(self.run_dir / "home")
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

    def _result(
        self,
        running: _Running,
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
            _note_cleanup_problem(result, cleanup_problem)
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
        lateness = _lateness(candidate, self.options.deadline)
        if lateness:
            result.flags.append("late")
            result.details.append(lateness)
        if reply.late_penalty:
            result.score = max(0.0, result.score - reply.late_penalty)
            result.details.append(
                f"late penalty: {reply.late_penalty:g} points off (nbgrader's "
                "LateSubmissionPlugin, as the course's configuration sets it)"
            )
        result.details.extend(reply.notes)
        if not self.options.sandbox:
            result.flags.append("unsandboxed")
        _note_cleanup_problem(result, cleanup_problem)
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

    def _finish(self, run: _Dispatch, result: SubmissionResult) -> None:
        self.store.save(result)
        self.results.append(result)
        run.progress.finished(result)


# -- after a submission: its size, its clean-up -------------------------------------------------


def _stop_oversized_kernels(run: _Dispatch) -> None:
    """The server stopped these roles for their databases' size; their kernels stop here."""
    stopped = run.server.stopped_roles()
    if not stopped:
        return
    for worker in run.pool.workers:
        if worker.job is not None and worker.job.role.name in stopped:
            for group in list(worker.kernels):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, signal.SIGKILL)


def _with_size_stop(reply: Graded | Failed, server: GradingServer, role: Role) -> Graded | Failed:
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


def _cleaned_up(drop: Callable[[], dict[str, int]]) -> tuple[dict[str, int], str]:
    """What dropping a role did, or why it failed (one line): a problem of its submission only."""
    try:
        return drop(), ""
    except Exception as error:
        return {}, last_line(str(error)) or type(error).__name__


def _note_cleanup_problem(result: SubmissionResult, problem: str) -> None:
    if not problem:
        return
    result.flags.append("cleanup-failed")
    line = f"cleaning up its database role failed (the run went on): {problem}"
    if result.reason:
        result.details.append(line)
    else:
        result.reason = line


# -- the run's temporary folder, and signals ---------------------------------------------------


@contextlib.contextmanager
def _run_dir() -> Iterator[Path]:
    base = Path(tempfile.gettempdir())
    _sweep_orphans(base)
    run_dir = base / f"{RUN_DIR_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    run_dir.mkdir(mode=0o700)
    try:
        yield run_dir
    finally:
        with _shielded():
            shutil.rmtree(run_dir, ignore_errors=True)


def _sweep_orphans(base: Path) -> None:
    """Folders of grade runs that were killed (kill -9): their owner process is gone."""
    for folder in base.glob(f"{RUN_DIR_PREFIX}*"):
        try:
            pid = int(folder.name.removeprefix(RUN_DIR_PREFIX).split("-")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not is_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (then interrupt as usual)."""
    received: list[int] = []

    def remember(signum: int, frame: object) -> None:
        received.append(signum)

    try:
        previous = {s: signal.signal(s, remember) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            raise KeyboardInterrupt


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM cleans up like Ctrl-C does."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
