"""`asyncdb-lab release`: regenerate solutions/ from the notebook sources, then the learner
notebooks in notebooks/ from solutions/ with nbgrader."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.settings import NOTEBOOKS_DIR, SOURCES_DIR

if TYPE_CHECKING:
    import nbformat


def register(subparsers: argparse._SubParsersAction) -> None:
    release = subparsers.add_parser(
        "release",
        help="rebuild solutions/ from sources/ (notebook 12: the question bank), then notebooks/ "
        "(learner versions) from solutions/ with nbgrader",
    )
    release.add_argument(
        "assignments", nargs="*", metavar="NOTEBOOK", help="e.g. 00_start_here (default: all)"
    )
    release.set_defaults(handler=_release)


def _release(args: argparse.Namespace) -> int:
    from asyncdb_lab.course.authoring import DraftError, source_topics
    from asyncdb_lab.course.nbgrader_apps import assignments, run_nbgrader
    from asyncdb_lab.interview.bank import NOTEBOOK as INTERVIEW  # built from the bank

    known = sorted({*source_topics(), INTERVIEW})
    chosen = args.assignments or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        print(f"asyncdb-lab release: no such notebook in sources/: {', '.join(unknown)}")
        return 2
    try:
        rebuilt = build_solutions(chosen)
    except DraftError as error:
        print(f"asyncdb-lab release: {error}")
        return 2
    for assignment in rebuilt:
        print(f"solutions/{assignment}/{assignment}.ipynb rebuilt from its source")
    assignments()  # solutions/ now holds every notebook of the course manifest, or this says which
    for assignment in chosen:
        try:
            with _kept_on_failure(NOTEBOOKS_DIR / assignment):
                run_nbgrader("generate_assignment", assignment, "--force")
        except AsyncDbLabError as error:
            print(f"asyncdb-lab release: notebooks/{assignment} is unchanged: {error}")
            if "submissions associated" in str(error):
                print(
                    "  The gradebook (grader/gradebook.db) holds graded submissions of this "
                    "notebook, and nbgrader will not add or remove its test cells under them: "
                    "release the change as a new notebook, or move the gradebook aside first."
                )
            return 1
        print(f"notebooks/{assignment}/{assignment}.ipynb regenerated")
    return 0


@contextmanager
def _kept_on_failure(folder: Path) -> Iterator[None]:
    """nbgrader removes the released folder before it generates the new one; when generating
    fails, put the old one back, so that a failed release never loses the learner version."""
    with tempfile.TemporaryDirectory(prefix="asyncdb-lab-release-") as backup:
        kept = Path(backup) / folder.name
        if folder.exists():
            shutil.copytree(folder, kept)
        try:
            yield
        except BaseException:
            if kept.exists():
                shutil.rmtree(folder, ignore_errors=True)
                shutil.copytree(kept, folder)
            raise


def built_solution(topic: str, sources: Path = SOURCES_DIR) -> nbformat.NotebookNode:
    """What solutions/<topic>/<topic>.ipynb must hold: its source, built (notebook 12: the bank)."""
    from asyncdb_lab.course.authoring import DraftError, build, source_path
    from asyncdb_lab.interview import notebook as interview
    from asyncdb_lab.interview.bank import load_bank

    if topic == interview.ASSIGNMENT:
        return interview.notebook(load_bank())
    path = source_path(topic, sources)
    if not path.is_file():
        raise DraftError(f"{topic} has no source: write sources/{path.name}")
    try:
        return build(path.read_text(encoding="utf-8"))
    except DraftError as error:
        raise DraftError(f"sources/{path.name}, {error}") from None


def build_solutions(topics: list[str], sources: Path = SOURCES_DIR) -> list[str]:
    """Rebuild solutions/<topic>/<topic>.ipynb of these topics; the topics whose file changed.
    Every source is built before any file is written: a mistake in one changes nothing.
    Notebook 12's exercises in data/course.yaml are written with it."""
    from asyncdb_lab.course.authoring import solution_path, write
    from asyncdb_lab.interview import notebook as interview
    from asyncdb_lab.interview.bank import load_bank

    built = {topic: built_solution(topic, sources) for topic in topics}
    rebuilt = []
    for topic, notebook in built.items():
        if topic == interview.ASSIGNMENT:
            changed = interview.write(load_bank())
        else:
            changed = write(notebook, solution_path(topic))
        if changed:
            rebuilt.append(topic)
    return rebuilt
