"""The `asyncdb-lab` command. Each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from asyncdb_lab.errors import AsyncDbLabError

# Modules with a `register(subparsers)` function that adds one or more subcommands.
COMMAND_MODULES: tuple[str, ...] = (
    "asyncdb_lab.cli.server",
    "asyncdb_lab.cli.release",
    "asyncdb_lab.cli.grade",
    "asyncdb_lab.cli.learner",
    "asyncdb_lab.cli.db",
    "asyncdb_lab.cli.drill",
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asyncdb-lab",
        description="Async DB Lab: disposable PostgreSQL, checks, grading and drills.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except AsyncDbLabError as error:
        print(f"asyncdb-lab: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("asyncdb-lab: interrupted", file=sys.stderr)
        return 130
