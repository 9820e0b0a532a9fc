"""The terminal drill: ask questions, check answers, explain, score by topic, remember misses.

It reads answers line by line from any text stream, so it works the same typed or piped.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from asyncdb_lab.interview.bank import KIND_NAMES, Question
from asyncdb_lab.settings import DRILL_HISTORY_ENV

QUIT = ("q", "quit", "exit")


def default_history_path() -> Path:
    configured = os.environ.get(DRILL_HISTORY_ENV)
    if configured:
        return Path(configured)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "asyncdb-lab" / "drill-history.json"


@dataclass
class History:
    """Past sessions and the questions still owed a right answer (missed, not yet re-answered)."""

    path: Path
    sessions: list[dict] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> History:
        try:
            data = json.loads(path.read_text())
            return cls(path, list(data.get("sessions", [])), list(data.get("missed", [])))
        except FileNotFoundError:
            return cls(path)
        except (ValueError, AttributeError, TypeError):
            # A damaged history is set aside, not trusted and not silently deleted.
            path.replace(path.with_suffix(".damaged.json"))
            return cls(path)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"sessions": self.sessions, "missed": self.missed}, indent=1))
        tmp.replace(self.path)


@dataclass
class Result:
    question: Question
    right: bool | None  # None: skipped (quit or end of input before answering)


def choose(
    questions: list[Question], history: History, count: int, rng: random.Random
) -> list[Question]:
    """Previously missed questions first (oldest miss first), then the rest in random order."""
    by_id = {q.id: q for q in questions}
    owed = [by_id[qid] for qid in history.missed if qid in by_id]
    rest = [q for q in questions if q.id not in set(history.missed)]
    rng.shuffle(rest)
    return (owed + rest)[:count]


class Drill:
    def __init__(
        self,
        questions: list[Question],
        *,
        reader: TextIO,
        writer: TextIO,
        history: History,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.questions = questions
        self.reader = reader
        self.writer = writer
        self.history = history
        self.deadline = deadline
        self.clock = clock
        self.results: list[Result] = []

    def say(self, text: str = "") -> None:
        self.writer.write(text + "\n")
        self.writer.flush()

    def ask(self, prompt: str) -> str | None:
        self.writer.write(prompt)
        self.writer.flush()
        line = self.reader.readline()
        if not line:
            self.say()
            return None
        return line.rstrip("\n")

    def run(self) -> list[Result]:
        total = len(self.questions)
        self.say(f"Async DB Lab drill: {total} question{'s' * (total != 1)}. Type q to stop.")
        for number, question in enumerate(self.questions, start=1):
            if self.deadline is not None and self.clock() >= self.deadline:
                self.say("\nTime is up.")
                break
            self.say(f"\n[{number}/{total}] {question.topic} · {KIND_NAMES[question.kind]}")
            outcome = self._one(question)
            if outcome is None:
                break
            self.results.append(Result(question, outcome))
        self._finish()
        return self.results

    def _one(self, question: Question) -> bool | None:
        self.say(question.prompt)
        if question.code:
            self.say("")
            for line in question.code.splitlines():
                self.say(f"    {line}")
        for key, choice in question.choices.items():
            self.say(f"  {key}) {choice}")
        if question.kind == "explain":
            if self.ask("Your answer (one line, Enter when done): ") is None:
                return None
            self.say(f"A good answer: {question.explanation}")
            verdict = self._valid(question, "Did you get it? [y/n] ", "Please answer y or n.")
            if verdict is None:
                return None
            right = verdict.strip().lower() in ("y", "yes")
        else:
            hint = {
                "count": "Please answer with a whole number, e.g. 2.",
            }.get(question.kind, f"Please answer with one of {', '.join(question.choices)}.")
            given = self._valid(question, "> ", hint)
            if given is None:
                return None
            right = question.check(given)
            if right:
                self.say("✓ Right.")
            else:
                self.say(f"✗ The answer is {question.answer}.")
            self.say(question.explanation)
        self.say(f"Where it is taught: {question.section}")
        return right

    def _valid(self, question: Question, prompt: str, hint: str) -> str | None:
        while True:
            given = self.ask(prompt)
            if given is None or given.strip().lower() in QUIT:
                return None
            if question.valid_answer(given):
                return given
            self.say(hint)

    def _finish(self) -> None:
        answered = [r for r in self.results if r.right is not None]
        right = sum(1 for r in answered if r.right)
        self.say(f"\nScore: {right}/{len(answered)}")
        by_topic: dict[str, Counter[str]] = {}
        for result in answered:
            tally = by_topic.setdefault(result.question.topic, Counter())
            tally["asked"] += 1
            tally["right"] += bool(result.right)
        for topic in sorted(by_topic):
            tally = by_topic[topic]
            self.say(f"  {topic:<32} {tally['right']}/{tally['asked']}")
        revisit = sorted(t for t, tally in by_topic.items() if tally["right"] < tally["asked"])
        if revisit:
            self.say("Notebooks to revisit: " + ", ".join(revisit))
        elif answered:
            self.say("Nothing to revisit: well done.")
        self._remember(answered, right)

    def _remember(self, answered: list[Result], right: int) -> None:
        missed = list(self.history.missed)
        for result in answered:
            qid = result.question.id
            if result.right and qid in missed:
                missed.remove(qid)
            elif not result.right and qid not in missed:
                missed.append(qid)
        self.history.missed = missed
        self.history.sessions.append(
            {
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "asked": [r.question.id for r in answered],
                "right": right,
                "missed": [r.question.id for r in answered if not r.right],
            }
        )
        self.history.save()
