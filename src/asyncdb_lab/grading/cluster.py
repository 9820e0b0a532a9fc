"""`asyncdb-lab grade --cluster tcp://SCHEDULER:8786`: grade on the workers of a Dask cluster.

The grade command keeps everything but the grading: collecting, digests, reuse of earlier
results, the result store, the gradebook and the reports (runner.grade). Each (student, notebook)
to grade becomes one Dask task with a deterministic key, carrying the submission and the course
files it needs (cluster_worker.ClusterJob); a Dask worker grades it with the sandbox, limits and
private PostgreSQL a local run uses, and returns the result. Only the grade command writes the
gradebook and the store, once per submission: a task whose worker dies is run again by Dask on
another worker, and its result still arrives once.

    grade(GradeOptions(..., cluster="tcp://10.0.0.5:8786"))   # runner.grade picks this session
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from asyncdb_lab.course.notebook import last_line
from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.grading.cluster_gradebook import set_due_date, write_record
from asyncdb_lab.grading.cluster_worker import (
    PLUGIN_NAME,
    ClusterJob,
    ClusterOutcome,
    GradingPlugin,
    grade_on_worker,
    worker_facts,
)
from asyncdb_lab.grading.collect import Candidate
from asyncdb_lab.grading.database import Role
from asyncdb_lab.grading.messages import Failed, Graded, Prepare
from asyncdb_lab.grading.progress import Progress
from asyncdb_lab.grading.results import SubmissionResult
from asyncdb_lab.grading.run_folder import shielded
from asyncdb_lab.grading.session import (
    GRADER_FORMAT,
    LocalSession,
    Running,
    gradebook_due_date,
    handed_in_stamp,
)

CONNECT_SECONDS = 10
WORKERS_SECONDS = 60  # how long to wait for a first Dask worker to join the scheduler
KEY_PREFIX = "asyncdb-lab-grade"


class ClusterSession(LocalSession):
    """The grading part of a run, on a Dask cluster (session.LocalSession does it locally)."""

    client: Any = None  # distributed.Client, once connected

    def check_isolation(self) -> str:
        assert self.options.cluster
        self.client = connect(self.options.cluster)
        try:
            self.client.register_plugin(GradingPlugin(), name=PLUGIN_NAME)
            facts: dict[str, dict[str, Any]] = self.client.run(worker_facts)
        except BaseException:
            self.client.close()
            raise
        return self._isolation(facts)

    def _isolation(self, facts: dict[str, dict[str, Any]]) -> str:
        for address, fact in sorted(facts.items()):
            problem = ""
            if not fact["plugin"]:
                problem = (
                    f"the grading plugin did not start on the Dask worker at {address}: see that "
                    "worker's log, fix it or stop that worker, and grade again"
                )
            elif fact["grader_format"] != GRADER_FORMAT:
                problem = (
                    f"the Dask worker at {address} grades differently (grader format "
                    f"{fact['grader_format']}, here {GRADER_FORMAT}): install the same version "
                    "of the course on every worker"
                )
            elif self.options.sandbox and not fact["sandbox"]:
                problem = (
                    f"learner code cannot be isolated on the Dask worker at {address} "
                    f"({fact['sandbox_how']}): fix that machine or stop its worker, or pass "
                    "--no-sandbox for trusted submissions only"
                )
            if problem:
                self.client.close()
                raise AsyncDbLabError(problem)
        workers = f"{len(facts)} Dask worker{'s' if len(facts) != 1 else ''}"
        if not self.options.sandbox:
            return (
                f"UNSANDBOXED (--no-sandbox): learner code ran on {workers} with the workers' "
                "permissions and could read or change anything they can"
            )
        first = next(iter(facts.values()))
        return f"on {workers} of {self.options.cluster}: {first['sandbox_how']}"

    def run(self, todo: list[Candidate]) -> list[SubmissionResult]:
        log_dir = self.options.out / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        progress = Progress(len(todo), bar=self.options.progress_bar)
        futures: dict[Any, Candidate] = {}
        try:
            # The workers start grading while the gradebook here is prepared.
            for candidate in todo:
                future = self.client.submit(
                    grade_on_worker,
                    self._job(candidate),
                    key=task_key(candidate, self.digests[candidate]),
                    pure=False,
                )
                futures[future] = candidate
                progress.started_one()
            failed = self._prepare_gradebook(todo, log_dir)
            for future, candidate in list(futures.items()):
                if candidate.notebook in failed:
                    future.cancel()
                    del futures[future]
                    self._record(progress, self._error(candidate, failed[candidate.notebook]))
            self._collect(futures, progress)
        finally:
            with shielded():  # a second Ctrl-C must not cut the clean-up short
                progress.close()
                if futures:
                    with contextlib.suppress(Exception):
                        self.client.cancel(list(futures))
                self.client.close()
        return self.results

    def _prepare_gradebook(self, todo: list[Candidate], log_dir: Path) -> dict[str, str]:
        """The course's gradebook knows the notebooks and the students, made by a grading worker
        here as in a local run; per notebook that could not be recorded, why not."""
        pool = self.worker_pool(log_dir)
        try:
            pool.start(0).send(
                Prepare(
                    assignments=tuple(sorted({c.notebook for c in todo})),
                    students=tuple(sorted({c.student for c in todo})),
                )
            )
            failed = self._wait_until_prepared(pool)
        finally:
            pool.stop()
        due = gradebook_due_date(self.options.deadline)
        if due:
            for notebook in {c.notebook for c in todo} - set(failed):
                set_due_date(self.gradebook, self.files.course_id, notebook, due)
        return failed

    def _job(self, candidate: Candidate) -> ClusterJob:
        return ClusterJob(
            student=candidate.student,
            notebook=candidate.notebook,
            submission=candidate.path.read_bytes(),
            source=self.files.source_notebook(candidate.notebook).read_bytes(),
            config=self.files.config_file.read_text(),
            time_limit=self.options.time_limit,
            memory_limit=self.options.memory_limit,
            database_limit=self.options.database_limit,
            sandbox=self.options.sandbox,
            handed_in_stamp=handed_in_stamp(candidate, self.options.deadline),
            due=gradebook_due_date(self.options.deadline),
        )

    def _collect(self, futures: dict[Any, Candidate], progress: Progress) -> None:
        from distributed import as_completed

        for future in as_completed(list(futures), loop=self.client.loop):
            candidate = futures[future]
            try:
                outcome: ClusterOutcome = future.result()
            except Exception as error:
                self._record(progress, self._error(candidate, _task_failure(error)))
                continue
            self._record(progress, self._keep(candidate, outcome))

    def _keep(self, candidate: Candidate, outcome: ClusterOutcome) -> SubmissionResult:
        """The result of a graded task, its notebook and scores written where a local run's go."""
        reply: Graded | Failed = outcome.reply
        if isinstance(reply, Failed):
            reply = Failed(error=f"{last_line(reply.error)} (Dask worker {outcome.worker})")
        running = Running(
            candidate,
            Role(outcome.role, "", ""),
            self.digests[candidate],
            started=0.0,
            finished=outcome.seconds,
        )
        result = self._result(running, reply, outcome.cleanup, outcome.cleanup_problem)
        if result.status != "graded" or outcome.record is None:
            return result
        try:
            self._write_files(candidate, outcome)
            write_record(
                self.gradebook,
                self.files.course_id,
                candidate.student,
                candidate.notebook,
                outcome.record,
            )
        except Exception as error:
            why = last_line(str(error)) or type(error).__name__
            return replace(
                result,
                status="error",
                reason=f"not graded: writing it to the gradebook failed: {why}",
            )
        return result

    def _write_files(self, candidate: Candidate, outcome: ClusterOutcome) -> None:
        """The submitted and autograded notebooks and nbgrader's log, as a local run leaves them
        (formgrader and nbgrader's feedback read them)."""
        submitted = self.files.submitted_notebook(candidate.student, candidate.notebook)
        submitted.parent.mkdir(parents=True, exist_ok=True)
        submitted.write_bytes(candidate.path.read_bytes())
        stamp = handed_in_stamp(candidate, self.options.deadline)
        if stamp:
            (submitted.parent / "timestamp.txt").write_text(stamp)
        if outcome.autograded is not None:
            autograded = (
                self.files.autograded
                / candidate.student
                / candidate.notebook
                / f"{candidate.notebook}.ipynb"
            )
            autograded.parent.mkdir(parents=True, exist_ok=True)
            autograded.write_bytes(outcome.autograded)
        log = self.options.out / "logs" / candidate.student / f"{candidate.notebook}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(outcome.log)

    def _record(self, progress: Progress, result: SubmissionResult) -> None:
        self.store.save(result)
        self.results.append(result)
        progress.finished(result)


def connect(address: str) -> Any:
    """A client of the scheduler at `address` with at least one worker; one-line errors."""
    from distributed import Client

    fix = "start one with `dask scheduler` and pass the address it prints, e.g. tcp://HOST:8786"
    host, port = _host_and_port(address, fix)
    # A Client that cannot connect hangs in its finaliser at exit: try the port first.
    try:
        socket.create_connection((host, port), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        why = error.strerror or type(error).__name__
        raise AsyncDbLabError(
            f"cannot reach the Dask scheduler at {address} ({why}): {fix}"
        ) from None
    try:
        with _quiet_distributed():
            client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        why = last_line(str(error)) or type(error).__name__
        raise AsyncDbLabError(f"no Dask scheduler answers at {address} ({why}): {fix}") from None
    try:
        client.wait_for_workers(1, timeout=WORKERS_SECONDS)
    except TimeoutError:
        client.close()
        raise AsyncDbLabError(
            f"no Dask worker joined the scheduler at {address} in {WORKERS_SECONDS} s: start "
            f"some with `dask worker {address}` on the grading machines"
        ) from None
    except BaseException:
        client.close()
        raise
    return client


def _host_and_port(address: str, fix: str) -> tuple[str, int]:
    from distributed.comm import get_address_host_port, parse_address
    from distributed.comm.registry import get_backend

    try:
        scheme, _ = parse_address(address)
        get_backend(scheme)
        return get_address_host_port(address)
    except ValueError:
        raise AsyncDbLabError(
            f"--cluster {address!r} is not a Dask scheduler's address: {fix}"
        ) from None


def task_key(candidate: Candidate, digest: str) -> str:
    """The same submission, graded under the same conditions, has the same key in every run."""
    return f"{KEY_PREFIX}-{candidate.student}-{candidate.notebook}-{digest[:16]}"


def _task_failure(error: BaseException) -> str:
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return (
            "not graded: every Dask worker that took it died while grading it (retried next run; "
            "see the workers' logs)"
        )
    return f"not graded: the Dask task failed: {last_line(str(error)) or type(error).__name__}"


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    """distributed logs a traceback of its own for a scheduler it cannot reach: the one-line
    error says it."""
    import logging

    loggers = [logging.getLogger(name) for name in ("distributed.client", "distributed.comm")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
