"""The grader's silent questions to a kernel (grading/probes.py), asked of a real IPython shell."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

import asyncdb_lab.checks
from asyncdb_lab.grading.probes import (
    ArmedFault,
    FailingCheck,
    inventory_request,
    read_inventory,
    replaced,
)

TEST_CELL = '"""Check that two is two."""\nassert 1 + 1 == 2\nprint("the test ran")\n'


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    yield shell
    InteractiveShell.clear_instance()


def reply_of(result) -> dict:
    """What ipykernel would put in the execute reply for this run_cell result."""
    error = result.error_before_exec or result.error_in_exec
    if error is None:
        return {"status": "ok"}
    return {"status": "error", "ename": type(error).__name__, "evalue": str(error)}


def silent(shell: InteractiveShell, code: str) -> dict:
    return reply_of(shell.run_cell(code, silent=True, store_history=False))


def inventory(shell: InteractiveShell) -> dict:
    """The inventory as the grader reads it from an execute reply (ipykernel's way)."""
    code, expressions = inventory_request()
    reply = silent(shell, code)
    if reply["status"] == "ok":
        reply["user_expressions"] = shell.user_expressions(expressions)
    found = read_inventory(reply)
    assert found is not None
    return found


def test_an_armed_fault_fails_the_next_cell_only_before_it_runs(shell, capsys):
    fault = ArmedFault.new(TEST_CELL)
    assert silent(shell, fault.source) == {"status": "ok"}
    canary = shell.run_cell(TEST_CELL)
    reply = reply_of(canary)
    assert reply == {"status": "error", "ename": "InputRejected", "evalue": fault.message}
    assert "the test ran" not in capsys.readouterr().out
    outputs = [{"output_type": "error", "ename": "InputRejected", "evalue": fault.message}]
    assert fault.tripped(outputs, reply)
    assert not fault.tripped([], reply)  # an error kept out of the outputs is a miss
    assert not fault.tripped(outputs, {"status": "ok"})  # so is a reply made to look fine
    again = shell.run_cell(TEST_CELL)  # one shot: the test itself runs as usual
    assert reply_of(again) == {"status": "ok"}
    assert "the test ran" in capsys.readouterr().out
    assert ArmedFault.new(TEST_CELL).message != fault.message
    assert "__asyncdb_lab_arm" not in shell.user_ns


def test_an_armed_fault_notices_a_cell_rewritten_before_it_runs(shell):
    """A learner's transformer that wraps every cell in try/except (swapped in place, say)."""

    def swallow(lines: list[str]) -> list[str]:
        body = ["    " + line for line in lines]
        return ["try:\n", *body, "\nexcept Exception:\n", "    pass\n"]

    last = len(shell.input_transformers_cleanup) - 1
    original = shell.input_transformers_cleanup[last]
    shell.input_transformers_cleanup[last] = lambda lines: swallow(original(lines))
    try:
        fault = ArmedFault.new(TEST_CELL)
        assert silent(shell, fault.source) == {"status": "ok"}
        reply = reply_of(shell.run_cell(TEST_CELL))
        assert reply["ename"] == "InputRejected"
        assert reply["evalue"] == "the cell was changed before it ran"
        outputs = [{"output_type": "error", **{k: reply[k] for k in ("ename", "evalue")}}]
        assert not fault.tripped(outputs, reply)
    finally:
        shell.input_transformers_cleanup[last] = original


def test_the_failing_check_holds_only_with_the_courses_expect(shell, monkeypatch):
    check = FailingCheck.new()
    assert check.held(silent(shell, check.source))
    assert "__e" not in shell.user_ns
    monkeypatch.setattr(asyncdb_lab.checks, "expect", lambda *args, **kwargs: None)
    assert not check.held(silent(shell, check.source))


def test_the_inventory_names_what_learner_code_replaced(shell, monkeypatch):
    baseline = inventory(shell)
    assert baseline is not None
    assert "asyncdb_lab.checks.expect" in baseline
    assert "shell:InteractiveShell.run_cell_async" in baseline
    assert "shell:Configurable.update_config" in baseline  # base classes too
    shell.run_cell("import asyncdb_lab\nnew_name_in_the_library = 1")  # ordinary code: no change
    assert replaced(baseline, inventory(shell)) == []

    monkeypatch.setattr(asyncdb_lab.checks, "expect", lambda *args, **kwargs: None)
    monkeypatch.setattr(shell, "showtraceback", lambda *args, **kwargs: None)
    shell.events.register("pre_run_cell", lambda info: None)
    now = inventory(shell)
    assert now is not None
    assert replaced(baseline, now) == [
        "asyncdb_lab.checks.expect",
        "shell.events.pre_run_cell",
        "shell.overridden",
    ]
    assert "__asyncdb_lab_inventory" not in shell.user_ns
    assert not hasattr(__import__("builtins"), "__asyncdb_lab_inventory")


def test_the_inventory_sees_code_swapped_in_a_function_and_a_namespace_of_builtins(shell):
    import builtins

    baseline = inventory(shell)
    original = asyncdb_lab.checks.expect.__code__
    asyncdb_lab.checks.expect.__code__ = (lambda actual, expected, what, hint="": None).__code__
    shell.user_ns["__builtins__"] = {**vars(builtins)}
    try:
        now = inventory(shell)
    finally:
        asyncdb_lab.checks.expect.__code__ = original
        shell.user_ns["__builtins__"] = builtins
    assert {"asyncdb_lab.checks.expect", "user_ns.__builtins__"} <= set(replaced(baseline, now))


def test_the_inventory_sees_a_transformer_swapped_in_place_and_a_module_class_swapped(shell):
    import sys
    import types

    baseline = inventory(shell)
    cleanup = shell.input_transformers_cleanup
    original = cleanup[-1]
    checks = sys.modules["asyncdb_lab.checks"]

    class Lenient(types.ModuleType):
        expect = property(lambda self: lambda *args, **kwargs: None)

    cleanup[-1] = lambda lines: original(lines)
    checks.__class__ = Lenient
    try:
        now = inventory(shell)
    finally:
        cleanup[-1] = original
        checks.__class__ = types.ModuleType
    assert replaced(baseline, now) == [
        "asyncdb_lab.checks.__class__",
        "shell.input_transformers_cleanup",
    ]


def test_an_inventory_is_read_only_from_the_reply_it_comes_in():
    def answered(text: str, status: str = "ok") -> dict:
        value = {"status": status, "data": {"text/plain": text}}
        return {"status": "ok", "user_expressions": {"inventory": value}}

    assert read_inventory({"status": "ok"}) is None
    assert read_inventory({"status": "error", "ename": "RuntimeError", "evalue": "{}"}) is None
    assert read_inventory(answered(repr("not json"))) is None
    assert read_inventory(answered(repr("[1]"))) is None
    assert read_inventory(answered("not a literal")) is None
    assert read_inventory(answered(repr('{"a": 1}'), status="error")) is None
    assert read_inventory(answered(repr('{"a": 1}'))) == {"a": 1}
