"""Re-check a notebook every time it is saved, by polling modification times (no dependencies).

A save that changes no code (JupyterLab saving new outputs, say) does not start a check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import nbformat

from asyncdb_lab.course.notebook import code_hash

POLL_SECONDS = 0.5


def watch(
    notebooks: Callable[[], dict[str, Path]],
    check: Callable[[str, Path], object],
    *,
    say: Callable[[str], None] = print,
    poll_seconds: float = POLL_SECONDS,
    first: str | None = None,
    until: Callable[[], bool] = lambda: False,
) -> None:
    """Call check(name, path) whenever a notebook from `notebooks()` gets new code, until
    KeyboardInterrupt (or until() is true). `first` is checked straight away."""
    seen = {name: _stamp(path) for name, path in notebooks().items()}
    # What is there now counts as seen: only new code starts a check.
    checked = {name: _code_hash(path) for name, path in notebooks().items()}
    if first is not None:
        check(first, notebooks()[first])
    say(_waiting(notebooks()))
    while not until():
        time.sleep(poll_seconds)
        for name, path in notebooks().items():
            stamp = _stamp(path)
            if stamp == seen.get(name):
                continue
            seen[name] = stamp
            current = _code_hash(path)
            if current is None or current == checked.get(name):
                continue  # unreadable mid-write, or only outputs and Markdown changed
            checked[name] = current
            say(f"\n{time.strftime('%H:%M:%S')} {name} was saved: checking it again.\n")
            check(name, path)
            seen[name] = _stamp(path)
            say(_waiting(notebooks()))


def _waiting(notebooks: dict[str, Path]) -> str:
    names = ", ".join(notebooks) if len(notebooks) <= 3 else f"{len(notebooks)} notebooks"
    return f"\nWatching {names}: save in JupyterLab to check again; Ctrl-C stops."


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _code_hash(path: Path) -> str | None:
    try:
        return code_hash(nbformat.read(path, as_version=4))
    except Exception:  # a file caught half-written: the next poll sees it whole
        return None
