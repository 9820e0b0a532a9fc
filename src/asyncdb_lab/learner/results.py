"""The last check of each workspace notebook, kept so that `asyncdb-lab progress` is instant.

Saved as <workspace>/.asyncdb-lab/results/<topic>.json, with the hash of the notebook's code
at the time (course.notebook.code_hash): when the code has changed since, progress says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from asyncdb_lab.learner.check import CheckResult
from asyncdb_lab.learner.workspace import state_dir


def result_path(workspace: Path, topic: str) -> Path:
    return state_dir(workspace) / "results" / f"{topic}.json"


def save_result(workspace: Path, topic: str, result: CheckResult) -> Path:
    path = result_path(workspace, topic)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    temporary.replace(path)
    return path


def load_result(workspace: Path, topic: str) -> CheckResult | None:
    """The saved result, or None when there is none or it cannot be read (then check again)."""
    try:
        return CheckResult.from_dict(json.loads(result_path(workspace, topic).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
