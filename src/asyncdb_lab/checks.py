"""Helpers for the notebooks' test cells: exact comparisons and messages that speak to the learner.

`expect(actual, expected, ...)` compares type and value all the way down, so an object whose
`__eq__` always returns True (or a str where an int belongs) never passes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def same(actual: Any, expected: Any) -> bool:
    """True when `actual` has exactly the type and value of `expected`, recursively."""
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, Mapping):
        return actual.keys() == expected.keys() and all(
            same(actual[key], expected[key]) for key in expected
        )
    if isinstance(expected, Sequence) and not isinstance(expected, str | bytes):
        return len(actual) == len(expected) and all(
            same(a, e) for a, e in zip(actual, expected, strict=True)
        )
    return bool(expected == actual) and bool(actual == expected)


def expect(actual: Any, expected: Any, what: str, hint: str = "") -> None:
    """Fail with a message for the learner unless `actual` is exactly `expected`."""
    if same(actual, expected):
        return
    message = f"{what}: expected {_show(expected)}, got {_show(actual)}."
    raise AssertionError(f"{message} {hint}".strip())


def expect_type(value: Any, kind: type | tuple[type, ...], what: str, hint: str = "") -> None:
    """Fail unless `value` is an instance of `kind` (bool is not accepted as an int)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    a_bool_for_a_number = isinstance(value, bool) and bool not in kinds
    if a_bool_for_a_number or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise AssertionError(
            f"{what} should be {names}, got {type(value).__name__} ({_show(value)}). {hint}".strip()
        )


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 160:
        text = text[:157] + "…"
    return f"{text} ({type(value).__name__})" if not isinstance(value, str) else text
