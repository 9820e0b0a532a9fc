"""Notebook 12 cannot be passed without reading it: no way of guessing that ignores the questions
beats chance by more than 10 points on the lettered (choice and bug) questions.

Each strategy looks only at the options' letters and wording, the way a test-wise guesser does:
always the same letter, the longest option, the shortest, the most technical-looking, the most
hedged, the one that repeats the question's words. A strategy that ties between options scores
the share of the tie the key holds (what a guesser picking among the tied options at random
scores on average). Chance is the mean of 1/len(choices). Cheap: no database, no notebook run.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest

from asyncdb_lab.interview.bank import Question, load_bank

QUESTIONS = load_bank()
LETTERED = [q for q in QUESTIONS if q.kind in ("choice", "bug")]
CHANCE = sum(1 / len(q.choices) for q in LETTERED) / len(LETTERED)
MARGIN = 0.10  # what a strategy may beat chance by, as a share of the lettered questions
MOST_KEYS_AT_ONE_POSITION = 0.35

# What makes an option look technical: code spans, calls, snake_case, dotted names, CamelCase
# (class names), upper-case words (SQL keywords, acronyms, SQLSTATE) and codes such as 40001.
TECHNICAL = [
    r"`[^`]+`",
    r"\b\w+\(\)?",
    r"\b[A-Za-z]\w*_\w+\b",
    r"\b\w+\.\w+\b",
    r"\b[a-z]+[A-Z]\w*\b|\b[A-Z][a-z]+[A-Z]\w*\b",
    r"\b[A-Z]{2,}\w*\b",
    r"\b\d\w{2,}\b",
]
# What makes an option look hedged, qualified, careful: the marks of a "right-sounding" answer.
HEDGES = re.compile(
    r"\b(only|unless|usually|often|may|might|can|could|or|but|depending|either|at best|not"
    r"|never|also|still|until|instead|as long as|if|when)\b|[;(—]",
    re.IGNORECASE,
)


def technical(text: str) -> int:
    return sum(len(re.findall(pattern, text)) for pattern in TECHNICAL)


def hedges(text: str) -> int:
    return len(HEDGES.findall(text))


def words(text: str) -> int:
    return len(text.split())


def echoes(question: Question) -> Callable[[str], int]:
    """How many distinct words an option shares with its question's prompt and code."""
    asked = set(re.findall(r"\w+", f"{question.prompt} {question.code}".lower()))
    return lambda text: len(set(re.findall(r"\w+", text.lower())) & asked)


def picks(question: Question, measure: Callable[[str], int], best: Callable = max) -> list[str]:
    """The options a strategy picks: those with the best measure (several when tied)."""
    values = {key: measure(text) for key, text in question.choices.items()}
    top = best(values.values())
    return [key for key, value in values.items() if value == top]


def score(choose: Callable[[Question], list[str]], questions: list[Question]) -> float:
    """Expected share of the questions a strategy gets right (ties split evenly)."""
    total = 0.0
    for question in questions:
        chosen = choose(question)
        total += chosen.count(question.answer) / len(chosen)
    return total / len(questions)


LETTERS = sorted({key for q in LETTERED for key in q.choices})
STRATEGIES: dict[str, Callable[[Question], list[str]]] = {
    **{f"always {letter!r}": (lambda q, letter=letter: [letter]) for letter in LETTERS},
    "the longest option": lambda q: picks(q, len),
    "the shortest option": lambda q: picks(q, len, min),
    "the option with the most words": lambda q: picks(q, words),
    "the most technical option": lambda q: picks(q, technical),
    "the least technical option": lambda q: picks(q, technical, min),
    "the most hedged option": lambda q: picks(q, hedges),
    "the option echoing the question most": lambda q: picks(q, echoes(q)),
}


def test_there_are_enough_lettered_questions_for_the_figures_to_mean_something():
    assert len(LETTERED) >= 30
    assert 0.25 <= CHANCE <= 0.5


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_no_guessing_strategy_beats_chance_by_more_than_ten_points(strategy: str):
    got = score(STRATEGIES[strategy], LETTERED)
    assert got <= CHANCE + MARGIN, (
        f"answering {strategy} scores {got:.0%} of the {len(LETTERED)} lettered questions, "
        f"chance is {CHANCE:.0%}: rebalance data/questions.yaml (move keys, or rewrite options "
        "so the right one is not the one this strategy picks)"
    )


def test_keys_are_spread_over_the_positions():
    keys = Counter(q.answer for q in LETTERED)
    worst, count = keys.most_common(1)[0]
    assert count / len(LETTERED) <= MOST_KEYS_AT_ONE_POSITION, (
        f"{count} of {len(LETTERED)} keys are {worst!r} ({count / len(LETTERED):.0%}); at most "
        f"{MOST_KEYS_AT_ONE_POSITION:.0%} may share a position: {dict(sorted(keys.items()))}"
    )


def test_the_strategies_would_catch_the_bank_this_test_was_written_against():
    """The measures have teeth: a bank whose key is always b and the longest, most technical,
    most hedged option (as this bank's key nearly was) gives each of those strategies 100%."""
    rigged = [
        Question(
            id=q.id,
            topic=q.topic,
            kind=q.kind,
            prompt=q.prompt,
            answer="b",
            explanation=q.explanation,
            section=q.section,
            choices={
                **{k: "Nothing." for k in q.choices},
                "b": "`e.orig.sqlstate` (SQLSTATE 40001): it can fail; retry only when it does.",
            },
        )
        for q in LETTERED
    ]
    for strategy in (
        "always 'b'",
        "the longest option",
        "the option with the most words",
        "the most technical option",
        "the most hedged option",
    ):
        assert score(STRATEGIES[strategy], rigged) == 1.0, strategy


def test_no_example_in_notebook_12_or_its_hints_is_a_real_answer():
    """The instructions and hints show the form of an answer without a question's real key."""
    import nbformat

    from asyncdb_lab.course.hints import interview_hints
    from asyncdb_lab.interview.notebook import NOTEBOOK_PATH
    from asyncdb_lab.settings import NOTEBOOKS_DIR

    learner = NOTEBOOKS_DIR / NOTEBOOK_PATH.parent.name / NOTEBOOK_PATH.name
    texts = [cell.source for cell in nbformat.read(learner, as_version=4).cells]
    texts += list(interview_hints().values())
    example = re.compile(r"\banswer_(\w+)\s*=\s*(\"[a-f]\"|'[a-f]'|\d+)")
    keys = {q.id: q.answer for q in QUESTIONS if q.graded}
    shown = [
        match.group(0)
        for text in texts
        for match in example.finditer(text)
        if match.group(1) in keys
    ]
    assert not shown, f"answers to real questions given as examples: {shown}"
