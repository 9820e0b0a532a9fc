"""Whether a test cell passed: the one rule that `asyncdb-lab check` and grading both apply.

The rule: a test cell fails if and only if it raised. It raised when one of its outputs is an
`error` output, or when the kernel's reply to it said "error":

- an exception the cell did not catch (an assertion of the test, an error in the learner's code),
  shown by IPython as an `error` output;
- a cell stopped at its time limit (the reply says CellTimeoutError), or one whose traceback
  display was switched off (the reply says error, no output shows it). nbgrader's Execute adds
  such a reply's error to the cell's outputs, so in grading the outputs tell it; the learner's
  run (learner/execute.py) passes the reply along;
- a cell that did not run at all: the learner's check says "not run" (no reply), the grader gives
  it an error output of its own ("not run: …") and reports it as not run.

Nothing else decides it:

- what the cell wrote to stderr (a `logging` warning, `warnings.warn`, `print(…, file=sys.stderr)`)
  never fails it: the learner still sees it, in JupyterLab, in `check`'s report and in the
  grading feedback;
- an `execute_result` (the value of a last expression, or one forged with
  `get_ipython().displayhook(…)`) is not a score, and `display_data` and stdout are only output.

nbgrader's own determine_grade decides otherwise: it scores a grade cell 0 at its first `error`
or stderr output, and reads its first `execute_result`, even one before an error, as the score (a
number: partial credit; any other text: full points; a number above the cell's points, or no
text/plain: an exception). grading/verdict.py rewrites each test cell's outputs before nbgrader
scores it, so that nbgrader reaches this rule's verdict on every combination of outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from asyncdb_lab.course.notebook import FAILED, PASSED

Verdict = Literal["passed", "failed"]


def raised(outputs: Iterable[Mapping[str, Any]], reply: Mapping[str, Any] | None = None) -> bool:
    """True when the cell raised: an `error` among its outputs, or a reply (the content of the
    kernel's execute_reply, when the caller has it) whose status is "error"."""
    if reply is not None and reply.get("status") == "error":
        return True
    return any(output.get("output_type") == "error" for output in outputs)


def cell_verdict(
    outputs: Iterable[Mapping[str, Any]], reply: Mapping[str, Any] | None = None
) -> Verdict:
    """A test cell that ran: "failed" if it raised, else "passed" (stderr, results, displays and
    stdout play no part)."""
    return FAILED if raised(outputs, reply) else PASSED


def is_stderr(output: Mapping[str, Any]) -> bool:
    return output.get("output_type") == "stream" and output.get("name") == "stderr"


def stderr_text(outputs: Iterable[Mapping[str, Any]]) -> str:
    """Everything the cell wrote to stderr, in order."""
    return "".join(stream_text(output) for output in outputs if is_stderr(output))


def stream_text(output: Mapping[str, Any]) -> str:
    """A stream output's text (a notebook file may hold it as a list of lines)."""
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else str(text)
