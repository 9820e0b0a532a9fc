"""The learner's commands: `workspace`, `reset`, `check`, `progress` and `hint`."""

from __future__ import annotations

import argparse
import difflib
import os
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    workspace = subparsers.add_parser(
        "workspace",
        help="copy the course's notebooks into your workspace (never overwrites your files)",
    )
    _workspace_option(workspace)
    workspace.set_defaults(handler=_workspace)

    reset = subparsers.add_parser(
        "reset", help="replace your copy of a notebook with the course's (yours goes to backups/)"
    )
    reset.add_argument("notebook", metavar="NOTEBOOK", help="e.g. 00_start_here, or just 00")
    _workspace_option(reset)
    reset.set_defaults(handler=_reset)

    check = subparsers.add_parser(
        "check",
        help="run your notebook on a fresh database: each exercise's result, with hints",
        description="Run a notebook of your workspace top to bottom on a fresh database and "
        "print, for each exercise, which tests pass, the failing test's message and a hint. "
        "Your notebook is not changed. Exit code 0 when every exercise passes, 1 otherwise.",
    )
    check.add_argument(
        "notebook",
        metavar="NOTEBOOK",
        nargs="?",
        help="e.g. 00_start_here, 00, or a path to an .ipynb (default: the one you saved last)",
    )
    check.add_argument("--watch", action="store_true", help="check again every time you save")
    check.add_argument("--all", action="store_true", help="check every notebook in the workspace")
    check.add_argument(
        "--timeout", type=int, default=60, metavar="SECONDS", help="longest run of one cell"
    )
    _workspace_option(check)
    check.set_defaults(handler=_check)

    progress = subparsers.add_parser(
        "progress", help="a table of every notebook: exercises done, points, what to do next"
    )
    _workspace_option(progress)
    progress.set_defaults(handler=_progress)

    hint = subparsers.add_parser(
        "hint",
        help="the next hint for an exercise, a test or a notebook (one at a time)",
        description="Print the next hint you have not seen yet for an exercise, a test or a "
        "notebook (your workspace remembers which you have seen); --all prints the rest.",
    )
    hint.add_argument("name", metavar="NAME", help="e.g. count_users, 00, or 00_start_here")
    hint.add_argument("--all", action="store_true", help="every hint not seen yet, at once")
    _workspace_option(hint)
    hint.set_defaults(handler=_hint)


def _workspace_option(parser: argparse.ArgumentParser) -> None:
    from asyncdb_lab.settings import WORKSPACE_ENV

    parser.add_argument(
        "--workspace",
        type=Path,
        default=None,
        metavar="FOLDER",
        help=f"your workspace (default: ${WORKSPACE_ENV}, else workspace/ in the course)",
    )


def _workspace_of(args: argparse.Namespace) -> Path:
    from asyncdb_lab.learner.workspace import default_workspace

    return args.workspace.resolve() if args.workspace else default_workspace()


def _shown(path: Path) -> str:
    """The path relative to the current folder when it is inside it, else in full."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _workspace(args: argparse.Namespace) -> int:
    from asyncdb_lab.learner.workspace import sync_workspace

    workspace = _workspace_of(args)
    report = sync_workspace(workspace)
    where = _shown(workspace)
    if report.created:
        print(
            f"Made your workspace, {where}/: your own copy of the course's notebooks. Git ignores "
            f"it, so updating the course (git pull) never touches your work."
        )
    for added in report.added:
        print(f"  added {added}")
    if not report.created and not report.added:
        print(f"Your workspace {where}/ already has every course notebook: nothing to copy.")
    for topic in report.newer_upstream:
        print(
            f"The course has a newer version of {topic}; your copy was left as it is. "
            f"`asyncdb-lab reset {topic}` switches to the new one (your copy goes to backups/)."
        )
    return 0


def _reset(args: argparse.Namespace) -> int:
    from asyncdb_lab.learner.workspace import course_notebooks, reset_notebook, resolve_topic

    workspace = _workspace_of(args)
    topic = resolve_topic(args.notebook, course_notebooks())
    backup = reset_notebook(topic, workspace)
    fresh = _shown(workspace / topic / f"{topic}.ipynb")
    if backup is None:
        print(f"{fresh} is the course's version now (there was no copy to back up).")
    else:
        print(
            f"{fresh} is the course's version now. Your copy is in {_shown(backup)}: open it "
            f"to copy your code back. If the notebook is open in JupyterLab, close it without "
            f"saving and open it again."
        )
    return 0


def _check(args: argparse.Namespace) -> int:
    from asyncdb_lab.course.notebook import skip_iri_grammar

    skip_iri_grammar()  # before nbformat is imported
    from asyncdb_lab.errors import AsyncDbLabError
    from asyncdb_lab.learner.head_start import shared_server_held
    from asyncdb_lab.learner.watch import watch
    from asyncdb_lab.learner.workspace import UsageError, resolve_notebook, topic_notebooks

    if args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout}: give the longest a cell may run, in seconds.")
    if args.notebook and args.all:
        raise UsageError("Name a notebook or give --all, not both (--all checks every notebook).")
    workspace = _workspace_of(args)
    why = ""
    if args.notebook:
        path = resolve_notebook(args.notebook, workspace)
        targets = {path.stem: path}
    else:
        targets = topic_notebooks(workspace)
        if not targets:
            raise AsyncDbLabError(
                f"There is no workspace with notebooks at {workspace} yet: run `make lab` (or "
                f"`asyncdb-lab workspace`) first, or name a notebook file to check."
            )
        if not args.all and not args.watch:
            latest = max(targets, key=lambda t: targets[t].stat().st_mtime)
            targets = {latest: targets[latest]}
            why = " (the notebook you saved last; name another to choose)"
    if args.watch:
        latest = max(targets, key=lambda t: targets[t].stat().st_mtime)
        try:
            with shared_server_held():
                watch(
                    lambda: targets if args.notebook else topic_notebooks(workspace),
                    lambda topic, path: _check_one(topic, path, workspace, args.timeout),
                    first=latest,
                )
        except KeyboardInterrupt as stopped:
            print()
            what = "; ".join(filter(None, ["stopped watching", str(stopped)]))
            raise KeyboardInterrupt(what) from None
        return 0
    with shared_server_held():
        results = [_check_one(t, p, workspace, args.timeout, why) for t, p in targets.items()]
    return 0 if all(results) else 1


def _check_one(topic: str, path: Path, workspace: Path, timeout: int, why: str = "") -> bool:
    from asyncdb_lab.learner.check import check_notebook
    from asyncdb_lab.learner.report import format_check
    from asyncdb_lab.learner.results import save_result
    from asyncdb_lab.learner.workspace import course_notebooks, newer_upstream

    print(f"Checking {_shown(path)}{why} on a fresh database…", flush=True)
    reference = course_notebooks().get(topic)
    try:
        result = check_notebook(path, reference=reference, name=topic, timeout=timeout)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"stopped checking {_shown(path)}: its kernel and database were shut down, and "
            f"nothing was saved"
        ) from None
    in_workspace = path.resolve() == (workspace / topic / f"{topic}.ipynb").resolve()
    if in_workspace:
        save_result(workspace, topic, result)
    print(format_check(result), flush=True)
    if in_workspace and topic in newer_upstream(workspace):
        print(
            f"The course has a newer version of {topic} than your copy: `asyncdb-lab reset "
            f"{topic}` switches to it (your copy goes to backups/)."
        )
    return result.passed


def _progress(args: argparse.Namespace) -> int:
    from asyncdb_lab.course.notebook import skip_iri_grammar

    skip_iri_grammar()  # before nbformat is imported
    from asyncdb_lab.learner.progress import format_progress, progress_rows

    workspace = _workspace_of(args)
    if not workspace.exists():
        print(
            f"There is no workspace at {_shown(workspace)} yet: `make lab` makes it and opens "
            f"JupyterLab on it. The course's notebooks:\n"
        )
    print(format_progress(progress_rows(workspace), workspace))
    return 0


def _hint(args: argparse.Namespace) -> int:
    from asyncdb_lab.learner.report import wrap
    from asyncdb_lab.learner.workspace import remember_hints, shown_hints

    workspace = _workspace_of(args)
    steps = _hint_steps(args.name, workspace)
    shown = shown_hints(workspace)
    left = [step for step in steps if step[1] not in shown.get(step[0], [])]
    if not left and not args.all:
        print(
            f"You have seen every hint for {args.name} ({len(steps)}): `asyncdb-lab hint "
            f"{args.name} --all` prints them again."
        )
        return 0
    chosen = (left or steps) if args.all else left[:1]
    for notebook, grade_id, text in chosen:
        print(f"{grade_id} ({notebook}):")
        print("\n".join(wrap(text, 100, "  ", "  ")))
        print()
        seen = shown.setdefault(notebook, [])
        seen.extend([grade_id] if grade_id not in seen else [])
    remember_hints(workspace, shown)
    more = len(left) - len(chosen)
    if more > 0:
        print(f"{more} more: `asyncdb-lab hint {args.name}` gives the next, `--all` the rest.")
    return 0


def _hint_steps(name: str, workspace: Path) -> list[tuple[str, str, str]]:
    """The hints `hint NAME` goes through: of a grade id (an exercise and its tests, or a test),
    else of a notebook named as every learner command names one (then its exercises that the
    last check found done are skipped). UsageError when there are none."""
    from asyncdb_lab.course.hints import learner_hints, load_hints
    from asyncdb_lab.learner.workspace import UsageError, topic_matches

    steps = learner_hints(name)
    topics = topic_matches(name, load_hints()) if not steps else []
    if len(topics) == 1:
        done = _done_exercises(workspace, topics[0])
        steps = [s for s in learner_hints(topics[0]) if _exercise_of(s[1], done) not in done]
        if not steps:
            raise UsageError(
                f"Every exercise of {topics[0]} passed its last check: no hints left to give. "
                f"Name an exercise to see its hints (e.g. `asyncdb-lab hint count_users`)."
            )
    if steps:
        return steps
    if len(topics) > 1:
        raise UsageError(f"{name!r} could mean {', '.join(topics)}: type more of the name.")
    known = sorted(
        {gid for hints in load_hints().values() for gid in hints if not gid.startswith("test_")}
        | set(load_hints())
    )
    close = difflib.get_close_matches(name, known, n=5)
    suggestion = f" Did you mean {', '.join(close)}?" if close else ""
    raise UsageError(
        f"No hint for {name!r}.{suggestion} Name an exercise (e.g. count_users), a test or a "
        f"notebook (e.g. 00, or 00_start_here)."
    )


def _done_exercises(workspace: Path, topic: str) -> set[str]:
    from asyncdb_lab.learner.results import load_result

    saved = load_result(workspace, topic) if workspace.is_dir() else None
    return {e.name for e in saved.exercises if e.status == "done"} if saved else set()


def _exercise_of(grade_id: str, exercises: set[str]) -> str:
    return next((e for e in exercises if grade_id.startswith(f"test_{e}_")), grade_id)
