"""What a copier does to someone else's answer, for the similarity tests."""

from __future__ import annotations

import ast

SQL_WORDS = ("select", "insert", "update", "delete", "with", "set")


def disguise(source: str, keep: frozenset[str] = frozenset()) -> str:
    """What a copier does: rename every name they bound (but those in `keep`: the names the
    exercise asks for, if their copy is to keep its points), drop docstrings, reword messages, put
    the imports in another order, reformat (ast.unparse: other quotes, line breaks, parentheses
    and trailing commas), add comments and blank lines."""
    tree = ast.parse(source)
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body[:] = body[1:] or [ast.Pass()]
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    bound -= {"self", *keep}
    renamed = {name: f"my_{index}_thing" for index, name in enumerate(sorted(bound))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            node.id = renamed.get(node.id, node.id)
        elif isinstance(node, ast.arg):
            node.arg = renamed.get(node.arg, node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            node.name = renamed.get(node.name, node.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            prose = " " in node.value and not node.value.lstrip().lower().startswith(SQL_WORDS)
            if prose:
                node.value = "in my words: " + node.value[::-1]
    imports = [s for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)]
    tree.body = imports[::-1] + [s for s in tree.body if s not in imports]
    lines = []
    for number, line in enumerate(ast.unparse(tree).splitlines()):
        lines.append(line + ("  # my own work" if number % 2 else ""))
        if number % 3 == 0:
            lines.append("")
    return "\n".join(lines) + "\n"
