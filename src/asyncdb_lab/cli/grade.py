"""`asyncdb-lab grade SUBMISSIONS`: autograde a class's notebooks with nbgrader, in parallel."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

DEFAULT_TIME_LIMIT = 120.0
DEFAULT_MEMORY_MB = 2048
DEFAULT_DATABASE_MB = 512


def register(subparsers: argparse._SubParsersAction) -> None:
    from asyncdb_lab.settings import GRADER_DIR

    grade = subparsers.add_parser(
        "grade",
        help="autograde submitted notebooks (a folder or an LMS zip) and write the reports",
        description=(
            "Grade every STUDENT/NOTEBOOK.ipynb (or STUDENT/NOTEBOOK/NOTEBOOK.ipynb) in "
            "SUBMISSIONS, or the notebooks in an LMS zip whose file names start with the student "
            "id, with nbgrader's autograde: a fresh database and a sandboxed kernel for each. "
            "Scores go into the gradebook; grades.csv, summary.json, report.html and one "
            "feedback page per student go into --out. Running it again grades only what changed."
        ),
    )
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    grade.add_argument(
        "--jobs",
        "-j",
        type=_positive_int,
        default=_cores(),
        help="notebooks graded at once (default: the number of cores, %(default)s here)",
    )
    grade.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_TIME_LIMIT,
        metavar="SECONDS",
        help="time limit of one notebook, cell after cell; the rest is not run "
        "(default: %(default)g)",
    )
    grade.add_argument(
        "--out",
        type=Path,
        default=GRADER_DIR / "reports",
        metavar="DIR",
        help="where the reports go (default: grader/reports)",
    )
    grade.add_argument(
        "--notebook",
        action="append",
        default=[],
        metavar="NAME",
        dest="notebooks",
        help="grade only this notebook (repeatable); students without it are reported missing",
    )
    grade.add_argument(
        "--memory",
        type=_positive_int,
        default=DEFAULT_MEMORY_MB,
        metavar="MB",
        help="memory one kernel and every process it starts may use together (a cgroup where the "
        "machine allows, else per process) (default: %(default)s)",
    )
    grade.add_argument(
        "--database-limit",
        type=_positive_int,
        default=DEFAULT_DATABASE_MB,
        metavar="MB",
        help="disk space one notebook's databases (and temporary files) may take; a notebook "
        "that goes past it is stopped, flagged database-size and scored on what ran before "
        "(checked every 0.2 s, so a fast writer gets a little past it) (default: %(default)s)",
    )
    grade.add_argument(
        "--student-pattern",
        metavar="REGEX",
        help="how to find the student id in flat file names: a regular expression with a "
        "group named 'student' (default: the text before the first '_')",
    )
    grade.add_argument(
        "--config",
        type=Path,
        default=GRADER_DIR / "nbgrader_config.py",
        help="the nbgrader configuration of the course (default: grader/nbgrader_config.py)",
    )
    grade.add_argument(
        "--gradebook",
        metavar="URL",
        help="an SQLAlchemy URL for the gradebook instead of the configuration's",
    )
    grade.add_argument(
        "--roster",
        type=Path,
        metavar="CSV",
        help="the class list as your LMS exports its gradebook (Canvas, Moodle): its students "
        "who handed in nothing are listed as missing too",
    )
    grade.add_argument(
        "--deadline",
        type=_moment,
        metavar="WHEN",
        help="the due date, e.g. 2026-12-01T23:59 (your time zone unless it says, e.g. +01:00): "
        "a file handed in later (by its time in the zip or folder) is flagged late, and "
        "nbgrader's late-submission plugin applies the course's penalty; without it, only files "
        "the LMS named late (Canvas: LATE) are flagged, with no penalty",
    )
    grade.add_argument(
        "--student",
        action="append",
        default=[],
        metavar="ID",
        dest="students",
        help="grade only this student's submissions (repeatable); the others keep the results "
        "of earlier runs, and the reports still show everyone",
    )
    grade.add_argument(
        "--force",
        action="store_true",
        help="grade again even submissions unchanged since they were graded (say, after the "
        "machine or the course's environment changed)",
    )
    grade.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="grade on the workers of a Dask cluster, e.g. tcp://scheduler:8786 (see `dask "
        "scheduler` and `dask worker`); each worker needs the course installed, same version",
    )
    grade.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run learner code with your own permissions: for trusted notebooks only",
    )
    grade.set_defaults(handler=_grade)


def _grade(args: argparse.Namespace) -> int:
    from asyncdb_lab.grading.report import write_outputs
    from asyncdb_lab.grading.runner import GradeOptions, grade

    options = GradeOptions(
        submissions=args.submissions.resolve(),
        out=args.out.resolve(),
        jobs=args.jobs,
        time_limit=args.timeout,
        memory_limit=args.memory * 1024**2,
        database_limit=args.database_limit * 1024**2,
        config=args.config.resolve(),
        gradebook=args.gradebook,
        notebooks=args.notebooks,
        student_pattern=args.student_pattern,
        sandbox=not args.no_sandbox,
        students=args.students,
        roster=args.roster.resolve() if args.roster else None,
        deadline=args.deadline,
        force=args.force,
        cluster=args.cluster,
    )
    try:
        outcome = grade(options)
    except KeyboardInterrupt:
        print(
            "\nInterrupted. Every submission graded before that is kept (in the gradebook and "
            f"{options.out / 'results'}); run the same command again to grade the rest.",
            file=sys.stderr,
        )
        return 130
    run = {
        "submissions": str(options.submissions),
        "jobs": options.jobs,
        "time_limit": options.time_limit,
        "memory_limit_mb": args.memory,
        "database_limit_mb": args.database_limit,
        "graded": outcome.graded,
        "reused": outcome.reused,
        "seconds": round(outcome.seconds, 1),
        "isolation": outcome.isolation,
    }
    paths = write_outputs(outcome.results, options.out, run=run, similar=outcome.similar)
    results = outcome.results
    graded = [r for r in results if r.status == "graded"]
    errors = [r for r in results if r.status == "error"]
    print(
        f"{len(results)} submissions: {len(graded)} graded ({outcome.graded} now, "
        f"{outcome.reused} kept from earlier runs), {len(results) - len(graded)} not graded, "
        f"{sum(1 for r in graded if r.flags)} flagged; {outcome.seconds:.1f} s.\n"
        f"  grades:   {paths['grades']}\n"
        f"  report:   {paths['report']}\n"
        f"  feedback: {paths['feedback']}/<student>.html\n"
        f"  summary:  {paths['summary']}"
    )
    if outcome.left_out:
        print(
            f"asyncdb-lab grade: {outcome.left_out} submissions of other students have never been "
            "graded and were left out (--student): run without --student to grade them.",
            file=sys.stderr,
        )
    if errors:
        print(
            f"asyncdb-lab grade: {len(errors)} submissions could not be graded because of a "
            "problem on the grading side (see 'Not graded' in the report, and the logs in "
            f"{options.out / 'logs'}); running the command again retries them.",
            file=sys.stderr,
        )
        return 3
    return 0


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _moment(text: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date and time: write it as 2026-12-01T23:59 (or with a time "
            "zone, 2026-12-01T23:59+01:00)"
        ) from None
    return moment if moment.tzinfo else moment.astimezone()  # a naive time is local time
