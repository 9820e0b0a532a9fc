"""`asyncdb-lab drill` with piped answers: scores, explanations, history, and bad input."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from asyncdb_lab.interview.bank import load_bank
from asyncdb_lab.interview.drill import Drill, History, choose


def drill(args: list[str], answers: list[str], env_extra: dict[str, str] | None = None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "asyncdb_lab.cli", "drill", *args],
        input="".join(f"{a}\n" for a in answers),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def planned(topic: str, count: int, seed: int, history: Path):
    questions = [q for q in load_bank() if q.topic == topic]
    return choose(questions, History.load(history), count, random.Random(seed))


def wrong_answer(question) -> str:
    if question.kind == "count":
        return str(question.answer + 1)
    return next(key for key in question.choices if key != question.answer)


def test_a_scripted_session_scores_by_topic_and_remembers_misses(tmp_path: Path):
    history = tmp_path / "history.json"
    topic = "06_connection_pooling"
    questions = planned(topic, 5, seed=7, history=history)
    answers, right, missed = [], 0, []
    for number, question in enumerate(questions):
        if question.kind == "explain":
            answers += ["my own words", "y"]
            right += 1
        elif number % 2 == 0:
            answers.append(str(question.answer))
            right += 1
        else:
            answers.append(wrong_answer(question))
            missed.append(question.id)
    result = drill(
        ["--topic", "06", "--count", "5", "--seed", "7", "--history", str(history)], answers
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Score: {right}/5" in out
    assert f"{topic:<32} {right}/5" in out
    assert "Notebooks to revisit: 06_connection_pooling" in out
    assert out.count("Where it is taught: 06_connection_pooling") == 5
    assert questions[0].explanation.split()[0] in out  # explanations are shown
    saved = json.loads(history.read_text())
    assert saved["missed"] == missed
    assert saved["sessions"][0]["right"] == right
    assert saved["sessions"][0]["asked"] == [q.id for q in questions]

    # The next session asks what was missed first, and a right answer clears it.
    again = planned(topic, 1, seed=99, history=history)
    assert again[0].id == missed[0]
    second = drill(
        ["--topic", "06", "--count", "1", "--seed", "99", "--history", str(history)],
        [str(again[0].answer)],
    )
    assert "Score: 1/1" in second.stdout
    assert missed[0] not in json.loads(history.read_text())["missed"]


def test_an_invalid_answer_is_asked_again_with_the_reason(tmp_path: Path):
    history = tmp_path / "h.json"
    question = planned("03_eager_loading_and_n_plus_1", 1, seed=1, history=history)[0]
    invalid = "zz" if question.kind != "count" else "two"
    answers = [invalid, str(question.answer)]
    if question.kind == "explain":
        answers = ["words", "maybe", "y"]
    result = drill(
        ["--topic", "03", "--count", "1", "--seed", "1", "--history", str(history)], answers
    )
    assert result.returncode == 0
    assert "Please answer" in result.stdout
    assert "Score: 1/1" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_end_of_input_ends_the_session_gracefully(tmp_path: Path):
    result = drill(["--count", "5", "--history", str(tmp_path / "h.json")], [])
    assert result.returncode == 0
    assert "Score: 0/0" in result.stdout
    assert "Traceback" not in result.stderr


def test_an_unknown_topic_gets_one_line_and_exit_2(tmp_path: Path):
    result = drill(["--topic", "graphql", "--history", str(tmp_path / "h.json")], [])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no topic 'graphql'" in lines[0]


@pytest.mark.parametrize(
    ("bank", "expected"),
    [("questions: []\n", "has no questions"), ("questions: [\n", "is not valid YAML")],
)
def test_an_empty_or_broken_bank_gets_one_line(tmp_path: Path, bank: str, expected: str):
    path = tmp_path / "bank.yaml"
    path.write_text(bank)
    result = drill([], [], {"ASYNCDB_LAB_QUESTION_BANK": str(path)})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_a_timed_drill_stops_asking_when_time_is_up(tmp_path: Path):
    questions = [q for q in load_bank() if q.kind == "choice"][:5]
    ticks = iter([0.0, 10.0, 61.0, 62.0, 63.0])  # the clock, read once before each question
    out = io.StringIO()
    answers = io.StringIO("".join(f"{q.answer}\n" for q in questions))
    results = Drill(
        questions,
        reader=answers,
        writer=out,
        history=History(tmp_path / "h.json"),
        deadline=60.0,
        clock=lambda: next(ticks),
    ).run()
    assert len(results) == 2
    assert "Time is up." in out.getvalue()
    assert "Score: 2/2" in out.getvalue()


def test_a_non_positive_time_limit_is_refused(tmp_path: Path):
    result = drill(["--timed", "0", "--history", str(tmp_path / "h.json")], [])
    assert result.returncode == 2
    assert "--timed takes a positive number of minutes" in result.stderr


def test_a_damaged_history_is_set_aside_not_lost(tmp_path: Path):
    history = tmp_path / "h.json"
    history.write_text("{not json")
    result = drill(["--count", "1", "--history", str(history)], [])
    assert result.returncode == 0
    assert (tmp_path / "h.damaged.json").read_text() == "{not json"
