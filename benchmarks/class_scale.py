"""Class scale: N learners' kernels at once on one shared PostgreSQL, then grading on Dask.

    python benchmarks/class_scale.py [--learners 1 5 10 20] [--notebooks 00 04]
        [--connection-limit 40] [--hidden-tests]
        [--workers 1 2 4] [--submissions 12]                      (make benchmark-class-scale)

Part 1, learners. For each N, a fresh shared server (the grading pipeline's GradingServer:
PostgreSQL 18 with the course templates and one guarded login role per learner) and N learners
started all at once, each a real python3 kernel (nbclient) with the url backend and a role of
its own, running a solution notebook top to bottom. Learner i runs the i-th of --notebooks in
turn (default 00_start_here, the light first session, and 04_transactions_and_locking, the one
that holds the most connections at once: its visible test runs 20 transfers at once on a pool
of 20). Hidden tests are left out, as in a learner's release (--hidden-tests keeps them).
Three cells are added to each notebook (its last cell, which checks the saved file, is left out):
- before the setup cell, a timer on every disposable_database() the notebook awaits (setup
  latency, as the kernel sees it: server connection, CREATE DATABASE … TEMPLATE);
- after it, 20 primary-key lookups, each on a connection checked out of db.engine's pool
  (query latency: `SELECT email FROM users WHERE id = :id`, timed in the kernel);
- at the end, one that reports these and how many connections the role still holds (what its
  pools keep open between cells).
Meanwhile this process samples pg_stat_activity every 0.02 s (client backends: all of them,
those logged in as a learner's role, the most one role holds) and, every 0.5 s, the server's
memory (the sum of RSS and of PSS over the postmaster and its children; PSS shares
shared_buffers out fairly) and the learners' databases (how many, their size). Prints a table,
one row per N: wall time (first kernel start to last shutdown), peak connections, memory (idle
server before the kernels start, and peak), setup and query latency p50/p95, databases, failed
notebooks.
Sampling gives lower bounds: a burst shorter than a sample interval can be missed.

Part 2, grading throughput: --submissions copies of notebook 00's solution graded by
`asyncdb-lab grade --cluster ADDRESS` on a distributed.LocalCluster of 1, 2 and 4 workers
(one thread each, processes). Prints notebooks per minute and seconds per notebook per worker.
Skipped, in one line, while `grade` has no --cluster option. `--learners` alone skips part 1,
`--workers` alone part 2.

Timings are wall-clock on this machine and grow with its load: the load average is printed
before and after each run. Exit code: 1 when a notebook failed for another reason than the
server running out of connections (which is a finding, counted in the table) or a grading run
did not grade every submission; 0 otherwise (this is a measurement, not a test).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import dataclasses
import json
import math
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from asyncdb_lab.grading.database import ROLE_PREFIX, GradingServer, Role  # noqa: E402
from asyncdb_lab.settings import BACKEND_ENV, DATABASE_URL_ENV  # noqa: E402

if TYPE_CHECKING:
    from support.grading_run import Run

SOLUTIONS = REPO / "solutions"
CELL_TIMEOUT_SECONDS = 120
CONNECTION_SAMPLE_SECONDS = 0.02
MEMORY_SAMPLE_SECONDS = 0.5
QUERIES_PER_LEARNER = 20
RESULT_MARKER = "CLASS-SCALE-RESULT "
BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# What PostgreSQL says when max_connections (or a role's CONNECTION LIMIT) is reached.
OUT_OF_CONNECTIONS = (
    "too many clients already",
    "remaining connection slots are reserved",
    "too many connections for role",
)
CHECK_CELL_ID = "check-this-notebook"  # runs `asyncdb-lab check` on the saved file: not a learner

TIME_SETUP = """\
import time as _scale_time
import asyncdb_lab.databases as _scale_databases

_scale_setup_seconds = []
_scale_open = _scale_databases._DatabaseRequest._open


async def _scale_timed_open(self):
    started = _scale_time.perf_counter()
    try:
        return await _scale_open(self)
    finally:
        _scale_setup_seconds.append(_scale_time.perf_counter() - started)


_scale_databases._DatabaseRequest._open = _scale_timed_open
"""
TIME_QUERIES = f"""\
from sqlalchemy import text as _scale_text

_scale_query_seconds = []
for _scale_id in range(1, {QUERIES_PER_LEARNER} + 1):
    _scale_started = _scale_time.perf_counter()
    async with db.engine.connect() as _scale_conn:
        _scale_row = await _scale_conn.execute(
            _scale_text("SELECT email FROM users WHERE id = :id"), {{"id": _scale_id}}
        )
        _scale_row.scalar_one()
    _scale_query_seconds.append(_scale_time.perf_counter() - _scale_started)
"""
REPORT = f"""\
import json as _scale_json

async with db.engine.connect() as _scale_conn:
    _scale_held = await _scale_conn.execute(
        _scale_text("SELECT count(*) FROM pg_stat_activity WHERE usename = current_user")
    )
    _scale_held = _scale_held.scalar_one()
print({RESULT_MARKER!r} + _scale_json.dumps(
    {{"setup": _scale_setup_seconds, "queries": _scale_query_seconds, "held": _scale_held}}
))
"""

# The sampler's own function, in its temporary schema: a database dropped while its size is read
# would make pg_database_size fail the whole query (as in grading/disk_watch.py).
SIZE_OR_ZERO = """
CREATE FUNCTION pg_temp.size_or_zero(database oid) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN coalesce(pg_database_size(database), 0);
EXCEPTION WHEN OTHERS THEN
    RETURN 0;
END $$
"""
LEARNER_DATABASES = """
SELECT count(*) AS databases, coalesce(sum(pg_temp.size_or_zero(d.oid)), 0)::bigint AS bytes
FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
WHERE starts_with(r.rolname, $1)
"""

# -- part 1: learners -----------------------------------------------------------------------


@dataclass
class LearnerRun:
    notebook: str
    role: str
    seconds: float = 0.0
    setup: list[float] = field(default_factory=list)
    queries: list[float] = field(default_factory=list)
    held: int = 0  # connections its role held once the notebook had run (its pools' idle ones)
    errors: list[str] = field(default_factory=list)  # "cell N: Name: message", first line each
    out_of_connections: bool = False  # an error said the server or the role had no slot left

    @property
    def failed_otherwise(self) -> bool:
        """Failed for another reason than the server's connection limit (a real problem)."""
        return bool(self.errors) and not self.out_of_connections


@dataclass
class Samples:
    all_connections: int = 0  # client backends, the sampler's own left out
    learner_connections: int = 0  # those of learner roles
    # the most one role held at once, per notebook
    by_notebook: dict[str, int] = field(default_factory=dict)
    rss: int = 0  # bytes, peak of the sum over the server's processes
    pss: int = 0
    databases: int = 0  # peak number of the learners' databases
    database_bytes: int = 0  # peak of their summed size
    max_connections: int = 0  # the server's setting


def solution(name: str) -> tuple[str, Path]:
    """The solution notebook named in full or by its number ("04")."""
    for folder in sorted(SOLUTIONS.iterdir()):
        if name in (folder.name, folder.name.split("_", 1)[0]):
            return folder.name, folder / f"{folder.name}.ipynb"
    raise ValueError(f"no solution notebook {name!r} in {SOLUTIONS}")


def instrumented(path: Path, hidden_tests: bool) -> nbformat.NotebookNode:
    """The notebook with the timing cells added and its check cell left out.

    Without hidden_tests, what nbgrader strips from a learner's release is stripped here too: a
    learner's kernel never runs them (04's open a pool of 20 connections of their own).
    """
    notebook = nbformat.read(path, as_version=4)
    cells = [cell for cell in notebook.cells if cell.get("id") != CHECK_CELL_ID]
    if not hidden_tests:
        for cell in cells:
            if cell.cell_type == "code":
                cell.source = without_hidden_tests(cell.source)
    setup = next(
        index
        for index, cell in enumerate(cells)
        if cell.cell_type == "code" and "disposable_database(" in cell.source
    )
    cells[setup + 1 : setup + 1] = [nbformat.v4.new_code_cell(TIME_QUERIES)]
    cells[setup:setup] = [nbformat.v4.new_code_cell(TIME_SETUP)]
    cells.append(nbformat.v4.new_code_cell(REPORT))
    notebook.cells = cells
    return notebook


def without_hidden_tests(source: str) -> str:
    kept, hidden = [], False
    for line in source.splitlines(keepends=True):
        if line.strip() == BEGIN_HIDDEN_TESTS:
            hidden = True
        elif line.strip() == END_HIDDEN_TESTS:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "".join(kept)


def kernel_env(role: Role) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASYNCDB_LAB_")}
    env.update({BACKEND_ENV: "url", DATABASE_URL_ENV: role.url, "ASYNCDB_LAB_QUIET": "1"})
    return env


class Learner:
    """One kernel running one instrumented notebook, in a thread of its own."""

    def __init__(self, notebook: str, path: Path, role: Role, hidden_tests: bool) -> None:
        from nbclient import NotebookClient

        self.run = LearnerRun(notebook, role.name)
        self.role = role
        self.client = NotebookClient(
            instrumented(path, hidden_tests),
            timeout=CELL_TIMEOUT_SECONDS,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(path.parent)}},
            extra_arguments=["--HistoryManager.hist_file=:memory:"],
        )

    def __call__(self) -> LearnerRun:
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        started = time.perf_counter()
        try:
            # Its own event loop: outside the main thread nbclient installs no signal handlers,
            # so Ctrl-C reaches this script.
            asyncio.run(
                self.client.async_execute(env=kernel_env(self.role), stderr=subprocess.DEVNULL)
            )
        except CellTimeoutError:
            self.run.errors.append(f"a cell ran longer than {CELL_TIMEOUT_SECONDS} s")
        except DeadKernelError as died:
            self.run.errors.append(f"the kernel died: {first_line(str(died))}")
        self.run.seconds = time.perf_counter() - started
        self._read_outputs()
        return self.run

    def kernel_pid(self) -> int | None:
        manager = self.client.km
        provisioner = getattr(manager, "provisioner", None) if manager is not None else None
        return getattr(provisioner, "pid", None)

    def _read_outputs(self) -> None:
        for index, cell in enumerate(self.client.nb.cells):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    self.run.errors.append(
                        f"cell {index}: {output.ename}: {first_line(output.evalue)}"
                    )
                    if any(sign in output.evalue for sign in OUT_OF_CONNECTIONS):
                        self.run.out_of_connections = True
                text = output.get("text", "") if output.output_type == "stream" else ""
                for line in text.splitlines():
                    if line.startswith(RESULT_MARKER):
                        found = json.loads(line.removeprefix(RESULT_MARKER))
                        self.run.setup, self.run.queries = found["setup"], found["queries"]
                        self.run.held = found["held"]


class Sampler(threading.Thread):
    """Peak connections (pg_stat_activity) and server memory (psutil) while the learners run."""

    def __init__(self, server: GradingServer, notebook_of: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.notebook_of = notebook_of  # role name → notebook
        self.samples = Samples()
        self.stopping = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._sample())
        except BaseException as failure:  # reported by stop(), in the main thread
            self.failure = failure

    def stop(self) -> Samples:
        self.stopping.set()
        self.join()
        if self.failure is not None:
            raise self.failure
        return self.samples

    async def _sample(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.server.server.admin_dsn)
        await conn.execute(SIZE_OR_ZERO)
        self.samples.max_connections = int(await conn.fetchval("SHOW max_connections"))
        next_memory = 0.0
        try:
            while True:
                self._count(
                    await conn.fetch(
                        "SELECT usename, count(*) AS n FROM pg_stat_activity "
                        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
                        "GROUP BY usename"
                    )
                )
                if time.monotonic() >= next_memory:
                    self._measure_memory()
                    self._measure_databases(await conn.fetchrow(LEARNER_DATABASES, ROLE_PREFIX))
                    next_memory = time.monotonic() + MEMORY_SAMPLE_SECONDS
                if self.stopping.is_set():
                    return
                await asyncio.sleep(CONNECTION_SAMPLE_SECONDS)
        finally:
            await conn.close()

    def _count(self, rows: list) -> None:
        found = self.samples
        learners = {row["usename"]: row["n"] for row in rows if _is_learner(row["usename"])}
        found.all_connections = max(found.all_connections, sum(row["n"] for row in rows))
        found.learner_connections = max(found.learner_connections, sum(learners.values()))
        for role, count in learners.items():
            notebook = self.notebook_of.get(role, "?")
            found.by_notebook[notebook] = max(found.by_notebook.get(notebook, 0), count)

    def _measure_databases(self, row: Any) -> None:
        self.samples.databases = max(self.samples.databases, row["databases"])
        self.samples.database_bytes = max(self.samples.database_bytes, row["bytes"])

    def _measure_memory(self) -> None:
        rss, pss = server_memory(self.server.server.postmaster_pid)
        self.samples.rss = max(self.samples.rss, rss)
        self.samples.pss = max(self.samples.pss, pss)


def _is_learner(name: str | None) -> bool:
    return bool(name) and str(name).startswith(ROLE_PREFIX)


def server_memory(postmaster_pid: int) -> tuple[int, int]:
    """RSS and PSS, in bytes, summed over the postmaster and its children."""
    rss = pss = 0
    try:
        postmaster = psutil.Process(postmaster_pid)
        processes = [postmaster, *postmaster.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for process in processes:
        with contextlib.suppress(psutil.Error):  # a backend that just exited
            memory = process.memory_full_info()
            rss += memory.rss
            pss += getattr(memory, "pss", 0)
    return rss, pss


@dataclass
class ClassRun:
    learners: int
    seconds: float
    idle_rss: int
    idle_pss: int
    samples: Samples
    runs: list[LearnerRun]
    leftover_databases: int
    loads: tuple[float, float]


def run_class(
    count: int, notebooks: list[tuple[str, Path]], connection_limit: int, hidden_tests: bool
) -> ClassRun:
    """`count` learners at once on a fresh shared server; the server is gone when it returns."""
    server = GradingServer.start(roles_at_once=count, connection_limit=connection_limit)
    roles: list[Role] = []
    learners: list[Learner] = []
    sampler: Sampler | None = None
    try:
        roles.extend(server.new_role() for _ in range(count))
        time.sleep(1.0)  # let the server settle after start-up before its idle memory is taken
        idle_rss, idle_pss = server_memory(server.server.postmaster_pid)
        for index, role in enumerate(roles):
            name, path = notebooks[index % len(notebooks)]
            learners.append(Learner(name, path, role, hidden_tests))
        sampler = Sampler(server, {learner.run.role: learner.run.notebook for learner in learners})
        sampler.start()
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=count) as pool:
            futures = [pool.submit(learner) for learner in learners]
            try:
                runs = [future.result() for future in futures]
            except KeyboardInterrupt:
                stop_kernels(learners)
                raise
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()[0]
        samples = sampler.stop()
        leftovers = sum(server.drop_role(role)["databases"] for role in roles)
        roles.clear()
        return ClassRun(
            count,
            seconds,
            idle_rss,
            idle_pss,
            samples,
            runs,
            leftovers,
            (load_before, load_after),
        )
    finally:
        if sampler is not None:
            sampler.stopping.set()
        for learner in learners:
            # After Ctrl-C nbclient's exit hook would try to stop kernels stop_kernels() ended.
            atexit.unregister(learner.client._cleanup_kernel)
        for role in roles:
            with contextlib.suppress(Exception):
                server.drop_role(role)
        server.stop()


def stop_kernels(learners: list[Learner]) -> None:
    """SIGTERM every kernel (the url backend drops its databases on it); their threads then end."""
    for learner in learners:
        pid = learner.kernel_pid()
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: with 5 values, p95 is the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def print_class_table(results: list[ClassRun]) -> None:
    mib = 1024**2
    print()
    print(
        f"{'learners':>8}  {'wall s':>6}  {'peak conns all/roles':>20}  {'per learner':>15}  "
        f"{'server MiB idle→peak (RSS | PSS)':>32}  {'setup ms p50/p95 (n)':>21}  "
        f"{'query ms p50/p95 (n)':>20}  {'databases (MiB)':>15}  failed (no slot)"
    )
    for result in results:
        samples = result.samples
        setup = [s for run in result.runs for s in run.setup]
        queries = [q for run in result.runs for q in run.queries]
        failed = sum(1 for run in result.runs if run.errors)
        short = sum(1 for run in result.runs if run.errors and run.out_of_connections)
        held: dict[str, int] = {}
        for run in result.runs:
            held[run.notebook] = max(held.get(run.notebook, 0), run.held)
        per_notebook = ", ".join(
            f"{name[:2]}:{peak}/{held.get(name, 0)}"
            for name, peak in sorted(samples.by_notebook.items())
        )
        memory = (
            f"{result.idle_rss / mib:.0f}→{samples.rss / mib:.0f} | "
            f"{result.idle_pss / mib:.0f}→{samples.pss / mib:.0f}"
        )
        print(
            f"{result.learners:>8}  {result.seconds:6.1f}  "
            f"{f'{samples.all_connections}/{samples.learner_connections}':>20}  "
            f"{per_notebook:>15}  {memory:>32}  "
            f"{_latency(setup):>21}  {_latency(queries):>20}  "
            f"{f'{samples.databases} ({samples.database_bytes / mib:.0f})':>15}  "
            f"{failed} ({short})",
            flush=True,
        )


def _latency(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"{percentile(values, 0.5) * 1000:.0f}/{percentile(values, 0.95) * 1000:.0f} "
        f"({len(values)})"
    )


def describe_failures(results: list[ClassRun]) -> None:
    for result in results:
        for run in result.runs:
            if run.errors:
                print(
                    f"  N={result.learners} {run.notebook} ({run.role}): {run.errors[0]}"
                    + (f" (+{len(run.errors) - 1} more)" if len(run.errors) > 1 else "")
                )
        if result.leftover_databases:
            print(
                f"  N={result.learners}: {result.leftover_databases} databases were still there "
                f"after the kernels exited (dropped with their roles)"
            )


# -- part 2: grading throughput on Dask -----------------------------------------------------


def cluster_option_available() -> bool:
    from asyncdb_lab.grading.runner import GradeOptions

    return "cluster" in {option.name for option in dataclasses.fields(GradeOptions)}


def cluster_arguments(address: str) -> list[str]:
    return ["--cluster", address]


def grade_on_clusters(worker_counts: list[int], submissions: int) -> bool:
    """Grade `submissions` copies of notebook 00's solution with each worker count; all graded?"""
    import dask
    from distributed import LocalCluster
    from support.grading_run import NOTEBOOK, GradingCourse

    build = runpy.run_path(str(REPO / "tests" / "submissions" / "build.py"))
    all_graded = True
    print(
        f"\nGrading {submissions} solutions of {NOTEBOOK} with asyncdb-lab grade --cluster "
        "on a LocalCluster (one thread a worker):"
    )
    print(f"{'workers':>7}  {'seconds':>7}  {'notebooks/min':>13}  {'s/nb/worker':>11}  load")
    for workers in worker_counts:
        course = GradingCourse()
        try:
            folder = course.root / "submissions"
            for index in range(submissions):
                path = folder / f"s{index:03d}" / f"{NOTEBOOK}.ipynb"
                path.parent.mkdir(parents=True)
                nbformat.write(build["submission"](build["SOLUTION"]), path)
            load_before = os.getloadavg()[0]
            # Dask's scratch folder (lock files, spilled data) goes with the course, not to /tmp.
            with (
                dask.config.set({"temporary-directory": str(course.root / "dask")}),
                LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
            ):
                run = course.grade(
                    folder, course.root / "out", *cluster_arguments(cluster.scheduler_address)
                )
            graded = run.returncode in (0, 3) and _graded(run) == submissions
            all_graded &= graded
            per_minute = submissions / run.seconds * 60
            print(
                f"{workers:>7}  {run.seconds:7.1f}  {per_minute:13.1f}  "
                f"{run.seconds * workers / submissions:11.2f}  "
                f"{load_before:.1f}→{os.getloadavg()[0]:.1f}"
                + ("" if graded else f"  NOT all graded: {first_line(run.explain())}"),
                flush=True,
            )
            leftovers = course.leftovers()
            if leftovers:
                print(f"  left behind: {'; '.join(leftovers[:3])}")
        finally:
            course.remove()
    return all_graded


def _graded(run: Run) -> int:
    """How many submissions the run graded (summary.json; none when it wrote no summary)."""
    with contextlib.suppress(OSError, ValueError):
        return sum(1 for result in run.summary["submissions"] if result["status"] == "graded")
    return 0


# -- main -----------------------------------------------------------------------------------


def first_line(text: str, limit: int = 120) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = lines[0] if lines else "(no message)"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, nargs="*", default=[1, 5, 10, 20], metavar="N")
    parser.add_argument("--notebooks", nargs="+", default=["00", "04"], metavar="NAME")
    parser.add_argument(
        "--connection-limit",
        type=int,
        default=40,
        help="CONNECTION LIMIT of each learner's role (default 40; 04's visible tests need 22)",
    )
    parser.add_argument(
        "--hidden-tests",
        action="store_true",
        help="run the hidden tests too, as grading does (a learner's kernel never runs them)",
    )
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4], metavar="K")
    parser.add_argument("--submissions", type=int, default=12)
    args = parser.parse_args(argv)
    try:
        notebooks = [solution(name) for name in args.notebooks]
    except ValueError as unknown:
        parser.error(str(unknown))

    try:
        return measure(args, notebooks)
    except KeyboardInterrupt:
        print("class_scale.py: interrupted; the kernels and the servers were stopped.")
        return 130


def measure(args: argparse.Namespace, notebooks: list[tuple[str, Path]]) -> int:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{len(os.sched_getaffinity(0))} cores, load average {load}")
    if args.learners:
        print(
            f"Learners {args.learners}, each a python3 kernel running one of "
            f"{', '.join(name for name, _ in notebooks)} (in turn) with a role of its own "
            f"(CONNECTION LIMIT {args.connection_limit}) on one embedded PostgreSQL",
            flush=True,
        )
    results: list[ClassRun] = []
    for count in args.learners:
        results.append(run_class(count, notebooks, args.connection_limit, args.hidden_tests))
        first, last = results[-1].loads
        print(f"  N={count}: done in {results[-1].seconds:.1f} s (load {first:.1f}→{last:.1f})")
    if results:
        print_learners(results)
    # Running out of connections is what the benchmark is there to find; anything else is a fault.
    failed = any(run.failed_otherwise for result in results for run in result.runs)

    if not args.workers:
        return 1 if failed else 0
    if not cluster_option_available():
        print("\nGrading throughput: skipped: grade --cluster is not available yet.")
        return 1 if failed else 0
    graded = grade_on_clusters(args.workers, args.submissions)
    return 1 if failed or not graded else 0


def print_learners(results: list[ClassRun]) -> None:
    print_class_table(results)
    print(
        "peak conns: client backends, all of them / those logged in as a learner's role (one "
        "still logging in has no role yet); per learner, by notebook: the most one role held "
        "at once / still held when its notebook had run (idle in its pools); databases: the "
        "learners' at the peak, with their size; failed (no slot): notebooks that failed (of "
        "them, those told the server had no connection left); the server's max_connections: "
        f"{results[-1].samples.max_connections}"
    )
    describe_failures(results)


if __name__ == "__main__":
    sys.exit(main())
