"""The learner's workspace: their own copy of the course's notebooks, which git ignores.

`sync_workspace()` copies every course file (notebooks/) that the workspace lacks and never
overwrites a file that is there, so a learner's work survives `git pull` and `make lab`. When
the course changes a notebook the learner already has, their copy stays as it is and the report
says a newer version exists; `reset_notebook()` switches to it, keeping the old copy as a backup.

What was copied is remembered in <workspace>/.asyncdb-lab/course.json (the hash of each course
file as copied), which is how a newer version upstream is told apart from the learner's edits.

Each notebook copied gets the learner's own kernel metadata (kernelspec and language_info, as
JupyterLab writes them once the kernel connects: the Python version differs per learner), so that
it opens unmodified. Comparisons with the course's notebook (content_hash) ignore that stamp.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.settings import NOTEBOOKS_DIR, REPO, WORKSPACE_ENV

STATE_DIR = ".asyncdb-lab"
BACKUPS_DIR = "backups"
_MANIFEST = "course.json"
_HINTS_SHOWN = "hints.json"
# The metadata JupyterLab rewrites when a notebook's kernel connects.
KERNEL_METADATA = ("kernelspec", "language_info")
# What `make lab` adds to JUPYTER_CONFIG_PATH: the learner's JupyterLab without nbgrader's
# instructor panels, menus and Validate button (instructors starting JupyterLab keep them).
LAB_CONFIG_DIR = Path(__file__).with_name("lab_config")
# What `make lab` adds to JUPYTER_PATH: the kernelspec its notebooks name ("python3"), whose
# kernels import the course library as they start (learner/preload.py).
LAB_DATA_DIR = Path(__file__).with_name("lab_data")


class UsageError(AsyncDbLabError):
    """The learner asked for something that does not exist (a notebook, an exercise): the
    command exits 2, as for bad arguments, not 1 as for failing tests."""

    exit_code = 2


def default_workspace() -> Path:
    """ASYNCDB_LAB_WORKSPACE if set (`make lab` sets it for JupyterLab's terminals), else
    workspace/ in the course repository."""
    configured = os.environ.get(WORKSPACE_ENV)
    return Path(configured).resolve() if configured else REPO / "workspace"


def topic_notebooks(folder: Path) -> dict[str, Path]:
    """Notebooks laid out as the course lays them out, <topic>/<topic>.ipynb, in course order."""
    if not folder.is_dir():
        return {}
    return {
        sub.name: sub / f"{sub.name}.ipynb"
        for sub in sorted(folder.iterdir())
        if sub.is_dir() and (sub / f"{sub.name}.ipynb").is_file()
    }


def course_notebooks(course: Path = NOTEBOOKS_DIR) -> dict[str, Path]:
    return topic_notebooks(course)


@dataclass
class SyncReport:
    workspace: Path
    created: bool
    added: list[str] = field(default_factory=list)
    # Topics whose notebook the course has changed since the learner's copy was made.
    newer_upstream: list[str] = field(default_factory=list)


def sync_workspace(workspace: Path, course: Path = NOTEBOOKS_DIR) -> SyncReport:
    """Copy the course files the workspace lacks; never overwrite one it has."""
    if not course_notebooks(course):
        raise AsyncDbLabError(f"No course notebooks in {course}: is this the course repository?")
    report = SyncReport(workspace, created=not workspace.exists())
    workspace.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(workspace)
    for relative in _course_files(course):
        source, target = course / relative, workspace / relative
        key = relative.as_posix()
        upstream = content_hash(source)
        if key in manifest:
            manifest[key] = _migrated(manifest[key], source, upstream)
        if not target.exists():
            _copy_course_file(source, target)
            manifest[key] = upstream
            report.added.append(key)
        elif content_hash(target) == upstream:
            manifest[key] = upstream  # the learner's copy is the course's current version
        elif target.suffix == ".ipynb" and _newer_upstream(manifest.get(key), upstream):
            report.newer_upstream.append(relative.parts[0])
    _write_manifest(workspace, manifest)
    return report


def newer_upstream(workspace: Path, course: Path = NOTEBOOKS_DIR) -> list[str]:
    """Topics whose course notebook changed since the learner's copy was made (read-only)."""
    manifest = _read_manifest(workspace)
    topics = []
    for topic, source in course_notebooks(course).items():
        key = f"{topic}/{source.name}"
        target = workspace / key
        upstream = content_hash(source)
        copied = manifest.get(key)
        if (
            target.exists()
            and copied is not None
            and _newer_upstream(_migrated(copied, source, upstream), upstream)
            and content_hash(target) != upstream
        ):
            topics.append(topic)
    return topics


def _migrated(copied: str, source: Path, upstream: str) -> str:
    """The record in today's form: workspaces made before content_hash ignored kernel metadata
    recorded the file's plain sha256, which still means "copied from this version"."""
    if copied != upstream and copied == hashlib.sha256(source.read_bytes()).hexdigest():
        return upstream
    return copied


def _newer_upstream(copied: str | None, upstream: str) -> bool:
    # Without a record of what was copied, an edited copy cannot be told from an old one.
    return copied is not None and copied != upstream


def reset_notebook(topic: str, workspace: Path, course: Path = NOTEBOOKS_DIR) -> Path | None:
    """Replace the workspace's copy of `topic` with the course's; return where the old copy went
    (backups/<topic>/<topic>-<time>.ipynb), or None when there was no copy."""
    source = course_notebooks(course).get(topic)
    if source is None:
        known = ", ".join(course_notebooks(course)) or "none"
        raise AsyncDbLabError(f"The course has no notebook {topic!r} (it has: {known}).")
    target = workspace / topic / source.name
    backup = None
    if target.exists():
        backup = _backup_path(workspace, topic)
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(target, backup)
    _copy_course_file(source, target)
    manifest = _read_manifest(workspace)
    manifest[f"{topic}/{source.name}"] = content_hash(source)
    _write_manifest(workspace, manifest)
    return backup


def resolve_notebook(name: str, workspace: Path) -> Path:
    """A notebook from what a learner types: the path of an .ipynb file, or a name of a workspace
    notebook as resolve_topic() reads it."""
    as_path = Path(name)
    if as_path.suffix == ".ipynb" and as_path.is_file():
        return as_path.resolve()
    if as_path.is_dir() and (as_path / f"{as_path.name}.ipynb").is_file():
        return (as_path / f"{as_path.name}.ipynb").resolve()
    notebooks = topic_notebooks(workspace)
    if not notebooks:
        raise AsyncDbLabError(
            f"There is no workspace with notebooks at {workspace} yet: run `make lab` (or "
            f"`asyncdb-lab workspace`) once to make it, or give the path of an .ipynb file."
        )
    added = " If the course has just added it, `asyncdb-lab workspace` copies it in."
    return notebooks[resolve_topic(name, notebooks, f"in {workspace}", added)]


def resolve_topic(
    name: str, topics: Iterable[str], where: str = "in the course", advice: str = ""
) -> str:
    """The one reading of a notebook's name that every learner command uses: its number (00 or
    0), its start (00_start), its name (00_start_here), or its file name as JupyterLab shows it
    (00_start_here.ipynb, with or without a folder). UsageError when none or several match."""
    known = list(topics)
    found = topic_matches(name, known)
    if len(found) == 1:
        return found[0]
    if found:
        raise UsageError(f"{name!r} could mean {', '.join(found)}: type more of the name.")
    example = known[0].split("_")[0] if known else "00"
    raise UsageError(
        f"No notebook {name!r} {where} (there are: {', '.join(known) or 'none'}): name one of "
        f"them, or its number (e.g. {example}).{advice}"
    )


def topic_matches(name: str, topics: Iterable[str]) -> list[str]:
    """The topics `name` may mean, best reading first (see resolve_topic)."""
    known = list(topics)
    stem = Path(name.strip()).name.removesuffix(".ipynb") if name.strip() else ""
    if not stem:
        return []
    if stem in known:
        return [stem]
    if stem.isdigit():
        return [topic for topic in known if _number(topic) == int(stem)]
    return [topic for topic in known if topic.startswith(stem)] or [
        topic for topic in known if stem in topic
    ]


def _number(topic: str) -> int | None:
    found = re.match(r"\d+", topic)
    return int(found.group()) if found else None


def shown_hints(workspace: Path) -> dict[str, list[str]]:
    """{notebook: [grade ids whose hint `asyncdb-lab hint` has shown]}, from the workspace."""
    try:
        data = json.loads((state_dir(workspace) / _HINTS_SHOWN).read_text())["shown"]
        return {str(k): [str(g) for g in v] for k, v in data.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def remember_hints(workspace: Path, shown: dict[str, list[str]]) -> None:
    """Save what shown_hints() returns; nothing is written when there is no workspace."""
    if not workspace.is_dir():
        return
    path = state_dir(workspace) / _HINTS_SHOWN
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"shown": shown}, indent=1, sort_keys=True) + "\n")


def state_dir(workspace: Path) -> Path:
    """The workspace's hidden folder for what the tools remember (JupyterLab does not show it)."""
    return workspace / STATE_DIR


def _course_files(course: Path) -> list[Path]:
    files = []
    for path in sorted(course.rglob("*")):
        relative = path.relative_to(course)
        skipped = any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
        if path.is_file() and not skipped:
            files.append(relative)
    return files


def content_hash(path: Path) -> str:
    """A hash of a course file that ignores the kernel metadata of a notebook (what differs
    between the course's copy, the learner's copy as made and as JupyterLab saves it untouched)."""
    data = path.read_bytes()
    notebook = _notebook_json(data) if path.suffix == ".ipynb" else None
    if notebook is not None:
        notebook["metadata"] = _without_kernel_metadata(notebook["metadata"])
        data = json.dumps(notebook, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()


def _without_kernel_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in metadata.items() if key not in KERNEL_METADATA}


def _notebook_json(data: bytes) -> dict[str, Any] | None:
    """The notebook's JSON, or None when it is not a notebook (a broken file is copied as is)."""
    try:
        notebook = json.loads(data)
    except ValueError:
        return None
    if isinstance(notebook, dict) and isinstance(notebook.get("metadata"), dict):
        return notebook
    return None


def _copy_course_file(source: Path, target: Path) -> None:
    """Copy `source` (keeping its times, as `make lab` always has); a notebook gets the learner's
    kernel metadata, so that JupyterLab does not mark it modified as soon as it opens."""
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook = _notebook_json(source.read_bytes()) if source.suffix == ".ipynb" else None
    if notebook is None:
        shutil.copy2(source, target)
        return
    kernel_name = notebook["metadata"].get("kernelspec", {}).get("name", "")
    notebook["metadata"].update(kernel_metadata(kernel_name))
    target.write_text(_notebook_text(notebook), encoding="utf-8")
    shutil.copystat(source, target)


def _notebook_text(notebook: dict[str, Any]) -> str:
    # As nbformat.write (and so Jupyter's save) lays a notebook out.
    text = json.dumps(
        notebook, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False
    )
    return text + "\n"


@functools.cache
def kernel_metadata(kernel_name: str) -> dict[str, Any]:
    """The kernelspec and language_info JupyterLab writes into a notebook once its kernel
    `kernel_name` connects on this machine ({} for a kernel that is not installed, or not
    ipykernel's): the kernelspec as installed, and the language_info of ipykernel in this
    virtual environment, which is the Python JupyterLab's kernels run on."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        return {}
    if spec.language != "python":
        return {}
    from ipykernel.ipkernel import IPythonKernel

    kernelspec = {"display_name": spec.display_name, "language": spec.language, "name": kernel_name}
    return {"kernelspec": kernelspec, "language_info": dict(IPythonKernel.language_info)}


def _backup_path(workspace: Path, topic: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = workspace / BACKUPS_DIR / topic
    candidate = folder / f"{topic}-{stamp}.ipynb"
    number = 2
    while candidate.exists():
        candidate = folder / f"{topic}-{stamp}-{number}.ipynb"
        number += 1
    return candidate


def _read_manifest(workspace: Path) -> dict[str, str]:
    path = state_dir(workspace) / _MANIFEST
    try:
        return dict(json.loads(path.read_text())["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write_manifest(workspace: Path, manifest: dict[str, str]) -> None:
    path = state_dir(workspace) / _MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"files": dict(sorted(manifest.items()))}, indent=1) + "\n")
