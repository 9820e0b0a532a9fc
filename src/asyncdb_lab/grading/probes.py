"""Questions the grader asks a learner's kernel, outside the notebook: was grading tampered with?

Learner code runs in the same process as the tests, so it can change how a test's failure is
seen. Three silent requests (no cell, no history, no pre_run_cell hooks) look for that:

- an inventory, taken once right after the kernel starts and again around every test cell: the
  identity of every function and class of the course library (asyncdb_lab), of the builtins and
  of the IPython machinery that runs a cell and reports its errors (its methods, transformers,
  event hooks, trace functions). Anything that was there at the start and is now
  a different object means learner code replaced it;
- a check that must fail: the course's `expect` called with two different numbers must raise
  exactly the AssertionError the grader computes itself;
- an armed fault for a canary: a one-shot input transformer, the last to run, that rejects the
  next cell with a secret message if it arrives unchanged. The next cell is a copy of a test
  cell, byte for byte, so learner code cannot tell it from the test by its source; if it does
  not fail with the secret, failures are hidden or cells are rewritten before they run.

Each answer comes back in the kernel's execute reply (the inventory as a user expression's value,
the others as errors), which the notebook's outputs never see.
"""

from __future__ import annotations

import ast
import json
import secrets
from dataclasses import dataclass

from asyncdb_lab.checks import expect

# Modules a notebook may use: imported before any learner code, so their inventory is the course's.
COURSE_MODULES = (
    "asyncdb_lab",
    "asyncdb_lab.checks",
    "asyncdb_lab.databases",
    "asyncdb_lab.errors",
    "asyncdb_lab.models",
    "asyncdb_lab.seed",
    "asyncdb_lab.settings",
    "asyncdb_lab.instruments",
    "asyncdb_lab.instruments.frozen",
    "asyncdb_lab.instruments.locks",
    "asyncdb_lab.instruments.pool",
    "asyncdb_lab.instruments.races",
    "asyncdb_lab.instruments.statements",
    "asyncdb_lab.instruments.timing",
)
_INVENTORY = r"""
def __asyncdb_lab_inventory(modules):
    import builtins, importlib, json, sys, types
    for name in modules:
        importlib.import_module(name)
    methods = (types.FunctionType, staticmethod, classmethod)

    def ident(value):
        # A function keeps its id when its code is swapped: its parts are part of who it is.
        inner = getattr(value, "__func__", value)
        if isinstance(inner, types.FunctionType):
            parts = ("__code__", "__defaults__", "__kwdefaults__", "__globals__", "__closure__")
            return [id(value)] + [id(getattr(inner, part)) for part in parts]
        return id(value)

    found = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "asyncdb_lab" or name.startswith("asyncdb_lab.")):
            continue
        # The module object and its class: a swapped class can serve other values by property.
        found[f"{name}"] = id(module)
        found[f"{name}.__class__"] = id(type(module))
        for key, value in list(vars(module).items()):
            if callable(value):
                found[f"{name}.{key}"] = ident(value)
            if isinstance(value, type) and getattr(value, "__module__", None) == name:
                for attribute, method in list(vars(value).items()):
                    if isinstance(method, methods):
                        found[f"{name}.{key}.{attribute}"] = ident(method)
    # IPython and ipykernel set these themselves for every request.
    managed = {"input", "get_ipython", "display", "exit", "quit", "help", "copyright", "credits",
               "license", "execfile", "runfile", "dreload", "__IPYTHON__"}
    for key, value in list(vars(builtins).items()):
        if callable(value) and key not in managed:
            found[f"builtins.{key}"] = ident(value)
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    owners = (
        (shell, "shell"),
        (kernel, "kernel"),
        (shell.displayhook, "displayhook"),
        (shell.display_pub, "display_pub"),
        (shell.compile, "compile"),
        (shell.events, "events"),
        (getattr(kernel, "session", None), "session"),
        (getattr(kernel, "iopub_socket", None), "iopub_socket"),
        (getattr(kernel, "iopub_thread", None), "iopub_thread"),
        (getattr(kernel, "shell_stream", None), "shell_stream"),
    )
    for owner, label in owners:
        if owner is None:
            continue
        inherited = set()
        # Every class it inherits from: patching a base class changes it as much as its own.
        for klass in type(owner).__mro__:
            for attribute, method in list(vars(klass).items()):
                if isinstance(method, types.FunctionType):
                    found[f"{label}:{klass.__qualname__}.{attribute}"] = ident(method)
                    inherited.add(attribute)
        own = getattr(owner, "__dict__", {})
        found[f"{label}.overridden"] = sorted(k for k in own if k in inherited)
    # Cells look builtins up in their namespace's __builtins__, not in the builtins module.
    found["user_ns.__builtins__"] = id(shell.user_ns.get("__builtins__"))
    found["user_global_ns.__builtins__"] = id(shell.user_global_ns.get("__builtins__"))
    found["shell.user_ns"] = id(shell.user_ns)
    found["shell.user_global_ns"] = id(shell.user_global_ns)
    found["shell.displayhook"] = id(shell.displayhook)
    found["shell.compile"] = id(shell.compile)
    found["shell.compiler_class"] = id(shell.compiler_class)
    # Each transformer itself, not only how many: one can be swapped for another in place.
    for kind in ("ast_transformers", "input_transformers_cleanup", "input_transformers_post"):
        found[f"shell.{kind}"] = [id(item) for item in getattr(shell, kind)]
    manager = shell.input_transformer_manager
    for kind in ("line_transforms", "token_transformers"):  # cleanup: the list above
        found[f"input_transformer_manager.{kind}"] = [id(item) for item in getattr(manager, kind)]
    found["shell.input_transformer_manager"] = id(manager)
    for event, callbacks in shell.events.callbacks.items():
        found[f"shell.events.{event}"] = len(callbacks)
    found["sys.displayhook"] = id(sys.displayhook)
    found["sys.gettrace"] = repr(sys.gettrace())
    found["sys.getprofile"] = repr(sys.getprofile())
    return json.dumps(found)
"""


INVENTORY_EXPRESSION = "inventory"


def inventory_request() -> tuple[str, dict[str, str]]:
    """Silent code and the user expression whose value, in the execute reply, is the inventory.

    The function waits in builtins, not in the learner's namespace, and the expression takes it
    out before it runs: nothing is left behind. A value comes back without a traceback to
    format, which an exception carrying it would cost (60 ms for each inventory).
    """
    code = (
        f"{_INVENTORY}\n"
        "__import__('builtins').__asyncdb_lab_inventory = __asyncdb_lab_inventory\n"
        "del __asyncdb_lab_inventory\n"
    )
    call = f"__import__('builtins').__dict__.pop('__asyncdb_lab_inventory')({COURSE_MODULES!r})"
    return code, {INVENTORY_EXPRESSION: call}


def read_inventory(reply: dict | None) -> dict[str, object] | None:
    """The inventory in an execute reply's content, or None if the reply carries none."""
    text = expression_value(reply, INVENTORY_EXPRESSION)
    if not isinstance(text, str):
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def expression_value(reply: dict | None, name: str) -> object:
    """The value of user expression `name` in an execute reply's content (a Python literal),
    or None if the request failed, the expression raised or its value is not a literal."""
    if not reply or reply.get("status") != "ok":
        return None
    value = (reply.get("user_expressions") or {}).get(name) or {}
    if value.get("status") != "ok":
        return None
    try:
        return ast.literal_eval(value.get("data", {}).get("text/plain", ""))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def replaced(baseline: dict[str, object], now: dict[str, object]) -> list[str]:
    """What was there at the start and is now something else (new names are not a change)."""
    return sorted(key for key, value in baseline.items() if key in now and now[key] != value)


@dataclass(frozen=True)
class FailingCheck:
    """Silent code calling the course's `expect` with two different numbers, and its error."""

    source: str
    message: str

    @classmethod
    def new(cls) -> FailingCheck:
        got = 100_000 + secrets.randbelow(900_000)
        wanted = got + 1 + secrets.randbelow(999)
        what = f"check {secrets.token_hex(4)}"
        try:
            expect(got, wanted, what)
        except AssertionError as error:
            message = str(error)
        source = (
            "from asyncdb_lab.checks import expect as __e\n"
            f"try:\n    __e({got}, {wanted}, {what!r})\nfinally:\n    del __e\n"
        )
        return cls(source, message)

    def held(self, reply: dict | None) -> bool:
        return bool(
            reply
            and reply.get("status") == "error"
            and reply.get("ename") == "AssertionError"
            and reply.get("evalue") == self.message
        )


@dataclass(frozen=True)
class ArmedFault:
    """Silent code that makes the next cell fail with `message` before any of it runs.

    The last input transformer notes whether the cell, as every other transformer left it, is
    still `expected` (the test cell as IPython itself transforms it); the first AST transformer
    then fails the cell with `message` if it was, with another message if not. A learner's
    transformer that rewrites cells is caught either way.
    """

    source: str
    message: str

    @classmethod
    def new(cls, test_source: str) -> ArmedFault:
        from IPython.core.inputtransformer2 import TransformerManager

        # What IPython's own transformations make of the test, computed here, out of reach.
        expected = TransformerManager().transform_cell(test_source)
        message = secrets.token_hex(12)
        source = (
            "def __asyncdb_lab_arm(message, expected):\n"
            "    import ast\n"
            "    from IPython.core.error import InputRejected\n"
            "    shell = get_ipython()\n"
            "    seen = []\n"
            "    def note(lines):\n"
            "        if note in shell.input_transformers_post:\n"
            "            shell.input_transformers_post.remove(note)\n"
            "        seen.append(''.join(lines).strip() == expected.strip())\n"
            "        return lines\n"
            "    class Reject(ast.NodeTransformer):\n"
            "        def visit(self, node):\n"
            "            if self in shell.ast_transformers:\n"
            "                shell.ast_transformers.remove(self)\n"
            "            if seen[:1] != [True]:\n"
            "                raise InputRejected('the cell was changed before it ran')\n"
            "            raise InputRejected(message)\n"
            "    shell.input_transformers_post.append(note)\n"
            "    shell.ast_transformers.insert(0, Reject())\n"
            f"try:\n    __asyncdb_lab_arm({message!r}, {expected!r})\n"
            "finally:\n    del __asyncdb_lab_arm\n"
        )
        return cls(source, message)

    def tripped(self, outputs: list, reply: dict | None) -> bool:
        shown = any(
            output.get("output_type") == "error"
            and output.get("ename") == "InputRejected"
            and output.get("evalue") == self.message
            for output in outputs
        )
        answered = bool(
            reply
            and reply.get("status") == "error"
            and reply.get("ename") == "InputRejected"
            and reply.get("evalue") == self.message
        )
        return shown and answered
