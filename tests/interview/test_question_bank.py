"""The question bank: it validates, covers every topic, and every behaviour answer is proven
against a real PostgreSQL database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from asyncdb_lab.course.manifest import course
from asyncdb_lab.interview.bank import BankError, load_bank
from asyncdb_lab.interview.proofs import holds, run_proof

QUESTIONS = load_bank()
PROVEN = [pytest.param(q, id=q.id) for q in QUESTIONS if q.proof is not None]


def test_the_bank_is_big_enough_and_covers_every_topic_and_kind():
    assert len(QUESTIONS) >= 40
    topics = Counter(q.topic for q in QUESTIONS)
    known = set(course().topics)
    assert set(topics) == known, f"topics without questions: {known - set(topics)}"
    assert min(topics.values()) >= 3
    assert {q.kind for q in QUESTIONS} == {"choice", "bug", "count", "explain"}


def test_the_tutorials_five_interview_questions_are_in_it_corrected():
    tutorial = [q for q in QUESTIONS if q.source == "tutorial"]
    topics = {q.topic for q in tutorial}
    # flush vs commit, N+1, transactions across operations, pool_pre_ping, concurrent updates
    assert {
        "02_crud_and_repositories",
        "03_eager_loading_and_n_plus_1",
        "04_transactions_and_locking",
        "06_connection_pooling",
    } <= topics
    assert len(tutorial) >= 5


def test_every_count_question_and_every_runnable_bug_has_a_proof():
    unproven = [q.id for q in QUESTIONS if q.kind == "count" and q.proof is None]
    assert not unproven
    proven_share = sum(q.proof is not None for q in QUESTIONS) / len(QUESTIONS)
    assert proven_share > 0.6, "most answers are facts about behaviour: prove them"


@pytest.mark.asyncio
@pytest.mark.parametrize("question", PROVEN)
async def test_the_answer_key_matches_what_postgresql_does(question):
    outcome = await run_proof(question)
    assert holds(question, outcome), (
        f"{question.id}: the key expects {question.proof.expect}, but the snippet "
        f"{outcome.describe()}"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("questions: []\n", "has no questions"),
        ("not: [a list\n", "is not valid YAML (line "),
        ("questions:\n- id: Bad-Id\n", "id must be snake_case"),
        (
            "questions:\n- {id: q_one, topic: 99_nowhere, kind: choice, prompt: p, answer: a,"
            " explanation: e, section: s, choices: {a: x, b: y}}\n",
            "is not a notebook of the course",
        ),
        (
            "questions:\n- {id: q_one, topic: 00_start_here, kind: choice, prompt: p, answer: c,"
            " explanation: e, section: s, choices: {a: x, b: y}}\n",
            "answer 'c' is not one of the choices",
        ),
        (
            "questions:\n- {id: q_one, topic: 00_start_here, kind: count, prompt: p, answer: 2,"
            " explanation: e, section: s, code: x}\n",
            "proven by counting statements",
        ),
    ],
)
def test_a_broken_bank_is_refused_with_the_reason(tmp_path: Path, text: str, message: str):
    path = tmp_path / "questions.yaml"
    path.write_text(text)
    with pytest.raises(BankError) as caught:
        load_bank(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_bank_says_where_it_looked(tmp_path: Path):
    with pytest.raises(BankError, match="No question bank at"):
        load_bank(tmp_path / "nowhere.yaml")


def test_notebook_12_is_built_from_the_bank_without_drift():
    import nbformat

    from asyncdb_lab.interview.notebook import ASSIGNMENT, NOTEBOOK_PATH, contract
    from asyncdb_lab.interview.notebook import notebook as build_notebook

    built = nbformat.writes(build_notebook(QUESTIONS))
    assert built == nbformat.writes(nbformat.read(NOTEBOOK_PATH, as_version=4)), (
        "solutions/12_interview_prep is out of date: run `python -m asyncdb_lab.interview.notebook`"
        " and `asyncdb-lab release 12_interview_prep`"
    )
    assert course().notebook(ASSIGNMENT).exercises == contract(QUESTIONS), (
        "notebook 12's exercises in data/course.yaml are out of date: run "
        "`python -m asyncdb_lab.interview.notebook`"
    )


def test_reveal_in_the_graded_notebook_records_the_answer_without_the_key(capsys, monkeypatch):
    from asyncdb_lab.interview.reveal import reveal
    from asyncdb_lab.settings import SELF_STUDY_ENV

    monkeypatch.delenv(SELF_STUDY_ENV, raising=False)
    question = next(q for q in QUESTIONS if q.kind == "choice")
    name = f"answer_{question.id}"
    reveal(question.id, {})
    assert "Answer first" in capsys.readouterr().out
    reveal(question.id, {name: "z"})
    assert "not a valid answer" in capsys.readouterr().out
    wrong = next(key for key in question.choices if key != question.answer)
    said = {}
    for given in (wrong, question.answer):
        reveal(question.id, {name: given})
        said[given] = capsys.readouterr().out
        assert said[given].startswith(f"Recorded: {name} = {given!r}.")
        assert "revealed in your feedback after grading" in said[given]
        assert "✓" not in said[given] and "✗" not in said[given]
        assert question.explanation[:30] not in said[given]
    # Right or wrong, the same words apart from the answer itself: nothing to try letters against.
    assert said[wrong].replace(repr(wrong), "?") == said[question.answer].replace(
        repr(question.answer), "?"
    )


def test_reveal_in_self_study_mode_shows_the_key_and_why(capsys, monkeypatch):
    from asyncdb_lab.interview.reveal import reveal
    from asyncdb_lab.settings import SELF_STUDY_ENV

    question = next(q for q in QUESTIONS if q.kind == "count")
    name = f"answer_{question.id}"
    monkeypatch.setenv(SELF_STUDY_ENV, "1")
    reveal(question.id, {name: str(question.answer)})
    assert "not a valid answer" in capsys.readouterr().out
    reveal(question.id, {name: question.answer})
    out = capsys.readouterr().out
    assert out.startswith("✓ Right.") and question.explanation[:30] in out
    reveal(question.id, {name: question.answer + 1})
    assert capsys.readouterr().out.startswith(f"✗ The answer is {question.answer!r}.")
    monkeypatch.delenv(SELF_STUDY_ENV)
    reveal(question.id, {name: question.answer + 1}, self_study=True)
    assert capsys.readouterr().out.startswith(f"✗ The answer is {question.answer!r}.")


def test_the_graded_feedback_gives_the_explanation_the_reveal_cell_holds_back():
    from asyncdb_lab.interview.notebook import draft

    text = draft(QUESTIONS)
    for question in (q for q in QUESTIONS if q.graded):
        hidden = text.split(f"id=test_answer_{question.id}_key", 1)[1].split("### END HIDDEN")[0]
        assert repr(f"Why: {question.explanation} (Taught in {question.section}.)") in hidden


def test_every_question_links_to_a_section_that_exists():
    import re

    import nbformat

    from asyncdb_lab.settings import SOLUTIONS_DIR

    headings: dict[str, set[str]] = {}
    for question in QUESTIONS:
        if question.topic not in headings:
            path = SOLUTIONS_DIR / question.topic / f"{question.topic}.ipynb"
            cells = nbformat.read(path, as_version=4).cells
            headings[question.topic] = {
                f"{question.topic} · {m.group(1)}"
                for c in cells
                if c.cell_type == "markdown"
                for m in re.finditer(r"^## (Part \w — .*?)\s*\(\d+ points?\)\s*$", c.source, re.M)
            }
        assert question.section in headings[question.topic], (
            f"{question.id}: section {question.section!r} is not a Part heading of {question.topic}"
        )


def test_reveal_says_so_when_the_bank_is_hidden(capsys, monkeypatch, tmp_path):
    from asyncdb_lab.interview import reveal as reveal_module

    monkeypatch.setattr(reveal_module, "_bank", None)
    monkeypatch.setenv("ASYNCDB_LAB_QUESTION_BANK", str(tmp_path / "hidden.yaml"))
    reveal_module.reveal(QUESTIONS[0].id, {})
    assert capsys.readouterr().out.startswith("No explanations here: No question bank at")
