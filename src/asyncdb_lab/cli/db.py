"""`asyncdb-lab db`: a disposable PostgreSQL database to explore, until Ctrl-C."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser(
        "db",
        help="start a disposable database with the seed data, print its URL and a psql command",
        description="Start a disposable PostgreSQL database (the course tables and seed data "
        "unless told otherwise), print its URL and a psql command, and wait. Ctrl-C deletes the "
        "database and whatever the course started for it alone.",
    )
    contents = db.add_mutually_exclusive_group()
    contents.add_argument(
        "--tables", action="store_true", help="the course tables without rows, not the seed data"
    )
    contents.add_argument("--empty", action="store_true", help="an empty database")
    db.set_defaults(handler=_db)


def _db(args: argparse.Namespace) -> int:
    from asyncdb_lab.learner.explore import serve

    return serve("empty" if args.empty else "tables" if args.tables else "seed")
