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
    "asyncdb_lab.cli.export",
    "asyncdb_lab.cli.learner",
    "asyncdb_lab.cli.db",
    "asyncdb_lab.cli.drill",
    "asyncdb_lab.cli.provision",
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
    """Run a subcommand. Exit codes: 0 done, 1 failed (an error, failing tests), 2 a usage
    error (an error with `exit_code = 2`, or argparse's), 130 stopped by Ctrl-C."""
    command = "asyncdb-lab"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = " ".join(filter(None, ["asyncdb-lab", getattr(args, "command", None)]))
        handler: Handler | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_help()
            return 2
        return handler(args)
    except AsyncDbLabError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return int(getattr(error, "exit_code", 1))
    except KeyboardInterrupt as error:
        # One line, what was stopped: the command tells it when it knows more.
        print(f"{command}: {str(error) or 'interrupted'} (Ctrl-C).", file=sys.stderr)
        return 130
