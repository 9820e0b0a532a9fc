"""The messages between the grade command and its workers: every kind goes to a line and back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from asyncdb_lab.grading.messages import (
    TO_RUNNER,
    TO_WORKER,
    Failed,
    Grade,
    Graded,
    KernelStarted,
    MessageError,
    Prepare,
    Prepared,
    Ready,
    decode,
    encode,
)
from asyncdb_lab.grading.results import TestResult
from asyncdb_lab.grading.sandbox import Limits, make_spec

GRADE = Grade(
    student="ada",
    notebook="00_start_here",
    submitted=Path("/course/submitted/ada/00_start_here/00_start_here.ipynb"),
    env={"HOME": "/tmp", "LANG": "C.UTF-8"},
    sandbox=make_spec(Path("/tmp/view"), "grade-0", Limits()),
    time_limit=120.0,
    memory_limit=2 * 1024**3,
)
GRADED = Graded(
    status="graded",
    tests=(
        TestResult("test_count_users_seed", "count_users", 2.0, 2.0, "passed"),
        TestResult("test_make_engine_url", "make_engine", 0.0, 1.0, "failed", "AssertionError"),
    ),
    integrity=("a test cell was deleted",),
    stop="stopped at the time limit",
    stop_kind="time-limit",
    tampering=("sys.excepthook replaced",),
    output_capped=True,
    timing={"kernel_start": 1.5, "cells": 3.25, "autograde": 6.0},
)


@pytest.mark.parametrize(
    "message",
    [Prepare(("00_start_here",), ("ada", "grace")), GRADE, replace(GRADE, sandbox=None)],
)
def test_every_request_comes_back_as_sent(message):
    line = encode(message)
    assert line.endswith("\n") and line.count("\n") == 1
    assert decode(line, TO_WORKER) == message


@pytest.mark.parametrize(
    "message",
    [
        Ready(pid=1234),
        Prepared(errors={"01_async": "nbgrader generate_assignment failed: ..."}),
        KernelStarted(pid=4321),
        GRADED,
        Graded(status="rejected", reason="not a valid notebook: ..."),
        Failed(error="Traceback (most recent call last):\n  ...\nKeyError: 'x'\n"),
    ],
)
def test_every_reply_comes_back_as_sent(message):
    assert decode(encode(message), TO_RUNNER) == message


def test_a_line_that_is_no_message_of_its_direction_is_refused_with_a_reason():
    with pytest.raises(
        MessageError, match="unknown kind of message from a grading worker: 'grade'"
    ):
        decode(encode(GRADE), TO_RUNNER)
    with pytest.raises(MessageError, match=r"unknown kind .* 'shutdown' .*known: grade, prepare"):
        decode('{"type": "shutdown"}', TO_WORKER)
    with pytest.raises(MessageError, match="'ready' message from a grading worker is malformed"):
        decode('{"type": "ready"}', TO_RUNNER)
    with pytest.raises(MessageError, match="not a message"):
        decode("Traceback (most recent call last):", TO_RUNNER)
