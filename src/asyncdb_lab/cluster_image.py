"""Build the prepared cluster image that every embedded server starts from.

initdb, the server settings, and the two seeded template databases cost about a second; done
once and cached (keyed by PostgreSQL version, seed fingerprint and user), each later start is
a folder copy and a `postgres` launch.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from . import _reaper, runtime
from .sync_admin import run_sync
from .templates import EMBEDDED_TEMPLATES, create_templates

if TYPE_CHECKING:
    from .embedded import _ChildRunner


def build_cluster_image(runner: _ChildRunner, image: Path) -> None:
    from .embedded import SERVER_SETTINGS, SUPERUSER, EmbeddedServer, _copy_tree

    build_dir = runtime.new_server_dir()
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
            conf.write("\n# asyncdb-lab: a disposable server\n")
            for name, value in SERVER_SETTINGS.items():
                conf.write(f"{name} = '{value}'\n")
        server = EmbeddedServer.launch(build_dir, runner, tcp=False, port=5432, password=None)
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
        _copy_tree(data, staging / "data")
        try:
            staging.rename(image)
        except OSError:
            # Another process finished the same image first; theirs is as good as ours.
            shutil.rmtree(staging, ignore_errors=True)
        _remove_stale_images(image)
    finally:
        _reaper.remove_server_dir(build_dir)


def _remove_stale_images(current: Path) -> None:
    """Images for an older seed or PostgreSQL version are never used again."""
    uid_suffix = current.name.rsplit("-", 1)[-1]
    for other in current.parent.glob(f"pg*-{uid_suffix}"):
        if other != current and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
