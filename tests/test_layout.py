"""The package's layout holds: no import cycle, one home for settings, a stand-alone reaper."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from asyncdb_lab.settings import REPO

PACKAGE = REPO / "src" / "asyncdb_lab"
# Run by path with `python -I`, so they may import only the standard library (and each other).
STAND_ALONE = {"asyncdb_lab.servers.embedded.reaper", "asyncdb_lab.servers.embedded.watchdog"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str) -> set[str]:
    """Every module `name` imports, anywhere in it: lazy imports in functions make cycles too."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            names = {f"{base}.{alias.name}" for alias in node.names}
            # `from package import module` depends on the module, not on the package's __init__.
            found.update(names if names <= MODULES.keys() else {base, *names})
    return found


def _graph() -> dict[str, set[str]]:
    return {
        name: {other for other in _imports(name) if other in MODULES} - {name} for name in MODULES
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for other in sorted(graph[name]):
            found = visit(other, [*path, name])
            if found:
                return found
        done.add(name)
        return None

    for name in sorted(graph):
        found = visit(name, [])
        if found:
            return found
    return None


def test_the_package_has_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_reaper_and_watchdog_import_only_the_standard_library():
    for name in STAND_ALONE:
        outside = {
            module.partition(".")[0]
            for module in _imports(name)
            if module.partition(".")[0] not in sys.stdlib_module_names
        }
        assert outside <= {"__future__", "reaper"}, f"{name} imports {sorted(outside)}"


def test_only_settings_names_the_environment_variables():
    """Code reads ASYNCDB_LAB_* through settings' constants; docstrings may mention them."""
    offenders = []
    for name, path in MODULES.items():
        if name == "asyncdb_lab.settings":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "ASYNCDB_LAB_" in node.value
                and id(node) not in docstrings
            ):
                offenders.append(f"{name}:{node.lineno}")
    assert not offenders, f"ASYNCDB_LAB_* written out instead of taken from settings: {offenders}"
