"""`asyncdb-lab backend` and `asyncdb-lab cleanup`: which PostgreSQL the course uses; orphans."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    backend = subparsers.add_parser(
        "backend", help="say which PostgreSQL backend would be used here, and why"
    )
    backend.set_defaults(handler=_backend)
    cleanup = subparsers.add_parser(
        "cleanup", help="stop servers and remove folders left behind by killed processes"
    )
    cleanup.set_defaults(handler=_cleanup)


def _backend(args: argparse.Namespace) -> int:
    from asyncdb_lab.servers.base import choose_backend

    choice = choose_backend()
    print(f"{choice.name} ({choice.reason})")
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    from asyncdb_lab.servers.docker import sweep_orphan_containers
    from asyncdb_lab.servers.embedded.run_folders import sweep_orphans

    removed = sweep_orphans()
    containers = sweep_orphan_containers()
    if not removed and not containers:
        print("Nothing left behind: no orphaned servers, containers or folders.")
    for folder in removed:
        print(f"Removed orphaned server folder {folder}")
    for container in containers:
        print(f"Removed orphaned container {container}")
    return 0
