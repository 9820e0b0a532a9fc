"""The files around the code agree with it: compose, conda, Makefile, CI script.

Docker is not available where these tests run, so docker-compose.yml is checked for what can be
checked without it: it parses, and its names and variables agree with the library's.
"""

from __future__ import annotations

import re
import subprocess
import tomllib

import yaml
from sqlalchemy.engine import make_url

from asyncdb_lab.settings import BACKEND_ENV, DATABASE_URL_ENV, DOCKER_IMAGE, REPO


def test_compose_db_service_is_pinned_and_healthchecked():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    db = compose["services"]["db"]
    image = re.sub(r"^\$\{ASYNCDB_LAB_DOCKER_IMAGE:-(.+)\}$", r"\1", db["image"])  # the default
    assert image == DOCKER_IMAGE
    assert re.fullmatch(r"postgres:\d+(\.\d+)?-alpine", image)
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_compose_lab_service_points_the_url_backend_at_the_db_service():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    db, lab = compose["services"]["db"], compose["services"]["lab"]
    env = lab["environment"]
    assert env[BACKEND_ENV] == "url"
    url = make_url(env[DATABASE_URL_ENV])
    assert url.host == "db" and url.port == 5432
    assert url.username == db["environment"]["POSTGRES_USER"]
    assert url.password == db["environment"]["POSTGRES_PASSWORD"]
    assert url.database == db["environment"]["POSTGRES_DB"]
    assert lab["depends_on"]["db"]["condition"] == "service_healthy"
    assert "make lab" in lab["command"]


def test_conda_environment_installs_this_package_on_a_supported_python():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert "python>=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert '-e ".[dev]"' in pip or "-e .[dev]" in pip


def test_pyproject_declares_the_command_and_supported_python():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert project["scripts"]["asyncdb-lab"] == "asyncdb_lab.cli:main"


def test_make_help_lists_every_target():
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    documented = set(re.findall(r"^([a-z][a-z-]*):.*## ", makefile, flags=re.M))
    assert targets == documented, f"targets without a ## description: {targets - documented}"
    out = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True).stdout
    listed = set(re.findall(r"make (\S+)", out))
    assert listed == targets


def test_ci_runs_make_test():
    script = (REPO / ".ci" / "run").read_text()
    assert script.startswith("#!/usr/bin/env bash")
    assert re.search(r"^make test$", script, flags=re.M)
    assert (REPO / ".ci" / "run").stat().st_mode & 0o111
