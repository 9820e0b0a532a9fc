"""`asyncdb-lab provision` (for admins): a class's shared PostgreSQL, one login role per learner.

setup once per server; learner NAME when a learner's server starts (prints the URL for
ASYNCDB_LAB_DATABASE_URL); drop NAME when it stops; sweep after a crash, keeping the learners
whose servers still run (given with --keep, or asked of the JupyterHub this runs under, --hub).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request
from typing import TYPE_CHECKING

from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.settings import ADMIN_URL_ENV, LEARNER_HOST_ENV

if TYPE_CHECKING:
    from asyncdb_lab.servers.shared_class import SharedClass


class UsageError(AsyncDbLabError):
    exit_code = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    provision = subparsers.add_parser(
        "provision",
        help="(admin) prepare a class's shared PostgreSQL; add, drop and sweep learner roles",
        description="Prepare a shared PostgreSQL 17+ server for a class and manage one login "
        f"role per learner. The superuser's URL comes from --admin-url or {ADMIN_URL_ENV}.",
    )
    provision.add_argument(
        "--admin-url", help=f"a superuser's postgresql:// URL (default: ${ADMIN_URL_ENV})"
    )
    actions = provision.add_subparsers(dest="action", metavar="ACTION", required=True)

    setup = actions.add_parser("setup", help="guard every database, make the course templates")
    setup.set_defaults(handler=_setup)

    learner = actions.add_parser(
        "learner", help="create or replace a learner's role; print the URL for its notebooks"
    )
    learner.add_argument("name", metavar="NAME", help="the learner's (hub) user name, any text")
    learner.add_argument("--connection-limit", type=int, default=50, metavar="N")
    learner.add_argument(
        "--size-limit-mb", type=int, default=512, metavar="MB", help="temp_file_limit of the role"
    )
    learner.add_argument(
        "--learner-host",
        default=os.environ.get(LEARNER_HOST_ENV),
        help=f"the server's host as learners reach it (default: ${LEARNER_HOST_ENV}, else the "
        "admin URL's)",
    )
    learner.set_defaults(handler=_learner)

    drop = actions.add_parser("drop", help="end a learner's sessions, drop its databases and role")
    drop.add_argument("name", metavar="NAME")
    drop.set_defaults(handler=_drop)

    sweep = actions.add_parser(
        "sweep", help="drop the roles of learners whose servers are gone (after a crash)"
    )
    sweep.add_argument(
        "--keep", action="append", default=[], metavar="NAME", help="a learner whose server runs"
    )
    sweep.add_argument(
        "--hub",
        action="store_true",
        help="keep the learners whose servers the JupyterHub running this (a hub service) "
        "lists as active or starting",
    )
    sweep.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="sweep again every SECONDS until stopped (as a hub service)",
    )
    sweep.set_defaults(handler=_sweep)


def _shared_class(args: argparse.Namespace) -> SharedClass:
    from asyncdb_lab.servers.shared_class import SharedClass

    url = args.admin_url or os.environ.get(ADMIN_URL_ENV)
    if not url:
        raise UsageError(
            f"No server to provision: give --admin-url postgresql://postgres:PASSWORD@HOST:5432/"
            f"postgres or set {ADMIN_URL_ENV}."
        )
    options = {}
    if getattr(args, "connection_limit", None) is not None:
        options["connection_limit"] = args.connection_limit
    if getattr(args, "size_limit_mb", None) is not None:
        options["size_limit"] = args.size_limit_mb * 1024**2
    return SharedClass(url, learner_host=getattr(args, "learner_host", None), **options)


def _setup(args: argparse.Namespace) -> int:
    unguarded = _shared_class(args).setup()
    print("Set up: every new database is guarded, the course templates are ready.")
    if unguarded:
        print(
            f"Warning: {len(unguarded)} database(s) made before the guard accept any role's "
            f"connection ({', '.join(unguarded)}); revoke CONNECT from PUBLIC or use a server "
            "of the class's own."
        )
    return 0


def _learner(args: argparse.Namespace) -> int:
    role = _shared_class(args).learner(args.name)
    print(role.url)
    return 0


def _drop(args: argparse.Namespace) -> int:
    dropped = _shared_class(args).drop(args.name)
    print(
        f"Dropped {args.name!r}: {dropped['databases']} database(s), "
        f"{dropped['backends']} session(s) ended."
    )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    shared_class = _shared_class(args)
    while True:
        listed_at = time.time()
        keep = set(args.keep) | (active_hub_users() if args.hub else set())
        for user in shared_class.sweep(keep, listed_at=listed_at):
            print(f"Dropped the role and databases of {user!r}: no server of theirs runs.")
        if args.every is None:
            return 0
        time.sleep(args.every)


def active_hub_users() -> set[str]:
    """Users whose server the hub lists as ready or pending (a hub service's API token)."""
    api_url = os.environ.get("JUPYTERHUB_API_URL")
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    if not api_url or not token:
        raise UsageError(
            "--hub needs JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN: run it as a JupyterHub "
            "service, or name the running learners with --keep."
        )
    users: set[str] = set()
    next_url: str | None = f"{api_url.rstrip('/')}/users?state=active"
    while next_url:
        page = _get_json(next_url, token, api_url)
        users.update(user["name"] for user in page["items"])
        following = page.get("_pagination", {}).get("next")
        next_url = following["url"] if following else None
    return users


def _get_json(url: str, token: str, api_url: str) -> dict:
    request = urllib.request.Request(
        url,
        headers={
            "Authorization": f"token {token}",
            # Without it the hub answers with one page only (200 users by default).
            "Accept": "application/jupyterhub-pagination+json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.load(response))
    except OSError as error:
        raise AsyncDbLabError(
            f"Could not list the hub's active users at {api_url} ({error}); nothing was swept. "
            "Check that the hub runs and that this service may list users."
        ) from None
