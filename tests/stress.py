"""`make stress`: grade every solution notebook many times while autovacuum works everywhere.

A correct answer must never lose a point, whatever else runs on the server. This grades the
learner version of each notebook, filled in with the solution, --times times (default 20) in one
`asyncdb-lab grade` run, whose PostgreSQL has autovacuum made aggressive: it wakes every second,
and any change to any table is enough for a worker to vacuum and analyze it. A sampler counts the
autovacuum workers it sees in the submissions' databases, so the report shows they were there.
Exit code 0 when every run of every notebook scored full marks.

    python tests/stress.py [--times 20] [--jobs 2] [--notebook 04_transactions_and_locking ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import asyncpg
import nbformat

sys.path.insert(0, str(Path(__file__).parent))
from support.mutants import learner_notebook, new_workspace, notebooks
from support.nbgrader_course import write_course_config

from asyncdb_lab.cli import main as asyncdb_lab
from asyncdb_lab.grading import database
from asyncdb_lab.servers.sync_admin import execute_all, run_sync
from asyncdb_lab.settings import REPO

AGGRESSIVE_AUTOVACUUM = [
    "ALTER SYSTEM SET autovacuum_naptime = 1",
    "ALTER SYSTEM SET autovacuum_vacuum_threshold = 0",
    "ALTER SYSTEM SET autovacuum_vacuum_scale_factor = 0",
    "ALTER SYSTEM SET autovacuum_vacuum_insert_threshold = 0",
    "ALTER SYSTEM SET autovacuum_vacuum_insert_scale_factor = 0",
    "ALTER SYSTEM SET autovacuum_analyze_threshold = 0",
    "ALTER SYSTEM SET autovacuum_analyze_scale_factor = 0",
    "ALTER SYSTEM SET autovacuum_vacuum_cost_delay = 10",  # workers linger in a database
    "SELECT pg_reload_conf()",
]
WORKERS = (
    "SELECT datname FROM pg_stat_activity "
    "WHERE backend_type = 'autovacuum worker' AND datname IS NOT NULL"
)


class AutovacuumSampler:
    """Counts, twice a second, the databases an autovacuum worker is in."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, admin_dsn: str) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._sample(admin_dsn),))
        self._thread.daemon = True
        self._thread.start()

    async def _sample(self, admin_dsn: str) -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            while not self._stop.is_set():
                try:
                    rows = await connection.fetch(WORKERS)
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    return  # the server is stopping
                self.samples += 1
                self.seen.update(row["datname"] for row in rows)
                await asyncio.sleep(0.5)
        finally:
            connection.terminate()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _aggressive_grading_server(sampler: AutovacuumSampler) -> None:
    original = database.GradingServer.start.__func__  # type: ignore[attr-defined]

    def start(cls: type[database.GradingServer], connection_limit: int) -> database.GradingServer:
        server = original(cls, connection_limit)
        run_sync(execute_all(server.server.admin_dsn, AGGRESSIVE_AUTOVACUUM))
        sampler.start(server.server.admin_dsn)
        return server

    database.GradingServer.start = classmethod(start)  # type: ignore[assignment,method-assign]


def _course(root: Path, chosen: list[str], times: int) -> Path:
    for notebook in chosen:
        shutil.copytree(REPO / "solutions" / notebook, root / "solutions" / notebook)
        solved = learner_notebook(notebook, {})
        for run in range(times):
            folder = root / "submitted" / f"run-{run:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(solved, folder / f"{notebook}.ipynb")
    return write_course_config(root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--times", type=int, default=20, help="gradings of each notebook")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--notebook", action="append", help="only this one (repeatable)")
    args = parser.parse_args()
    chosen = args.notebook or notebooks()
    root = new_workspace()
    sampler = AutovacuumSampler()
    try:
        config = _course(root, chosen, args.times)
        _aggressive_grading_server(sampler)
        started = time.monotonic()
        out = root / "reports"
        command = ["grade", str(root / "submitted"), "--config", str(config), "--out", str(out)]
        code = asyncdb_lab([*command, "--jobs", str(args.jobs)])
        seconds = time.monotonic() - started
        sampler.stop()
        if not (out / "summary.json").exists():
            print(f"stress: asyncdb-lab grade wrote no summary (exit {code})")
            return 1
        submissions = json.loads((out / "summary.json").read_text())["submissions"]
        return _report(submissions, chosen, args.times, seconds, sampler)
    finally:
        sampler.stop()
        shutil.rmtree(root, ignore_errors=True)


def _report(
    submissions: list[dict],
    chosen: list[str],
    times: int,
    seconds: float,
    sampler: AutovacuumSampler,
) -> int:
    full: Counter[str] = Counter()
    losses: list[str] = []
    for submission in submissions:
        notebook = submission["notebook"]
        if submission["max_score"] and submission["score"] == submission["max_score"]:
            full[notebook] += 1
            continue
        lost = [
            f"{t['name']} ({t['message'][:160]})"
            for t in submission.get("tests", [])
            if t["points"] != t["max_points"]
        ]
        losses.append(
            f"{notebook} {submission['student']}: {submission['score']}/{submission['max_score']}"
            f" {submission.get('reason', '')} {'; '.join(lost)}"
        )
    print(f"{'notebook':<30} full marks")
    for notebook in chosen:
        print(f"{notebook:<30} {full[notebook]:>3}/{times}")
    total = sum(full.values())
    print(f"{'all':<30} {total:>3}/{times * len(chosen)}  in {seconds:.0f} s")
    print(
        f"autovacuum workers seen in {len(sampler.seen)} databases "
        f"({sum(sampler.seen.values())} sightings in {sampler.samples} samples)"
    )
    for line in losses:
        print(f"LOST {line}")
    return 0 if total == times * len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
