"""The names a notebook's own cells define, put back before every test cell.

Test cells use names the course's setup and demonstration cells bound (`engine`,
`count_statements`, `disposable_database`, `text`, ...). Learner code could bind them again
(`count_statements = lenient`) and a test would check with the learner's version. So after each
course cell runs, the grader silently keeps what it bound (and records the id of each object on
its side), and before each test it binds those names again; a name that had changed is noted in
the report, and a kept object that is not the one recorded is tampering. Names the learner's
answer cells bind (their functions, the imports they need) and names the test cells bind
themselves are never touched.
"""

from __future__ import annotations

import ast
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from nbformat import NotebookNode

from asyncdb_lab.grading.probes import expression_value

KEPT_EXPRESSION = "kept"
RESTORED_EXPRESSION = "restored"


def bound_names(source: str) -> set[str]:
    """The global names `source` binds: imports, assignments, definitions, `as` and loop targets,
    also inside blocks (with, for, if, try), not inside functions or classes."""
    tree = _parse(source)
    return _bound_in(tree.body) if tree is not None else set()


def _bound_in(statements: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in statements:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(_names_in(targets))
        elif isinstance(node, ast.With | ast.AsyncWith):
            names.update(_names_in(item.optional_vars for item in node.items))
        elif isinstance(node, ast.For | ast.AsyncFor):
            names.update(_names_in([node.target]))
        elif isinstance(node, ast.Try):
            names.update(handler.name for handler in node.handlers if handler.name)
        for field_name in ("body", "orelse", "finalbody"):
            names |= _bound_in(getattr(node, field_name, []) or [])
        for handler in getattr(node, "handlers", []) or []:
            names |= _bound_in(handler.body)
    return names


def _parse(source: str) -> ast.Module | None:
    try:
        flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        tree = compile(source, "<cell>", "exec", flags=flags, dont_inherit=True)
        return tree if isinstance(tree, ast.Module) else None
    except SyntaxError:  # IPython syntax (%%writefile, say): it binds no Python name
        return None


def _names_in(nodes: Iterable[ast.AST | None]) -> set[str]:
    return {
        name.id
        for node in nodes
        if node is not None
        for name in ast.walk(node)
        if isinstance(name, ast.Name)
    }


@dataclass
class CourseBindings:
    """Which course cells bind which protected names; the kernel code keeping and restoring them."""

    by_source: dict[str, set[str]]  # a course cell's source → the protected names it binds
    key: str = field(default_factory=lambda: f"__asyncdb_lab_{secrets.token_hex(6)}")

    @classmethod
    def of(cls, release_cells: list[dict], tests: Iterable[str] = ()) -> CourseBindings:
        """From the released cells; `tests`: the test cells' sources as graded (hidden tests
        included), whose own names (`sql`, `conn`, ...) are theirs to bind."""
        course: dict[str, set[str]] = {}
        answers: set[str] = {name for source in tests for name in bound_names(source)}
        for cell in release_cells:
            if cell.get("cell_type") != "code":
                continue
            meta = cell.get("metadata", {}).get("nbgrader", {})
            names = bound_names(_text(cell.get("source", "")))
            if meta.get("solution"):
                answers |= names
            elif not meta.get("grade"):
                course[_text(cell.get("source", ""))] = names
        protected = {source: names - answers for source, names in course.items() if names - answers}
        return cls(protected)

    def keep_after(self, cell: NotebookNode) -> tuple[str, dict[str, str]] | None:
        """Silent code keeping what `cell` bound, if it is a course cell that binds any, and the
        expression giving the id of each object kept (the grader's own record of them)."""
        names = self.by_source.get(cell.source)
        if not names:
            return None
        kept = f"__import__('builtins').__dict__.setdefault({self.key!r}, {{}})"
        code = f"{kept}.update({{n: globals()[n] for n in {sorted(names)!r} if n in globals()}})\n"
        expression = f"{{n: id(v) for n, v in {kept}.items() if n in {sorted(names)!r}}}"
        return code, {KEPT_EXPRESSION: expression}

    def restore(self) -> tuple[str, dict[str, str]]:
        """Silent code binding the kept names again, and the expression giving the names it
        changed and the id of what each name holds now."""
        kept = f"__import__('builtins').__dict__.get({self.key!r}, {{}})"
        changed = f"{self.key}_changed"
        code = (
            f"__import__('builtins').__dict__[{changed!r}] = sorted(n for n, v in {kept}.items() "
            f"if globals().get(n) is not v)\n"
            f"globals().update({kept})\n"
        )
        expression = (
            f"(__import__('builtins').__dict__.pop({changed!r}), "
            f"{{n: id(globals().get(n)) for n in {kept}}})"
        )
        return code, {RESTORED_EXPRESSION: expression}


def read_kept(reply: dict | None) -> dict[str, int] | None:
    """The ids of what a keep kept, from its execute reply; None if it did not answer."""
    value = expression_value(reply, KEPT_EXPRESSION)
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int) for k, v in value.items()
    ):
        return None
    return value


def read_restored(reply: dict | None) -> tuple[list[str], dict[str, int]] | None:
    """The names a restore changed back and the ids the names hold now; None: no answer."""
    value = expression_value(reply, RESTORED_EXPRESSION)
    if not (isinstance(value, tuple) and len(value) == 2):
        return None
    names, now = value
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return None
    if not isinstance(now, dict) or not all(isinstance(v, int) for v in now.values()):
        return None
    return names, now


def _text(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)
