"""Test cells scored by the course's rule (course/verdict.py), not by nbgrader's reading of outputs.

The rule: a test cell fails if and only if it raised. nbgrader's determine_grade, which
SaveAutoGrades calls, goes through a grade cell's outputs in order and stops at the first that
is one of:

- an `error` output: 0 points;
- a stderr `stream`: 0 points, although nothing was raised (a logging warning, say);
- an `execute_result`: its text/plain read as the score (a number: that many points; any other
  text: full points, even when an error follows; a number above the cell's points, or no
  text/plain: an exception that stops the whole autograde).

Anything else (stdout, display_data) it passes over, and with none of those three it gives full
points. This preprocessor runs after execution, just before SaveAutoGrades, and rewrites every
grade cell's outputs so that only the first case is left:

- each run of consecutive stderr streams becomes one stdout stream whose lines start with
  `[stderr] `: the learner still reads what was written, and where, in the feedback;
- each `execute_result` becomes a `display_data` with the same data and metadata: the value is
  still shown, and is no score.

`error` outputs are kept as they are, and none is added or removed. So afterwards
determine_grade gives 0 points when the cell has an `error` output and full points when it has
none, whatever else it holds: the rule's verdict, which the rewriting cannot change either.
"""

from __future__ import annotations

import typing as t

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade

from asyncdb_lab.course.verdict import is_stderr, stream_text

STDERR_PREFIX = "[stderr] "


class ScoreByVerdict(NbGraderPreprocessor):
    def preprocess_cell(
        self, cell: NotebookNode, resources: t.Any, cell_index: int
    ) -> tuple[NotebookNode, t.Any]:
        if cell.cell_type == "code" and is_grade(cell):
            cell.outputs = settled_outputs(cell.outputs)
        return cell, resources


def settled_outputs(outputs: list[NotebookNode]) -> list[NotebookNode]:
    """`outputs` with stderr turned into marked stdout, and results into displays."""
    settled: list[NotebookNode] = []
    stderr: list[str] = []
    for output in outputs:
        if is_stderr(output):
            stderr.append(stream_text(output))
            continue
        if stderr:
            settled.append(_marked_stdout("".join(stderr)))
            stderr = []
        if output.get("output_type") == "execute_result":
            settled.append(
                new_output(
                    "display_data",
                    data=output.get("data", {}),
                    metadata=output.get("metadata", {}),
                )
            )
        else:
            settled.append(output)
    if stderr:
        settled.append(_marked_stdout("".join(stderr)))
    return settled


def _marked_stdout(text: str) -> NotebookNode:
    lines = text.splitlines(keepends=True) or [""]
    marked = "".join(f"{STDERR_PREFIX}{line}" for line in lines)
    if not marked.endswith("\n"):
        marked += "\n"
    return new_output("stream", name="stdout", text=marked)
