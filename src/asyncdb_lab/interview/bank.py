"""The question bank: load data/questions.yaml and check it against its schema.

The format is documented at the top of the YAML file. Every problem found is reported with the
question's id and the field, so the bank can be fixed from the message alone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from asyncdb_lab.course.manifest import course
from asyncdb_lab.errors import AsyncDbLabError
from asyncdb_lab.settings import DATA_DIR, QUESTION_BANK_ENV

BANK_PATH = DATA_DIR / "questions.yaml"
NOTEBOOK = "12_interview_prep"  # the graded notebook built from the bank

KINDS = ("choice", "bug", "count", "explain")
KIND_NAMES = {
    "choice": "multiple choice",
    "bug": "spot the bug",
    "count": "predict the statement count",
    "explain": "short explanation (self-graded)",
}
PROOF_EXPECTATIONS = ("statements", "raises", "returns")
_ID = re.compile(r"^[a-z][a-z0-9_]{2,40}$")


class BankError(AsyncDbLabError):
    """The question bank is missing or does not follow its schema."""


@dataclass(frozen=True)
class Proof:
    """Code that shows the answer is true: run against a fresh database by the tests."""

    database: str  # "seed", "tables" or "empty"
    run: str  # body of `async def proof(db, engine, session_factory)`
    expect: dict[str, Any]  # exactly one of statements / raises / returns


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    kind: str
    prompt: str
    answer: Any
    explanation: str
    section: str
    code: str = ""
    choices: dict[str, str] = field(default_factory=dict)
    source: str = ""
    proof: Proof | None = None

    @property
    def answer_line(self) -> str:
        """The line of notebook 12's answer cell that declares the answer and its type."""
        return f"answer_{self.id}: {'int' if self.kind == 'count' else 'str'}"

    @property
    def graded(self) -> bool:
        """Explanations are self-graded; every other kind has a single right answer."""
        return self.kind != "explain"

    def check(self, given: str) -> bool:
        """Is `given` (what a person typed) the right answer?"""
        text = given.strip().lower()
        if self.kind in ("choice", "bug"):
            return text == str(self.answer)
        if self.kind == "count":
            return text.isdigit() and int(text) == self.answer
        raise ValueError("explain questions are self-graded")

    def valid_answer(self, given: str) -> bool:
        text = given.strip().lower()
        if self.kind in ("choice", "bug"):
            return text in self.choices
        if self.kind == "count":
            return text.isdigit()
        return text in ("y", "n", "yes", "no")


def load_bank(path: Path | None = None) -> list[Question]:
    path = path or Path(os.environ.get(QUESTION_BANK_ENV) or BANK_PATH)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BankError(f"No question bank at {path}: restore data/questions.yaml.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise BankError(f"{path.name} is not valid YAML{where}: {problem}.") from None
    if not isinstance(document, dict) or not isinstance(document.get("questions"), list):
        raise BankError(f"{path.name} must hold a mapping with a `questions:` list.")
    if not document["questions"]:
        raise BankError(f"{path.name} has no questions.")
    questions = [_question(entry, number) for number, entry in enumerate(document["questions"])]
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise BankError(f"Question id {question.id!r} is used twice.")
        seen.add(question.id)
    return questions


def _question(entry: Any, number: int) -> Question:
    where = f"question #{number + 1}"
    if not isinstance(entry, dict):
        raise BankError(f"{where} is not a mapping.")
    qid = entry.get("id")
    if not isinstance(qid, str) or not _ID.match(qid):
        raise BankError(f"{where}: id must be snake_case (3–41 characters), got {qid!r}.")
    where = f"question {qid!r}"
    allowed = {
        "id",
        "topic",
        "kind",
        "prompt",
        "code",
        "choices",
        "answer",
        "explanation",
        "section",
        "source",
        "proof",
    }
    unknown = set(entry) - allowed
    if unknown:
        raise BankError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
    for required in ("topic", "kind", "prompt", "answer", "explanation", "section"):
        if entry.get(required) in (None, ""):
            raise BankError(f"{where}: field {required!r} is required.")
    if entry["topic"] not in course().topics:
        raise BankError(
            f"{where}: topic {entry['topic']!r} is not a notebook of the course with interview "
            f"questions (interview_topic in data/course.yaml)."
        )
    kind = entry["kind"]
    if kind not in KINDS:
        raise BankError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}.")
    choices = entry.get("choices") or {}
    answer = entry["answer"]
    if kind in ("choice", "bug"):
        if not isinstance(choices, dict) or len(choices) < 2:
            raise BankError(f"{where}: a {kind} question needs at least two choices (a, b, …).")
        if any(not re.fullmatch(r"[a-f]", str(key)) for key in choices):
            raise BankError(f"{where}: choices are keyed a, b, c …")
        if str(answer) not in choices:
            raise BankError(f"{where}: answer {answer!r} is not one of the choices.")
    elif kind == "count":
        if not isinstance(answer, int) or isinstance(answer, bool) or answer < 0:
            raise BankError(f"{where}: a count question's answer is a whole number.")
        if not entry.get("code"):
            raise BankError(f"{where}: a count question shows the code whose statements to count.")
    if kind == "bug" and not entry.get("code"):
        raise BankError(f"{where}: a spot-the-bug question shows a snippet (code).")
    if kind == "explain" and choices:
        raise BankError(f"{where}: an explain question has no choices.")
    proof = _proof(entry.get("proof"), where)
    if kind == "count" and (proof is None or "statements" not in proof.expect):
        raise BankError(f"{where}: a count question is proven by counting statements (proof).")
    if kind == "count" and proof is not None and proof.expect["statements"] != answer:
        raise BankError(
            f"{where}: the proof expects {proof.expect['statements']} statements, "
            f"the answer says {answer}."
        )
    return Question(
        id=qid,
        topic=entry["topic"],
        kind=kind,
        prompt=str(entry["prompt"]).strip(),
        answer=str(answer) if kind in ("choice", "bug") else answer,
        explanation=str(entry["explanation"]).strip(),
        section=str(entry["section"]).strip(),
        code=str(entry.get("code") or "").rstrip(),
        choices={str(k): str(v) for k, v in choices.items()},
        source=str(entry.get("source") or ""),
        proof=proof,
    )


def _proof(raw: Any, where: str) -> Proof | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw.get("run") or not isinstance(raw.get("expect"), dict):
        raise BankError(f"{where}: proof needs `run` (code) and `expect` (a mapping).")
    database = raw.get("database", "seed")
    if database not in ("seed", "tables", "empty"):
        raise BankError(f"{where}: proof database is seed, tables or empty, got {database!r}.")
    expect = raw["expect"]
    if len(expect) != 1 or next(iter(expect)) not in PROOF_EXPECTATIONS:
        raise BankError(f"{where}: proof expects exactly one of {', '.join(PROOF_EXPECTATIONS)}.")
    return Proof(database=database, run=str(raw["run"]), expect=dict(expect))
