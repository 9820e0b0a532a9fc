"""Every environment variable the course reads, where its folders are, and the guard rails.

One home: a module that needs a setting imports its name from here, never the string.
"""

from __future__ import annotations

import os
from pathlib import Path

# Which backend serves databases (embedded, docker or url), and the server the url backend uses.
BACKEND_ENV = "ASYNCDB_LAB_BACKEND"
DATABASE_URL_ENV = "ASYNCDB_LAB_DATABASE_URL"
# `asyncdb-lab provision` (a class's shared server): a superuser's URL, and the server's host as
# the learners' servers reach it when that differs from the admin's.
ADMIN_URL_ENV = "ASYNCDB_LAB_ADMIN_URL"
LEARNER_HOST_ENV = "ASYNCDB_LAB_LEARNER_HOST"
# Where the embedded backend caches its cluster image, and where its servers' folders go.
CACHE_DIR_ENV = "ASYNCDB_LAB_CACHE_DIR"
RUNTIME_DIR_ENV = "ASYNCDB_LAB_RUNTIME_DIR"
# Set to 0 for a private embedded server per process, instead of one shared by a user's kernels.
SHARED_SERVER_ENV = "ASYNCDB_LAB_SHARED_SERVER"
# Set to 1 to keep disposable_database() from printing which server it started.
QUIET_ENV = "ASYNCDB_LAB_QUIET"
# Another folder of seed CSV files (one per table) instead of data/seed/.
SEED_DIR_ENV = "ASYNCDB_LAB_SEED_DIR"
# The learner's workspace (`make lab` sets it for JupyterLab's terminals).
WORKSPACE_ENV = "ASYNCDB_LAB_WORKSPACE"
# Set by `asyncdb-lab check` and `grade` ("check", "grade") in the kernels they start: a
# notebook's last cell (learner/in_lab.py) then skips its own check.
RUN_BY_ENV = "ASYNCDB_LAB_RUN_BY"
# Another question bank file (an instructor's own), and where the drill keeps its history.
QUESTION_BANK_ENV = "ASYNCDB_LAB_QUESTION_BANK"
DRILL_HISTORY_ENV = "ASYNCDB_LAB_DRILL_HISTORY"
# Set to 1 for self-study: notebook 12's reveal cells then show the key and the explanation at
# once, instead of leaving them to the grading feedback (asyncdb_lab.interview.reveal).
SELF_STUDY_ENV = "ASYNCDB_LAB_SELF_STUDY"

# The course repository (an editable install runs from it) and its folders.
REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"
GRADER_DIR = REPO / "grader"
SOURCES_DIR = REPO / "sources"  # the notebooks as reviewable text: what an author edits
SOLUTIONS_DIR = REPO / "solutions"
NOTEBOOKS_DIR = REPO / "notebooks"

# The image the docker backend runs; keep its major version equal to the embedded wheel's.
DOCKER_IMAGE = "postgres:18-alpine"
# Another image honouring the official one's contract (POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB, port 5432), e.g. one built offline (.ci/docker/setup).
DOCKER_IMAGE_ENV = "ASYNCDB_LAB_DOCKER_IMAGE"


def docker_image() -> str:
    return os.environ.get(DOCKER_IMAGE_ENV, "").strip() or DOCKER_IMAGE


# Server-side limits set as database defaults (ALTER DATABASE … SET) on every database handed out.
# A Jupyter cell timeout interrupts the kernel, not the server: these are what end a runaway query.
GUARD_RAILS: dict[str, str] = {
    # Longest single statement. Every demonstration in the course takes well under a second;
    # a whole notebook must run in 15 s, so a statement running longer than that is a mistake.
    "statement_timeout": "15s",
    # Longest wait for a lock. The locking demos wait a few hundred milliseconds at most.
    "lock_timeout": "5s",
    # A transaction left open while the learner reads is closed after two minutes of silence.
    "idle_in_transaction_session_timeout": "2min",
    # How often a running query checks that its client is still there (a killed kernel, say).
    "client_connection_check_interval": "1s",
}


# Every database handed out also works in UTC, so dates (daily signups, say) agree on every machine.
DATABASE_DEFAULTS: dict[str, str] = {**GUARD_RAILS, "timezone": "UTC"}


def cache_dir() -> Path:
    """Where prepared cluster images live (reused across runs; `make clean` removes them)."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "asyncdb-lab"


def seed_dir() -> Path:
    """Folder with one `<table>.csv` per table."""
    return Path(os.environ.get(SEED_DIR_ENV) or DATA_DIR / "seed")


def shared_server() -> bool:
    """Do this user's processes share one embedded server? (On unless set to 0.)"""
    return os.environ.get(SHARED_SERVER_ENV, "").strip().lower() not in ("0", "false", "no")


def quiet() -> bool:
    return os.environ.get(QUIET_ENV, "") not in ("", "0", "false", "no")
