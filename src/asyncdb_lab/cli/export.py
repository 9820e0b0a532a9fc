"""`asyncdb-lab export --format canvas|moodle|wide`: the gradebook's scores for an LMS, or plain."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export",
        help="write the gradebook's scores (formgrader's overrides included) as a file Canvas or "
        "Moodle imports, or as a plain table",
        description=(
            "Read every score from nbgrader's gradebook, hand overrides included, and write one "
            "row per student and one column per notebook, in course order. canvas and moodle "
            "take the class list from --roster (the LMS's own grade export) and write what its "
            "grade import reads; wide writes student, notebooks, total. A notebook not handed in "
            "is a blank cell (no grade), not 0."
        ),
    )
    export.add_argument(
        "--format", dest="layout", metavar="FORMAT", help="canvas, moodle or wide (required)"
    )
    export.add_argument(
        "--roster",
        type=Path,
        metavar="ROSTER.csv",
        help="the LMS's grade export: Canvas (Grades → Export) or Moodle (Export → Plain text "
        "file); required for canvas and moodle",
    )
    export.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="where to write (default: grader/reports/grades-FORMAT.csv)",
    )
    export.add_argument(
        "--gradebook",
        metavar="URL",
        help="an SQLAlchemy URL for the gradebook instead of the configuration's",
    )
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from asyncdb_lab.course.manifest import course
    from asyncdb_lab.grading.export import FORMATS, ExportError, ExportRequest, export_grades
    from asyncdb_lab.settings import GRADER_DIR

    if not args.layout:
        raise ExportError(f"choose a format: --format {', '.join(FORMATS)}", exit_code=2)
    request = ExportRequest(
        layout=args.layout,
        gradebook=args.gradebook or _configured_gradebook(GRADER_DIR / "nbgrader_config.py"),
        out=args.out or GRADER_DIR / "reports" / f"grades-{args.layout}.csv",
        roster=args.roster,
        force=args.force,
    )
    outcome = export_grades(request, course())
    for note in outcome.notes:
        print(f"asyncdb-lab export: {note}", file=sys.stderr)
    print(
        f"{outcome.path}: {outcome.students} students × {outcome.notebooks} notebooks "
        f"({args.layout})."
    )
    return 0


def _configured_gradebook(config: Path) -> str:
    from asyncdb_lab.grading.course_files import CourseFiles

    return CourseFiles.read(config).db_url
