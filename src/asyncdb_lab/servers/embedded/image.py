"""Build the prepared cluster image that every embedded server starts from.

initdb, the server settings, and the two seeded template databases cost about a second; done
once and cached (keyed by PostgreSQL version, seed fingerprint and user), each later start is
a folder copy and a `postgres` launch.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from asyncdb_lab.servers.embedded import reaper, run_folders
from asyncdb_lab.servers.embedded.binaries import (
    SUPERUSER,
    ChildRunner,
    copy_tree,
    server_version,
)
from asyncdb_lab.servers.sync_admin import run_sync
from asyncdb_lab.servers.templates import EMBEDDED_TEMPLATES, create_templates
from asyncdb_lab.settings import cache_dir

# Appended to every embedded server's postgresql.conf.
SERVER_CONF = Path(__file__).with_name("postgresql.conf")
# Bump when what goes into an image changes, so that older cached images are rebuilt.
IMAGE_FORMAT = 4


class _BuildServer(Protocol):
    def dsn(self, database: str) -> str: ...

    def stop(self, *, keep_data: bool = False) -> None: ...


# Starts `postgres` on the cluster in a build folder's data/ (the server module provides it).
Launch = Callable[[Path], _BuildServer]


def ensure_cluster_image(runner: ChildRunner, launch: Launch) -> Path:
    """The cached, prepared cluster for this PostgreSQL, seed data and user; built if missing."""
    from asyncdb_lab.seed import seed_fingerprint

    uid = runner.user.uid if runner.user else os.getuid()
    key = f"pg{server_version()}-seed{seed_fingerprint()}-f{IMAGE_FORMAT}-u{uid}"
    image = cache_dir() / key
    if not (image / "data" / "PG_VERSION").exists():
        build_cluster_image(runner, image, launch)
    return image


def build_cluster_image(runner: ChildRunner, image: Path, launch: Launch) -> None:
    build_dir = run_folders.new_server_dir()
    try:
        data = build_dir / "data"
        data.mkdir(mode=0o700)
        runner.give(data)
        runner.run(
            [
                "initdb",
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-sync",
                "--no-instructions",
                # 1 MB WAL segments instead of 16 MB keep the image small, and its copy fast.
                "--wal-segsize=1",
                "--encoding=UTF8",
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
                "--locale=C",
            ],
            cwd=build_dir,
        )
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n" + SERVER_CONF.read_text())
        server = launch(build_dir)
        try:
            dsn_for = {
                "admin": server.dsn("postgres"),
                EMBEDDED_TEMPLATES.tables: server.dsn(EMBEDDED_TEMPLATES.tables),
                EMBEDDED_TEMPLATES.seed: server.dsn(EMBEDDED_TEMPLATES.seed),
            }
            run_sync(create_templates(dsn_for, EMBEDDED_TEMPLATES))
        finally:
            server.stop(keep_data=True)
        image.parent.mkdir(parents=True, exist_ok=True)
        staging = image.parent / f".building-{os.getpid()}-{secrets.token_hex(3)}"
        staging.mkdir()
        copy_tree(data, staging / "data")
        try:
            staging.rename(image)
        except OSError:
            # Another process finished the same image first; theirs is as good as ours.
            shutil.rmtree(staging, ignore_errors=True)
        _remove_stale_images(image)
    finally:
        reaper.remove_server_dir(build_dir)


def _remove_stale_images(current: Path) -> None:
    """Images for an older seed or PostgreSQL version are never used again."""
    uid_suffix = current.name.rsplit("-", 1)[-1]
    for other in current.parent.glob(f"pg*-{uid_suffix}"):
        if other != current and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
