"""Helpers for the notebooks' test cells: exact comparisons and messages that speak to the learner.

`expect(actual, expected, ...)` compares type and value all the way down, so an object whose
`__eq__` always returns True (or a str where an int belongs) never passes.

A failure is a plain AssertionError (its name and message are what `check` and grading read)
that carries IPython's `_render_traceback_`: the traceback shown in the notebook is the one
IPython would show, without this module's frames, so it ends in the test cell's line and the
learner's message. Nothing of IPython is changed; IPython asks the exception how to show itself.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from types import TracebackType
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
    raise _failure(f"{message} {hint}".strip())


def expect_type(value: Any, kind: type | tuple[type, ...], what: str, hint: str = "") -> None:
    """Fail unless `value` is an instance of `kind` (bool is not accepted as an int)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    a_bool_for_a_number = isinstance(value, bool) and bool not in kinds
    if a_bool_for_a_number or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise _failure(
            f"{what} should be {names}, got {type(value).__name__} ({_show(value)}). {hint}".strip()
        )


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 160:
        text = text[:157] + "…"
    return f"{text} ({type(value).__name__})" if not isinstance(value, str) else text


def _failure(message: str) -> AssertionError:
    """An AssertionError whose notebook traceback leaves out this module's frames."""
    error = AssertionError(message)
    # IPython looks the method up on the exception itself (hasattr), so an attribute of this
    # one instance is enough: the type stays exactly AssertionError.
    error._render_traceback_ = lambda: _render_without_checks(error)  # type: ignore[attr-defined]
    return error


def _render_without_checks(error: BaseException) -> list[str]:
    """The traceback IPython would show for `error`, less the frames of this module."""
    trimmed = _without_frames_of(error.__traceback__, _failure.__code__.co_filename)
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is None:
        return traceback.format_exception(type(error), error, trimmed)
    # Exactly as IPython's showtraceback asks it, with its default offset (its own frame).
    return list(shell.InteractiveTB.structured_traceback(type(error), error, trimmed))


def _without_frames_of(tb: TracebackType | None, filename: str) -> TracebackType | None:
    """A copy of the chain `tb` with the frames of `filename` left out (the original is kept)."""
    kept = []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename != filename:
            kept.append(tb)
        tb = tb.tb_next
    chain: TracebackType | None = None
    for entry in reversed(kept):
        chain = TracebackType(chain, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return chain
