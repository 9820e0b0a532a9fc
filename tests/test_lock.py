"""requirements.lock pins every package a class installs, at the version the tests ran with."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from asyncdb_lab.settings import REPO

LOCK = REPO / "requirements.lock"
# Installed into every virtual environment by venv itself, not by the course.
INSTALLER_TOOLS = {"pip", "setuptools", "wheel"}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, separator, version = line.partition("==")
            assert separator, f"requirements.lock: {line!r} is not pinned with '=='"
            pins[_normalized(name)] = version.strip()
    return pins


def test_every_installed_package_is_pinned_at_its_installed_version():
    pins = _pins()
    installed = {
        _normalized(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }
    course = {_normalized("asyncdb-lab")} | INSTALLER_TOOLS
    unpinned = sorted(set(installed) - set(pins) - course)
    assert not unpinned, f"installed but not in requirements.lock: {unpinned}; run make lock"
    differing = {
        name: (installed[name], pins[name])
        for name in set(installed) & set(pins)
        if installed[name] != pins[name]
    }
    assert not differing, f"installed ≠ pinned (installed, pinned): {differing}; run make install"


def test_every_declared_dependency_is_in_the_lock():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = project["dependencies"] + [r for group in extras.values() for r in group]
    names = {
        _normalized(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        for requirement in declared
    } - {_normalized(project["name"])}  # dev names the course's own extras
    missing = sorted(names - set(_pins()))
    assert not missing, f"declared in pyproject.toml but not pinned: {missing}; run make lock"
