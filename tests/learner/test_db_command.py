"""`asyncdb-lab db`: a seeded database, a psql command that works, and nothing left after Ctrl-C."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from support.learner import REPO, cli_env
from support.observe import alive, descendants
from support.processes import wait_until

from asyncdb_lab.servers.embedded.run_folders import OwnerRecord


def test_db_serves_a_seeded_database_to_psql_and_leaves_nothing_after_ctrl_c():
    # A runtime folder of its own, so this server's folder is the only one in it.
    runtime_dir = Path(tempfile.mkdtemp(prefix="adl-db-", dir="/tmp"))
    runtime_dir.chmod(0o755)
    env = cli_env() | {
        "ASYNCDB_LAB_RUNTIME_DIR": str(runtime_dir),
        "ASYNCDB_LAB_BACKEND": "embedded",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "asyncdb_lab.cli", "db"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        printed = []
        for line in server.stdout:
            printed.append(line)
            if line.startswith("Ctrl-C deletes"):
                break
        text = "".join(printed)
        assert "the course tables and the seed data" in text, text + server.stderr.read()
        psql = re.search(r"^  psql:\s+(.+)$", text, flags=re.M)
        url = re.search(r"^  SQLAlchemy URL:\s+(postgresql\+asyncpg://\S+)$", text, flags=re.M)
        assert psql and url, text

        query = subprocess.run(
            [*shlex.split(psql.group(1)), "-tAc", "SELECT count(*) FROM users"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert query.stdout.strip() == "1000", query.stderr

        (server_dir,) = (runtime_dir / f"asyncdb-lab-{os.getuid()}").glob("srv-*")
        record = OwnerRecord.read(server_dir)
        assert record is not None and record.postmaster_pid and record.watchdog_pid
        postgres = [record.postmaster_pid, *descendants(record.postmaster_pid)]

        server.send_signal(signal.SIGINT)
        stdout, stderr = server.communicate(timeout=120)
        assert server.returncode == 0, stderr
        assert "Stopped: the database is gone, and so is any server or file" in stdout
        assert wait_until(lambda: not any(alive(pid) for pid in postgres))
        assert wait_until(lambda: not alive(record.watchdog_pid))
        assert not server_dir.exists()
        assert not (runtime_dir / f"asyncdb-lab-{os.getuid()}").exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
        shutil.rmtree(runtime_dir, ignore_errors=True)
