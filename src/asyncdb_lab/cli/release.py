"""`asyncdb-lab release`: regenerate the learner notebooks in notebooks/ from solutions/."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    release = subparsers.add_parser(
        "release", help="regenerate notebooks/ (learner versions) from solutions/ with nbgrader"
    )
    release.add_argument(
        "assignments", nargs="*", metavar="NOTEBOOK", help="e.g. 00_start_here (default: all)"
    )
    release.set_defaults(handler=_release)


def _release(args: argparse.Namespace) -> int:
    from asyncdb_lab.course.nbgrader_apps import assignments, run_nbgrader

    chosen = args.assignments or assignments()
    unknown = sorted(set(chosen) - set(assignments()))
    if unknown:
        print(f"asyncdb-lab release: no such notebook in solutions/: {', '.join(unknown)}")
        return 2
    for assignment in chosen:
        run_nbgrader("generate_assignment", assignment, "--force")
        print(f"notebooks/{assignment}/{assignment}.ipynb regenerated")
    return 0
